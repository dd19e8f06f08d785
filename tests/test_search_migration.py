"""Migration 0007_search: builds the index for rows already there, and goes down cleanly."""

import flask_migrate
import pytest
import sqlalchemy as sa

from app import create_app
from app.extensions import db as _db
from app.models import Article, Role, Thread, User, search_index
from app.models.user import username_key
from app.services import search as search_svc
from app.services.comments import insert_comment
from app.services.proposals import submit_proposal
from config import TestConfig
from tests.test_migrations import empty_database_url  # noqa: F401 - the fixture


def _search_objects(engine) -> set[str]:
    inspector = sa.inspect(engine)
    names = {n for n in inspector.get_table_names() if search_index.is_search_object(n, "table")}
    for table in ("proposals", "comments", "articles"):
        names |= {
            f"{table}.{c['name']}"
            for c in inspector.get_columns(table)
            if search_index.is_search_object(c["name"], "column")
        }
    return names


def test_upgrade_indexes_existing_rows_and_downgrade_removes_the_index(empty_database_url):  # noqa: F811
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        # The rows are made with today's models, then the schema goes back to
        # before the index: upgrading again must index the rows already there.
        flask_migrate.upgrade()
        author = User(
            username="old",
            username_key=username_key("old"),
            display_name="Old",
            email="old@example.org",
            role=Role.member,
            password_hash="x",
        )
        thread = Thread()
        _db.session.add_all([author, thread])
        _db.session.flush()
        _db.session.add(
            Article(slug="a", title="Archive of kingfishers", body="Old text.", thread_id=thread.id)
        )
        insert_comment(thread, None, body="A kingfisher comment", author=author)
        from app.models import Round

        round_ = Round(slug="r", title="R")
        _db.session.add(round_)
        _db.session.flush()
        submit_proposal(round_, author, "Protect the kingfishers", "Along the river.")
        _db.session.commit()
        _db.session.remove()
        flask_migrate.downgrade(revision="0006_row_versions")
        assert _search_objects(_db.engine) == set()

        flask_migrate.upgrade()
        assert _search_objects(_db.engine)
        assert search_index.check(_db.session.connection()) == []
        hits = search_svc.search(None, "kingfisher", search_svc.Filters()).hits
        assert sorted(h.kind for h in hits) == ["article", "comment", "proposal"]
        _db.session.rollback()

        flask_migrate.downgrade(revision="0006_row_versions")
        assert _search_objects(_db.engine) == set()
        flask_migrate.upgrade()
        assert search_index.check(_db.session.connection()) == []
        _db.session.rollback()
        _db.session.remove()
        _db.engine.dispose()


@pytest.mark.postgresql_only
def test_the_search_columns_keep_ten_times_the_statistics(empty_database_url, db):  # noqa: F811
    """PostgreSQL lists the search columns' common words far down the long tail (the
    planner guesses an unlisted word at half the rarest listed share): set by the index's
    own definition (the test database) and by migration 0016 on an index built before."""

    def targets(conn) -> dict:
        sql = (
            "SELECT attrelid::regclass::text, attstattarget FROM pg_attribute "
            "WHERE attname = :column AND attrelid::regclass::text IN ('proposals', 'comments', "
            "'articles')"
        )
        return dict(conn.execute(sa.text(sql), {"column": search_index.SEARCH_COLUMN}).all())

    wanted = dict.fromkeys(("proposals", "comments", "articles"), search_index.SEARCH_STATISTICS)
    assert targets(db.session.connection()) == wanted
    db.session.rollback()
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        flask_migrate.upgrade(revision="0015_articles_published")
        with _db.engine.begin() as conn:
            for item in search_index.INDEXED:  # an index built before 0016
                column = f"{item.table} ALTER COLUMN {search_index.SEARCH_COLUMN}"
                conn.exec_driver_sql(f"ALTER TABLE {column} SET STATISTICS -1")
        flask_migrate.upgrade()
        with _db.engine.connect() as conn:
            assert targets(conn) == wanted
        flask_migrate.downgrade(revision="0015_articles_published")
        with _db.engine.connect() as conn:
            # The server's default: -1 (NULL from PostgreSQL 17).
            assert set(targets(conn).values()) <= {-1, None}
        _db.engine.dispose()
