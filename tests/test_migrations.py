"""Migrations: build the schema from nothing, match the models, go down and up again."""

import uuid

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app import create_app
from app.extensions import db as _db
from app.models.search_index import include_object, is_search_object
from app.models.triggers import TRIGGER_NAMES as TOUCH_TRIGGERS
from config import TestConfig
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
def empty_database_url(backend, tmp_path):
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"plenary_migrations_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    yield sa.make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def schema_differences(engine) -> list:
    with engine.connect() as conn:
        opts = {"compare_type": True, "include_object": include_object}
        context = MigrationContext.configure(conn, opts=opts)
        return compare_metadata(context, _db.metadata)


PARTIAL_UNIQUE_INDEXES = [
    "uq_cosignatures_active",
    "uq_reports_open_comment",
    "uq_reports_open_proposal",
]


def index_definition(engine, name: str) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = :name"
        else:
            sql = "SELECT indexdef FROM pg_indexes WHERE indexname = :name"
        return conn.execute(sa.text(sql), {"name": name}).scalar_one()


def trigger_names(engine) -> set[str]:
    """The triggers on the database (a batch migration that copies a table drops its own)."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return set(conn.execute(sa.text(sql)).scalars())


def table_names(engine) -> set[str]:
    names = set(sa.inspect(engine).get_table_names()) - {"alembic_version"}
    # The search index's own FTS5 tables (SQLite) are not on the models.
    return {name for name in names if not is_search_object(name, "table")}


# SQLite's reflection cannot read an index of expressions (ix_articles_published,
# `published_at IS NULL` first): Alembic compares it on PostgreSQL only, and
# tests/test_performance.py checks both databases read the articles from it.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified expression-based")
def test_upgrade_matches_models_and_round_trips(empty_database_url):
    app = create_app(TestConfig, overrides={"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        engine = _db.engine
        assert table_names(engine) == set()

        flask_migrate.upgrade()
        assert table_names(engine) == set(_db.metadata.tables)
        assert schema_differences(engine) == []
        # Autogenerate does not compare WHERE clauses: check the partial
        # unique indexes really are partial ("one ACTIVE row per member").
        for name in PARTIAL_UNIQUE_INDEXES:
            definition = index_definition(engine, name).upper()
            assert "UNIQUE" in definition and "WHERE" in definition, definition

        assert TOUCH_TRIGGERS[engine.dialect.name] <= trigger_names(engine)

        flask_migrate.downgrade(revision="base")
        assert table_names(engine) == set()

        flask_migrate.upgrade()
        assert schema_differences(engine) == []
        assert TOUCH_TRIGGERS[engine.dialect.name] <= trigger_names(engine)
        engine.dispose()


def test_migrations_form_a_single_line_of_history():
    from alembic.script import ScriptDirectory

    app = create_app(TestConfig)
    with app.app_context():
        config = app.extensions["migrate"].migrate.get_config()
        script = ScriptDirectory.from_config(config)
        assert len(script.get_heads()) == 1
