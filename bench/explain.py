"""The query plans of a page's statements (EXPLAIN on PostgreSQL, EXPLAIN QUERY PLAN on SQLite).

    .venv/bin/python bench/explain.py DATABASE_URL PATH [PATH ...]

Requests each page once through the test client as a visitor, captures its
SQL statements with their parameters, and prints the plan of each.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402


def main() -> None:
    url, paths = sys.argv[1], sys.argv[2:]
    from app import create_app
    from app.extensions import db
    from config import ProductionConfig

    app = create_app(
        ProductionConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": "explain-" * 4,
            "SITE_URL": "http://localhost",
        },
    )
    with app.app_context():
        engine = db.engine
    client = app.test_client()
    for path in paths:
        captured: list[tuple[str, object]] = []

        def capture(conn, cursor, statement, params, context, executemany, captured=captured):
            if statement.lstrip().upper().startswith("SELECT"):
                captured.append((statement, params))

        sa.event.listen(engine, "before_cursor_execute", capture)
        status = client.get(path).status_code
        sa.event.remove(engine, "before_cursor_execute", capture)
        print(f"\n=== {path} ({status}): {len(captured)} SELECTs on {engine.dialect.name}")
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, params in captured:
                print("\n" + " ".join(statement.split())[:160])
                if engine.dialect.name == "sqlite":
                    cursor.execute("EXPLAIN QUERY PLAN " + statement, params)
                    for row in cursor.fetchall():
                        print(f"    {row[-1]}")
                else:
                    cursor.execute("EXPLAIN (ANALYZE, COSTS OFF) " + statement, params)
                    for (line,) in cursor.fetchall():
                        print(f"    {line}")
            raw.rollback()
        finally:
            raw.close()


if __name__ == "__main__":
    main()
