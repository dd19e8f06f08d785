"""Command-line tools: `flask users ...` and `flask seed`."""

import functools
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from .database import write_transactions
from .errors import DomainError
from .extensions import db
from .models.user import Role
from .services import accounts

users_cli = AppGroup("users", help="Create members and manage roles.")

ROLE_CHOICE = click.Choice([role.value for role in Role])


@users_cli.command("create")
@click.argument("username")
@click.option("--email", help="Email address (default: USERNAME@localhost).")
@click.option("--display-name", help="Name shown to members (default: the username).")
@click.option("--role", type=ROLE_CHOICE, default=Role.member.value, show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(username, email, display_name, role, password_stdin):
    """Create a member account."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register_user(
            username,
            email or f"{username}@localhost",
            password,
            display_name=display_name,
            role=Role(role),
        )
    except DomainError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    db.session.commit()
    click.echo(f"Created {user.username} ({user.role.value}).")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
def set_role(username, role):
    """Grant or revoke a role (member, moderator, admin)."""
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"No member is called {username!r}.")
    accounts.set_role(user, Role(role))
    db.session.commit()
    click.echo(f"{user.username} is now {user.role.value}.")


@click.command("seed")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--demo", is_flag=True, help="Also add the demonstration proposal round.")
@click.option(
    "--scale",
    is_flag=True,
    help="Also add the benchmark data set: 100,000 members, 10,000 proposals, "
    "1,000,000 comments (not idempotent: run it once, on a database made for it).",
)
def seed(paths, demo, scale):
    """Import the seed documents (seeds/ by default) and, with --demo, the demo round.

    Idempotent: running it again changes nothing.
    """
    from .seeding.documents import seed_paths

    default = Path(current_app.root_path).parent / "seeds"
    report = seed_paths(list(paths) or [default])
    for line in report.lines():
        click.echo(line)
    if demo:
        from .seeding.demo import seed_demo

        for line in seed_demo().lines():
            click.echo(line)
    if scale:
        from .seeding.scale import build_scale

        build_scale()
    if report.errors:
        # The good files loaded; the bad ones are named above.
        sys.exit(1)


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path):
    """Write a consistent copy of the database to PATH (safe while the site runs)."""
    from .backup import BackupError, backup

    db.session.remove()
    try:
        backup(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Backed up the database to {path}.")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(path, yes):
    """Replace the database's contents with the backup at PATH."""
    from .backup import BackupError, restore

    if not yes:
        click.confirm("This replaces everything in the database. Go on?", abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        restore(current_app.config["SQLALCHEMY_DATABASE_URI"], path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Restored the database from {path}.")


@click.command("check")
@click.option("--fix", is_flag=True, help="Repair what drifted (writers wait meanwhile).")
def check_command(fix):
    """Recount every stored counter and order path against the rows."""
    from .checks import run_checks

    report = run_checks(fix=fix)
    for line in report.lines():
        click.echo(line)
    if report.problems and (not fix or report.unfixed):
        sys.exit(1)


@click.group("search")
def search_cli():
    """The full-text search index."""


@search_cli.command("reindex")
def search_reindex():
    """Rebuild the search index from the rows (recreating what is missing)."""
    from .models import search_index

    with db.engine.begin() as conn:
        search_index.rebuild(conn)
        problems = search_index.check(conn)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo("Rebuilt the search index; it matches the rows.")


@search_cli.command("check")
def search_check():
    """Compare every token of the index with the rows' text (holds SQLite's write lock)."""
    from .models import search_index

    with db.engine.connect() as conn:
        problems = search_index.check(conn, deep=True)
        conn.rollback()
    for line in problems:
        click.echo(line)
    if problems:
        click.echo("Run `flask search reindex` to rebuild the index.")
        sys.exit(1)
    click.echo("The search index matches the rows, token for token.")


def register_cli(app: Flask) -> None:
    app.cli.add_command(check_command)
    app.cli.add_command(search_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(seed)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    for command in (seed, *users_cli.commands.values()):
        _with_write_transactions(command)


def _with_write_transactions(command: click.Command) -> None:
    """Run a writing command's SQLite transactions as BEGIN IMMEDIATE."""
    callback = command.callback
    if callback is None or getattr(callback, "_write_transactions", False):
        return

    @functools.wraps(callback)
    def wrapped(*args, **kwargs):
        with write_transactions():
            return callback(*args, **kwargs)

    wrapped._write_transactions = True
    command.callback = wrapped
