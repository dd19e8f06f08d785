"""Cached fragments are never older than the rows they show.

Each page is read once (its fragments go into the cache), then each thing a
fragment shows is changed through the services, and the next read shows the
change at once, for a visitor, a member and a moderator, with the cache in
this process's memory and in Redis.
"""

import os
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from app.extensions import cache
from app.fragments import init_fragment_cache
from app.models import Comment, Proposal, Role, ThreadState, WithdrawalReason
from app.services import comments as comment_svc
from app.services import moderation as mod
from app.services import proposals as svc
from app.timeutil import utcnow
from tests.fixtures.servers import session_cookie

VIEWERS = ("visitor", "member", "moderator")


@pytest.fixture(params=["memory", "redis"])
def fragment_cache(request, app, redis_url):
    """The suite's app with its fragment cache in memory, or in a real Redis."""
    if request.param == "redis":
        try:
            redis.Redis.from_url(redis_url).ping()
        except redis.exceptions.ConnectionError:
            if os.environ.get("CI", "").lower() == "true":
                raise
            pytest.skip(f"no Redis at {redis_url}")
        app.config["FRAGMENT_CACHE_URL"] = redis_url
        init_fragment_cache(app)
        cache.clear()
    yield request.param
    if request.param == "redis":
        cache.clear()
        app.config["FRAGMENT_CACHE_URL"] = ""
        init_fragment_cache(app)


@pytest.fixture
def people(make_user):
    return {
        "author": make_user("ada", display_name="Ada Author"),
        "member": make_user("max", display_name="Max Member"),
        "moderator": make_user("mo", role=Role.moderator, display_name="Mo Moderator"),
    }


def reader(app, people, viewer):
    client = app.test_client()
    if viewer != "visitor":
        client.set_cookie("session", session_cookie(app, people[viewer]))

    def read(path: str) -> str:
        response = client.get(path)
        assert response.status_code == 200, path
        return response.get_data(as_text=True)

    return read


def commit(db):
    db.session.commit()
    db.session.expire_all()


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_comment_shows_every_change_at_once(
    app, db, fragment_cache, people, make_article, make_comment, viewer
):
    article = make_article()
    author, moderator = people["author"], people["moderator"]
    comment = make_comment(thread=article.thread, author=author, body="First words.")
    page = f"/articles/{article.slug}"
    read = reader(app, people, viewer)
    assert "First words." in read(page) and "Ada Author" in read(page)

    comment_svc.edit_comment(comment, author, "Second words.")
    commit(db)
    html = read(page)
    assert "Second words." in html and "First words." not in html and "(edited)" in html

    author.display_name = "Ada Renamed"
    commit(db)
    assert "Ada Renamed" in read(page) and "Ada Author" not in read(page)

    mod.pin_comment(comment, moderator, "Worth reading first.")
    commit(db)
    assert "tag-pinned" in read(page)

    mod.hide_comment(comment, moderator, "Off topic here")
    commit(db)
    html = read(page)
    assert "Comment hidden by a moderator: Off topic here" in html
    assert ("Second words." in html) is (viewer == "moderator")

    mod.restore_comment(comment, moderator, "On topic after all")
    commit(db)
    html = read(page)
    assert "Second words." in html and "Comment hidden by a moderator" not in html

    reply = 'class="reply-link"'
    assert (reply in read(page)) is (viewer != "visitor")
    mod.lock_thread(article.thread, moderator, "Cooling off")
    commit(db)
    html = read(page)
    assert "This thread is locked: Cooling off" in html and reply not in html
    mod.unlock_thread(article.thread, moderator, "Cooled")
    commit(db)

    comment_svc.delete_own_comment(db.session.get(Comment, comment.id), author)
    commit(db)
    html = read(page)
    assert "Comment deleted by its author" in html
    assert ("Ada Renamed" in html) is (viewer == "moderator")


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_comment_of_a_suspended_author_keeps_its_text_and_loses_their_controls(
    app, db, fragment_cache, people, make_article, make_comment, viewer
):
    article = make_article()
    author = people["author"]
    make_comment(thread=article.thread, author=author, body="Said before.")
    page = f"/articles/{article.slug}"
    own = reader(app, people, "author")
    read = reader(app, people, viewer)
    assert "Said before." in read(page) and ">Edit</a>" in own(page)
    mod.suspend_member(author, people["moderator"], utcnow() + timedelta(days=1), "Cooling off")
    commit(db)
    assert "Said before." in read(page)
    assert ">Edit</a>" not in reader(app, people, "author")(page)


def test_a_page_of_lines_is_shared_only_by_readers_the_predicates_answer_alike(
    app, db, fragment_cache, people, make_user, make_article, make_comment
):
    """The page's lines are kept whole: never with another member's controls."""
    article = make_article()
    make_comment(thread=article.thread, author=people["author"], body="Mine to edit.")
    page = f"/articles/{article.slug}"
    people["other"] = make_user("otto", display_name="Otto Other")
    member, author, other = (reader(app, people, who) for who in ("member", "author", "other"))

    first = member(page)  # kept for members who took no part
    assert "Mine to edit." in first and ">Edit</a>" not in first and ">Report</a>" in first
    own = author(page)
    assert ">Edit</a>" in own and ">Delete</a>" in own and ">Report</a>" not in own
    assert ">Edit</a>" not in other(page) and ">Report</a>" in other(page)
    assert ">Edit</a>" not in member(page)

    # The edit window closes: the author's lines lose Edit at once, keep Delete.
    minutes = app.config.get("COMMENT_EDIT_MINUTES")
    app.config["COMMENT_EDIT_MINUTES"] = 0
    try:
        closed = author(page)
    finally:
        app.config["COMMENT_EDIT_MINUTES"] = minutes
    assert ">Edit</a>" not in closed and ">Delete</a>" in closed

    # A member suspended meanwhile gets no controls, whatever was kept.
    mod.suspend_member(people["member"], people["moderator"], utcnow() + timedelta(days=1), "Pause")
    commit(db)
    suspended = member(page)
    assert "Mine to edit." in suspended and ">Report</a>" not in suspended
    assert ">Report</a>" in other(page)


@pytest.mark.parametrize("viewer", VIEWERS)
def test_a_proposal_row_shows_every_change_at_once(
    app, db, fragment_cache, people, make_round, make_proposal, viewer
):
    round_ = make_round(threshold=3)
    author, member, moderator = people["author"], people["member"], people["moderator"]
    proposal = make_proposal(round=round_, author=author, title="Keep the forum")
    successor = make_proposal(round=round_, author=author, title="A better forum")
    page = f"/rounds/{round_.slug}"
    read = reader(app, people, viewer)

    def count_of(html: str, title: str) -> str:
        row = next(r for r in html.split("<tr>") if title in r)
        return row.split('<span class="count">', 1)[1].split("<", 1)[0]

    assert count_of(read(page), "Keep the forum") == "1"

    svc.cosign(proposal, member)
    commit(db)
    assert count_of(read(page), "Keep the forum") == "2"
    svc.uncosign(db.session.get(Proposal, proposal.id), member)
    commit(db)
    assert count_of(read(page), "Keep the forum") == "1"

    svc.edit_proposal(db.session.get(Proposal, proposal.id), author, "Keep the forum open", "New")
    commit(db)
    assert "Keep the forum open" in read(page)

    author.display_name = "Ada Renamed"
    commit(db)
    assert "Ada Renamed" in read(page)

    mod.hide_proposal(db.session.get(Proposal, proposal.id), moderator, "Needs a check")
    commit(db)
    html = read(page)
    assert ("Keep the forum open" in html) is (viewer == "moderator")
    assert ("Hidden by a moderator" in html) is (viewer != "moderator")
    mod.restore_proposal(db.session.get(Proposal, proposal.id), moderator, "Checked")
    commit(db)
    assert "Keep the forum open" in read(page)

    svc.withdraw_proposal(
        db.session.get(Proposal, proposal.id),
        author,
        WithdrawalReason.duplicate,
        "Joined the other one.",
        successor=db.session.get(Proposal, successor.id),
    )
    commit(db)
    withdrawn = read(page).split('id="withdrawn-title"', 1)[1]
    assert "Keep the forum open" in withdrawn
    assert f'href="/proposals/{successor.id}">Proposal 2</a>' in withdrawn


@pytest.mark.parametrize("viewer", ["member", "moderator"])
def test_the_supporters_list_shows_every_change_at_once(
    app, db, fragment_cache, people, make_user, make_round, make_proposal, viewer
):
    """The list is a fragment kept under the proposal's row version: co-signs,
    un-signs, a co-author's answer and a supporter's new name all move it."""
    round_ = make_round(threshold=3)
    author = people["author"]
    proposal = make_proposal(round=round_, author=author, title="Keep the forum")
    sam, kim = make_user("sam", display_name="Sam Supporter"), make_user("kim", display_name="Kim")
    page = f"/proposals/{proposal.id}"
    read = reader(app, people, viewer)

    def names(html: str) -> str:
        return html.split("data-supporter-list>", 1)[1].split("</ol>", 1)[0]

    assert "Ada Author" in names(read(page)) and "Sam Supporter" not in names(read(page))
    svc.cosign(proposal, sam)
    commit(db)
    assert "Sam Supporter" in names(read(page))

    # A co-signer's new name: the trigger on users moves the proposal (0012).
    sam.display_name = "Sam Renamed"
    commit(db)
    listed = names(read(page))
    assert "Sam Renamed" in listed and "Sam Supporter" not in listed

    svc.cosign(db.session.get(Proposal, proposal.id), kim)
    commit(db)
    assert "Kim" in names(read(page))
    svc.uncosign(db.session.get(Proposal, proposal.id), kim)
    commit(db)
    assert "Kim" not in names(read(page))

    co = make_user("cora", display_name="Cora Coauthor")
    svc.invite_coauthor(db.session.get(Proposal, proposal.id), author, co)
    commit(db)
    assert "Cora Coauthor" not in names(read(page))
    svc.answer_coauthor_invite(db.session.get(Proposal, proposal.id), co, accept=True)
    commit(db)
    line = names(read(page)).split("Cora Coauthor", 1)[1].split("</li>", 1)[0]
    assert "(co-author)" in line


@pytest.mark.parametrize("viewer", VIEWERS)
def test_the_support_chart_follows_every_co_sign_at_once(
    app, db, fragment_cache, people, make_round, make_proposal, viewer
):
    """The chart is a fragment kept under the proposal's row version."""
    round_ = make_round(threshold=3)
    proposal = make_proposal(round=round_, author=people["author"], title="Keep the forum")
    page = f"/proposals/{proposal.id}"
    read = reader(app, people, viewer)

    def chart(html: str) -> str:
        return html.split('id="support-chart-desc">', 1)[1].split("</desc>", 1)[0]

    before = chart(read(page))
    assert ", 1 on " in before
    svc.cosign(proposal, people["member"])
    commit(db)
    after = chart(read(page))
    assert after != before and ", 2 on " in after
    svc.uncosign(db.session.get(Proposal, proposal.id), people["member"])
    commit(db)
    assert chart(read(page)) == before
    # The round's threshold is drawn too: a new one shows at once.
    html_before = read(page)
    round_.threshold = 50
    commit(db)
    assert read(page) != html_before


def test_a_round_s_lists_kept_for_a_moderator_never_show_a_member_what_is_hidden(
    app, db, fragment_cache, people, make_round, make_proposal
):
    round_ = make_round()
    proposal = make_proposal(round=round_, author=people["author"], title="Quiet please")
    mod.hide_proposal(proposal, people["moderator"], "Needs a check")
    commit(db)
    page = f"/rounds/{round_.slug}"
    moderator, member = reader(app, people, "moderator"), reader(app, people, "member")
    assert "Quiet please" in moderator(page)
    shown = member(page)
    assert "Quiet please" not in shown and "Hidden by a moderator" in shown
    assert "Quiet please" in moderator(page)
    # Another sort or page is another list: each kept on its own.
    assert "Quiet please" not in member(page + "?sort=newest")


def test_every_update_moves_the_row_version(db, make_article, make_comment, make_proposal):
    """ORM flushes and Core UPDATEs alike: the key of a changed row is new."""
    comment = make_comment(thread=make_article().thread)
    first = comment.row_version
    comment.body = "Changed"
    db.session.commit()
    assert comment.row_version == first + 1
    db.session.execute(sa.update(Comment).where(Comment.id == comment.id).values(pinned=True))
    db.session.commit()
    assert db.session.get(Comment, comment.id).row_version == first + 2
    proposal = make_proposal()
    before = proposal.row_version
    db.session.execute(
        sa.update(Proposal).where(Proposal.id == proposal.id).values(supporter_count=7)
    )
    db.session.commit()
    assert db.session.get(Proposal, proposal.id).row_version == before + 1


def test_redis_holds_the_fragments_when_configured(
    app, fragment_cache, redis_url, make_article, make_comment
):
    article = make_article()
    make_comment(thread=article.thread, body="Shared text")
    assert app.test_client().get(f"/articles/{article.slug}").status_code == 200
    if fragment_cache == "redis":
        keys = redis.Redis.from_url(redis_url).keys("plenary:fragment:*")
        assert keys, "the page's fragments are in Redis"


def test_a_closed_thread_state_change_is_a_thread_fact_not_a_fragment(
    app, db, people, make_article, make_comment
):
    """Lock and hide are the thread's: read per request around the fragments."""
    article = make_article()
    make_comment(thread=article.thread, body="Kept")
    read = reader(app, people, "member")
    assert "Kept" in read(f"/articles/{article.slug}")
    article.thread.state = ThreadState.locked
    commit(db)
    assert "This thread is locked" in read(f"/articles/{article.slug}")
