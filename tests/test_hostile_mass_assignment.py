"""No mass assignment: a form posted with extra fields changes nothing more than the same
form posted clean.

Each scenario is played twice on an empty database: once with the form as the
page sends it, once with hostile extras added (supporters, author_id, role,
state, thread_id, supporter_count, is_hidden, status, ...; never a field the
form really has). The whole database is compared after each run, every table
and column (times and password hashes aside), so any column an extra reached
would show.
"""

import re
from datetime import datetime
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Role, Thread
from app.services import proposals as proposal_svc
from tests.conftest import _empty_all_tables
from tests.fixtures.servers import session_cookie

HOSTILE = {
    "supporters": "999",
    "supporter_count": "999",
    "author_id": "{other}",
    "user_id": "{other}",
    "reporter_id": "{other}",
    "moderator_id": "{other}",
    "hidden_by_id": "{other}",
    "created_by_id": "{other}",
    "role": "admin",
    "state": "adopted",
    "status": "published",
    "thread_id": "{other_thread}",
    "round_id": "{other_round}",
    "proposal_id": "{other_proposal}",
    "comment_id": "1",
    "is_hidden": "1",
    "hidden_reason": "mass",
    "is_verified": "1",
    "needs_review": "0",
    "pinned": "1",
    "number": "77",
    "version": "9",
    "last_number": "50",
    "depth": "0",
    "path": "000001",
    "root_id": "1",
    "reply_seq": "40",
    "descendant_count": "40",
    "comment_count": "40",
    "id": "4242",
    "session_version": "99",
    "suspended_until": "2099-01-01T00:00",
    "is_demo": "1",
    "email": "owned@evil.example",
    "username": "hijacked",
    "password_hash": "x",
    "successor_id": "{other_proposal}",
    "withdrawn_at": "2000-01-01T00:00",
    "profile-role": "admin",
    "profile-email": "owned@evil.example",
}


class _Names(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        name = dict(attrs).get("name")
        if tag in ("input", "textarea", "select", "button") and name:
            self.names.add(name)


def build(db, make_user, make_round, make_proposal, make_article, make_comment):
    """The same rows every time (explicit names, so ids and values repeat)."""
    member = make_user("member_a")
    author = make_user("author_b")
    other = make_user("other_c")
    moderator = make_user("moderator_d", role=Role.moderator)
    admin = make_user("admin_e", role=Role.admin)
    round_ = make_round(title="Round", slug="the-round")
    other_round = make_round(title="Other round", slug="other-round")
    own = make_proposal(round=round_, author=author, title="Own", body="Own body")
    theirs = make_proposal(round=round_, author=other, title="Theirs", body="Their body")
    elsewhere = make_proposal(round=other_round, author=other, title="Far", body="Far body")
    proposal_svc.cosign(own, member)
    db.session.commit()
    article = make_article(title="Article", slug="the-article")
    comment = make_comment(thread=article.thread, author=other, body="Their comment")
    mine = make_comment(thread=article.thread, author=member, body="My comment")
    other_thread = db.session.scalar(sa.select(Thread.id).where(Thread.id == elsewhere.thread_id))
    return {
        "member": member,
        "author": author,
        "other": other,
        "moderator": moderator,
        "admin": admin,
        "round": round_,
        "own": own,
        "theirs": theirs,
        "article": article,
        "comment": comment,
        "mine": mine,
        "fill": {
            "other": str(other.id),
            "other_thread": str(other_thread),
            "other_round": str(other_round.id),
            "other_proposal": str(elsewhere.id),
        },
    }


# (name, who, url, clean form)
SCENARIOS = [
    (
        "sign-up",
        None,
        lambda w: "/signup",
        {
            "username": "newbie",
            "display_name": "New Bie",
            "email": "newbie@example.org",
            "password": "long enough pass",
            "confirm": "long enough pass",
        },
    ),
    (
        "profile",
        "member",
        lambda w: "/account",
        {"profile-display_name": "Renamed", "profile-submit": "Save"},
    ),
    (
        "submit proposal",
        "member",
        lambda w: f"/rounds/{w['round'].slug}/new",
        {"title": "New idea", "body": "Do it."},
    ),
    (
        "edit proposal",
        "author",
        lambda w: f"/proposals/{w['own'].id}/edit",
        {"title": "T2", "body": "B2"},
    ),
    ("co-sign", "member", lambda w: f"/proposals/{w['theirs'].id}/cosign", {}),
    ("un-sign", "member", lambda w: f"/proposals/{w['own'].id}/uncosign", {}),
    (
        "withdraw",
        "author",
        lambda w: f"/proposals/{w['own'].id}/withdraw",
        {"reason": "superseded", "explanation": "Better one.", "successor": "0"},
    ),
    (
        "invite co-author",
        "author",
        lambda w: f"/proposals/{w['own'].id}/coauthors",
        {"username": "other_c"},
    ),
    (
        "comment",
        "member",
        lambda w: f"/threads/{w['article'].thread_id}/comments",
        {"body": "Hello"},
    ),
    (
        "guest comment",
        None,
        lambda w: f"/threads/{w['article'].thread_id}/comments",
        {"name": "Guest", "body": "Hi"},
    ),
    ("reply", "member", lambda w: f"/comments/{w['comment'].id}/reply", {"body": "Quite."}),
    ("edit comment", "member", lambda w: f"/comments/{w['mine'].id}/edit", {"body": "Edited"}),
    ("delete comment", "member", lambda w: f"/comments/{w['mine'].id}/delete", {}),
    (
        "report comment",
        "member",
        lambda w: f"/moderation/report/comment/{w['comment'].id}",
        {"reason": "spam", "note": "Buy now"},
    ),
    (
        "report proposal",
        "member",
        lambda w: f"/moderation/report/proposal/{w['theirs'].id}",
        {"reason": "abuse", "note": "Rude"},
    ),
    (
        "hide comment",
        "moderator",
        lambda w: f"/moderation/comments/{w['comment'].id}/hide",
        {"reason": "Off-topic"},
    ),
    (
        "hide proposal",
        "moderator",
        lambda w: f"/moderation/proposals/{w['theirs'].id}/hide",
        {"reason": "Spam"},
    ),
    (
        "lock thread",
        "moderator",
        lambda w: f"/moderation/threads/{w['article'].thread_id}/lock",
        {"reason": "Heated"},
    ),
    (
        "suspend",
        "moderator",
        lambda w: f"/moderation/users/{w['other'].id}/suspend",
        {"reason": "Abuse", "duration": "3"},
    ),
    (
        "change role",
        "admin",
        lambda w: "/moderation/roles",
        {"username": "other_c", "role": "moderator", "reason": "Trusted"},
    ),
    ("open round", "admin", lambda w: "/rounds/new", {"title": "Next round"}),
    (
        "round settings",
        "admin",
        lambda w: f"/rounds/{w['round'].slug}/settings",
        {"title": "Round", "threshold": "40", "reason": "Agreed"},
    ),
    (
        "write article",
        "admin",
        lambda w: "/articles/new",
        {"title": "Written", "body": "Text.", "save": "Save article"},
    ),
    (
        "edit article",
        "admin",
        lambda w: f"/articles/{w['article'].slug}/edit",
        {"title": "Edited", "body": "Text.", "save": "Save article"},
    ),
    (
        "import document",
        "admin",
        lambda w: "/articles/import",
        {
            "text": "Doc\n\nSubmitted by News on 2 April, 2020 - 09:05\n\nIts text.\n",
            "name": "doc.txt",
            "submit": "Import",
        },
    ),
]


# A time written into text (a suspension's "until 2026-12-04 01:59 UTC"): the clean and the
# hostile request may fall on either side of a minute.
_TIME_IN_TEXT = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
RANDOM_KEYS = {"notifications": ("event_key",), "mail_outbox": ("key",)}


def snapshot() -> dict:
    """Every row of every table; times, password hashes and random keys left out (they never
    repeat: a notification event's key, an account mail's outbox key)."""
    _db.session.rollback()
    out = {}
    with _db.engine.connect() as conn:
        for table in _db.metadata.sorted_tables:
            rows = conn.execute(sa.select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [
                {
                    key: (
                        "<time>"
                        if isinstance(value, datetime)
                        else "<hash>"
                        if key == "password_hash"
                        else "<random>"
                        if key in RANDOM_KEYS.get(table.name, ())
                        else _TIME_IN_TEXT.sub("<time>", value)
                        if isinstance(value, str)
                        else value
                    )
                    for key, value in row._mapping.items()
                }
                for row in rows
            ]
    return out


@pytest.mark.parametrize(("name", "who", "url", "clean"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_extra_fields_change_nothing(
    app, db, make_user, make_round, make_proposal, make_article, make_comment, name, who, url, clean
):
    def play(extra: bool):
        world = build(db, make_user, make_round, make_proposal, make_article, make_comment)
        client = app.test_client()
        if who:
            client.set_cookie("session", session_cookie(app, world[who]))
        target = url(world)
        page = client.get(target)
        names = _Names()
        if page.status_code == 200:
            names.feed(page.get_data(as_text=True))
        data = dict(clean)
        if extra:
            for key, value in HOSTILE.items():
                if key not in names.names and key not in data:
                    data[key] = value.format(**world["fill"])
        response = client.post(target, data=data)
        return response.status_code, snapshot()

    status_clean, clean_rows = play(extra=False)
    assert status_clean in (200, 302), (name, status_clean)
    db.session.remove()
    _empty_all_tables()

    status_hostile, hostile_rows = play(extra=True)

    assert status_hostile == status_clean
    for table, rows in clean_rows.items():
        assert hostile_rows[table] == rows, f"{name}: the extras changed table {table}"
