"""`flask backup` and `flask restore`: a consistent copy under write load, brought back."""

import threading
import time

import sqlalchemy as sa

from app.extensions import db as _db
from app.models import User
from tests.conftest import default_password_hash


def count_users() -> int:
    return _db.session.scalar(sa.select(sa.func.count()).select_from(User))


def _insert_pair(conn, n: int) -> None:
    for suffix in ("a", "b"):
        name = f"load{n}{suffix}"
        conn.execute(
            sa.insert(User).values(
                username=name,
                username_key=name,
                display_name=name,
                email=f"{name}@example.org",
                password_hash=default_password_hash(),
            )
        )


def thread_versions() -> dict[int, int]:
    with _db.engine.connect() as conn:
        return dict(conn.execute(sa.text("SELECT id, row_version FROM threads")).all())


def test_backup_under_write_load_then_restore(
    app, db, make_user, make_article, tmp_path, database_url
):
    make_article()
    for i in range(5):
        make_user(f"before{i}")
    stop = threading.Event()
    written = []
    engine = sa.create_engine(database_url)

    def writer():
        n = 0
        while not stop.is_set() and n < 2000:
            # Each transaction writes two users: a consistent copy holds pairs only.
            with engine.begin() as conn:
                _insert_pair(conn, n)
            written.append(n)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        while len(written) < 20:
            time.sleep(0.01)
        runner = app.test_cli_runner()
        backup_path = tmp_path / "plenary.backup"
        result = runner.invoke(args=["backup", str(backup_path)])
        assert result.exit_code == 0, result.output
    finally:
        stop.set()
        thread.join(timeout=60)
        engine.dispose()

    assert backup_path.stat().st_size > 0
    total_after_load = count_users()
    make_user("after_backup")
    db.session.remove()

    versions_before = thread_versions()
    result = runner.invoke(args=["restore", "--yes", str(backup_path)])
    assert result.exit_code == 0, result.output
    # The copy holds older row versions: the restore moves every one past the
    # numbers seen so far, or cached pages of the lost writes could be served.
    assert min(thread_versions().values()) > max(versions_before.values())

    restored = count_users()
    assert restored < total_after_load + 1
    assert restored >= 5 + 2 * 20
    assert (restored - 5) % 2 == 0, "the copy caught a transaction half-way"
    names = set(db.session.scalars(sa.select(User.username)))
    assert "after_backup" not in names
    assert {f"before{i}" for i in range(5)} <= names


def test_restore_refuses_a_file_that_is_not_a_backup(app, tmp_path, backend):
    bogus = tmp_path / "not-a-backup"
    bogus.write_text("hello")
    result = app.test_cli_runner().invoke(args=["restore", "--yes", str(bogus)])
    assert result.exit_code != 0
    assert "Error" in result.output
