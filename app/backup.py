"""Consistent backups while the site runs, and restoring them.

SQLite uses its online backup API: the copy is one read transaction, so it
is a snapshot even while workers write. PostgreSQL uses pg_dump (one
repeatable-read transaction) in its custom format, and pg_restore.
"""

import os
import shutil
import sqlite3

# pg_dump and pg_restore run with an argument list, never through a shell.
import subprocess  # nosec B404
from pathlib import Path

import sqlalchemy as sa

from .database import is_in_memory


class BackupError(Exception):
    pass


def _sqlite_path(url: sa.URL) -> str:
    if is_in_memory(url):
        raise BackupError("An in-memory SQLite database cannot be backed up.")
    return url.database


def _libpq(url: sa.URL) -> tuple[str, dict]:
    """A libpq connection string without the password, which goes in the environment."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = url.password
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client).")
    return path


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the database to `target`."""
    url = sa.make_url(database_url)
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    backend = url.get_backend_name()
    if backend == "sqlite":
        source = sqlite3.connect(_sqlite_path(url), timeout=30)
        dest = sqlite3.connect(target)
        try:
            with dest:
                source.backup(dest)
        finally:
            dest.close()
            source.close()
    elif backend == "postgresql":
        conninfo, env = _libpq(url)
        command = [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target)]
        result = subprocess.run(  # nosec B603
            [*command, "--dbname", conninfo], env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    else:
        raise BackupError(f"No backup method for {backend}.")
    return target


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup at `source`."""
    url = sa.make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"No backup file at {source}.")
    backend = url.get_backend_name()
    if backend == "sqlite":
        backup_db = sqlite3.connect(source)
        try:
            integrity = backup_db.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            backup_db.close()
            raise BackupError(f"{source} is not a SQLite database: {exc}") from exc
        if integrity != "ok":
            backup_db.close()
            raise BackupError(f"{source} fails SQLite's integrity check: {integrity}")
        live = sqlite3.connect(_sqlite_path(url), timeout=30)
        try:
            backup_db.backup(live)
        finally:
            live.close()
            backup_db.close()
    elif backend == "postgresql":
        conninfo, env = _libpq(url)
        command = [
            _tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            "--dbname",
            conninfo,
            str(source),
        ]
        result = subprocess.run(  # nosec B603
            command, env=env, capture_output=True, text=True
        )
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
    else:
        raise BackupError(f"No restore method for {backend}.")
    _move_row_versions_on(url)


def _move_row_versions_on(url: sa.URL) -> None:
    """The restored rows carry versions the caches may have seen with other
    contents (writes made after the backup): move them all past those."""
    import secrets

    from .models.triggers import jump_row_versions

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            jump_row_versions(connection, secrets.randbelow(2**20) + 2**20)
    finally:
        engine.dispose()
