"""Containers' row versions, kept by the database ("touch", as Rails calls it).

A thread's page shows its comments, a round's page its proposals, and both
show their authors' names. So that a page can be keyed on one small row
(app/pagecache.py), the database moves the container's `row_version`
whenever something it shows changes:

- a comment inserted or updated moves its thread's version;
- a proposal inserted or updated (a co-sign too: the count is on the row)
  moves its round's version;
- a member's new display name moves the threads they commented in and the
  proposals they wrote, co-author or co-sign (and so those proposals'
  rounds): a proposal's page lists its supporters by name.

Triggers, not application code: every writer is covered, the ORM, Core
UPDATEs, the bulk seeder and psql alike. The same statements serve the
migration (0006) and `create_all` (the tests).
"""

import sqlalchemy as sa

SQLITE = [
    """CREATE TRIGGER comments_touch_thread_insert AFTER INSERT ON comments
    BEGIN
        UPDATE threads SET row_version = row_version + 1 WHERE id = NEW.thread_id;
    END""",
    """CREATE TRIGGER comments_touch_thread_update AFTER UPDATE ON comments
    BEGIN
        UPDATE threads SET row_version = row_version + 1
        WHERE id = NEW.thread_id OR id = OLD.thread_id;
    END""",
    """CREATE TRIGGER proposals_touch_round_insert AFTER INSERT ON proposals
    BEGIN
        UPDATE rounds SET row_version = row_version + 1 WHERE id = NEW.round_id;
    END""",
    """CREATE TRIGGER proposals_touch_round_update AFTER UPDATE ON proposals
    BEGIN
        UPDATE rounds SET row_version = row_version + 1
        WHERE id = NEW.round_id OR id = OLD.round_id;
    END""",
    """CREATE TRIGGER users_touch_named_rows AFTER UPDATE OF display_name ON users
    WHEN NEW.display_name IS NOT OLD.display_name
    BEGIN
        UPDATE threads SET row_version = row_version + 1
        WHERE id IN (SELECT thread_id FROM comments WHERE author_id = NEW.id);
        UPDATE proposals SET row_version = row_version + 1
        WHERE author_id = NEW.id
           OR id IN (SELECT proposal_id FROM proposal_coauthors WHERE user_id = NEW.id)
           OR id IN (SELECT proposal_id FROM cosignatures
                     WHERE user_id = NEW.id AND removed_at IS NULL);
    END""",
]

POSTGRESQL = [
    """CREATE FUNCTION plenary_touch_thread() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE threads SET row_version = row_version + 1 WHERE id = NEW.thread_id;
        IF TG_OP = 'UPDATE' AND OLD.thread_id <> NEW.thread_id THEN
            UPDATE threads SET row_version = row_version + 1 WHERE id = OLD.thread_id;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER comments_touch_thread AFTER INSERT OR UPDATE ON comments
    FOR EACH ROW EXECUTE FUNCTION plenary_touch_thread()""",
    """CREATE FUNCTION plenary_touch_round() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE rounds SET row_version = row_version + 1 WHERE id = NEW.round_id;
        IF TG_OP = 'UPDATE' AND OLD.round_id <> NEW.round_id THEN
            UPDATE rounds SET row_version = row_version + 1 WHERE id = OLD.round_id;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER proposals_touch_round AFTER INSERT OR UPDATE ON proposals
    FOR EACH ROW EXECUTE FUNCTION plenary_touch_round()""",
    """CREATE FUNCTION plenary_touch_named_rows() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE threads SET row_version = row_version + 1
        WHERE id IN (SELECT thread_id FROM comments WHERE author_id = NEW.id);
        UPDATE proposals SET row_version = row_version + 1
        WHERE author_id = NEW.id
           OR id IN (SELECT proposal_id FROM proposal_coauthors WHERE user_id = NEW.id)
           OR id IN (SELECT proposal_id FROM cosignatures
                     WHERE user_id = NEW.id AND removed_at IS NULL);
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER users_touch_named_rows AFTER UPDATE OF display_name ON users
    FOR EACH ROW WHEN (NEW.display_name IS DISTINCT FROM OLD.display_name)
    EXECUTE FUNCTION plenary_touch_named_rows()""",
]

DROP_SQLITE = [
    "DROP TRIGGER IF EXISTS comments_touch_thread_insert",
    "DROP TRIGGER IF EXISTS comments_touch_thread_update",
    "DROP TRIGGER IF EXISTS proposals_touch_round_insert",
    "DROP TRIGGER IF EXISTS proposals_touch_round_update",
    "DROP TRIGGER IF EXISTS users_touch_named_rows",
]

DROP_POSTGRESQL = [
    "DROP TRIGGER IF EXISTS comments_touch_thread ON comments",
    "DROP TRIGGER IF EXISTS proposals_touch_round ON proposals",
    "DROP TRIGGER IF EXISTS users_touch_named_rows ON users",
    "DROP FUNCTION IF EXISTS plenary_touch_thread()",
    "DROP FUNCTION IF EXISTS plenary_touch_round()",
    "DROP FUNCTION IF EXISTS plenary_touch_named_rows()",
]

TRIGGER_NAMES = {
    "sqlite": {
        "comments_touch_thread_insert",
        "comments_touch_thread_update",
        "proposals_touch_round_insert",
        "proposals_touch_round_update",
        "users_touch_named_rows",
    },
    "postgresql": {"comments_touch_thread", "proposals_touch_round", "users_touch_named_rows"},
}


def missing_triggers(connection: sa.Connection) -> set[str]:
    """The touch triggers this database lacks (a SQLite batch migration that
    copies a table drops the table's triggers; an interrupted bulk load too)."""
    if connection.dialect.name == "sqlite":
        sql = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
    else:
        sql = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
    return TRIGGER_NAMES[connection.dialect.name] - set(connection.exec_driver_sql(sql).scalars())


# Tables whose row_version a restore moves past every number a cache has seen.
VERSIONED_TABLES = ("rounds", "proposals", "threads", "articles", "comments")


def trigger_statements(dialect: str, drop: bool = False) -> list[str]:
    """The statements that create (or drop) the triggers on `dialect`."""
    if dialect == "sqlite":
        return DROP_SQLITE if drop else SQLITE
    return DROP_POSTGRESQL if drop else POSTGRESQL


def install_touch_triggers(connection: sa.Connection) -> None:
    """Create the triggers on this connection's database."""
    for statement in trigger_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def drop_touch_triggers(connection: sa.Connection) -> None:
    for statement in trigger_statements(connection.dialect.name, drop=True):
        connection.exec_driver_sql(statement)


def jump_row_versions(connection: sa.Connection, jump: int) -> None:
    """Move every row version by `jump` (after a restore brought older numbers back).

    The triggers are set aside meanwhile: the containers move by `jump` too.
    """
    drop_touch_triggers(connection)
    for table in VERSIONED_TABLES:
        connection.execute(
            sa.text(f"UPDATE {table} SET row_version = row_version + :jump"),  # nosec B608
            {"jump": jump},
        )
    install_touch_triggers(connection)
