"""Migration 0007_search: builds the index for rows already there, and goes down cleanly."""

import flask_migrate
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
