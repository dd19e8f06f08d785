"""The site's revision: a number that moves with every committed write.

The page cache (app/pagecache.py) keys the pages it keeps for visitors on
it, so a page is served from memory only while nothing it could show has
changed. One row, id 1; `app.pagecache.install_revision_tracking` bumps it
inside every transaction that wrote, just before the commit.
"""

import sqlalchemy as sa
import sqlalchemy.orm as so

from ..extensions import db

SITE_REVISION_ID = 1
# Tables that describe the site's state rather than hold its content: tests
# that compare "every row of every table" leave them out.
BOOKKEEPING_TABLES = frozenset({"site_revision"})


class SiteRevision(db.Model):
    __tablename__ = "site_revision"

    id: so.Mapped[int] = so.mapped_column(primary_key=True, autoincrement=False)
    revision: so.Mapped[int] = so.mapped_column(sa.BigInteger, default=1)


# Tables made by create_all (tests, `flask db upgrade` makes it in 0005) get their row.
sa.event.listen(
    SiteRevision.__table__,
    "after_create",
    sa.DDL("INSERT INTO site_revision (id, revision) VALUES (1, 1)"),  # id: SITE_REVISION_ID
)
