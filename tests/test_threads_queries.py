"""A thread page costs the same queries with 10 comments as with 10,000."""

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Comment, Role
from tests.conftest import AuthActions
from tests.fixtures.threads import bulk_comments


@pytest.fixture
def small_and_big(db, make_article):
    small = make_article(slug="small")
    bulk_comments(db, small.thread, 10, first_id=500_000)
    big = make_article(slug="big")
    bulk_comments(db, big.thread, 10_000, first_id=1_000_000)
    return small, big


def _count(client, query_counter, url, status=200):
    # Requests share the test's session: start each from an empty identity map.
    db.session.remove()
    with query_counter() as counted:
        response = client.get(url)
    assert response.status_code == status
    return counted.count, response.get_data(as_text=True)


def test_article_page_runs_the_same_queries_for_10_and_10000_comments(
    app, make_user, query_counter, small_and_big
):
    """As a visitor, a member and a moderator (one data set for the three)."""
    for role in (None, Role.member, Role.moderator):
        client = app.test_client()
        if role is not None:
            AuthActions(client).login(make_user(role=role))
        small_count, small_html = _count(client, query_counter, "/articles/small")
        big_count, big_html = _count(client, query_counter, "/articles/big")
        # The big page really shows a full page of comments and folds.
        assert small_html.count('<li class="comment ') == 10, role
        assert big_html.count('<li class="comment ') > 50, role
        assert "more replies" in big_html
        assert small_count == big_count, (role, small_count, big_count)
        # And the same on a later page and for the folded replies.
        later, _ = _count(client, query_counter, "/articles/big?page=50")
        assert later == big_count, role


def test_replies_loader_and_permalink_are_fixed_cost(client, query_counter, small_and_big):
    thread_ids = [article.thread_id for article in small_and_big]
    first, _ = _count(client, query_counter, "/comments/500000/replies?start=0")
    second, _ = _count(client, query_counter, "/comments/1000000/replies?start=0&partial=1")
    third, _ = _count(client, query_counter, "/comments/1000000/replies?start=0")
    assert second <= third and first == third
    # The last top-level comment, and the first reply (shown, not folded).
    for pick, depth_filter in ((sa.func.max, Comment.depth == 0), (sa.func.min, Comment.depth > 0)):
        counts = []
        for thread_id in thread_ids:
            comment_id = db.session.scalar(
                sa.select(pick(Comment.id)).where(Comment.thread_id == thread_id, depth_filter)
            )
            count, _ = _count(client, query_counter, f"/comments/{comment_id}", status=302)
            counts.append(count)
        assert counts[0] == counts[1]


def test_posting_a_comment_or_a_reply_reads_each_row_once(
    app, client, auth, make_user, make_comment, make_proposal, query_counter, small_and_big,
    monkeypatch,
):
    """The thread comes with its owner, and the answer (the comment's page) is found
    before the commit: nothing the request loaded is read again after it. Before, a
    comment took 18 statements; 6 of them read the thread, the member, the owner and
    the comment again after the commit."""
    monkeypatch.setitem(app.config, "COMMENTS_PER_PAGE", 3)
    member = make_user()
    make_comment(author=member, body="Their first comment anywhere: reviewed")
    auth.login(member)
    proposal = make_proposal()
    targets = [
        (small_and_big[1].thread, "/articles/big"),
        (proposal.thread, f"/proposals/{proposal.id}"),
    ]
    targets = [(t.id, t.top_level_count + 1, url) for t, url in targets]
    for thread_id, top_level, page_url in targets:
        # Their first comment there: after it, they follow the thread.
        client.post(f"/threads/{thread_id}/comments", data={"body": "Not my first"})
        db.session.remove()
        with query_counter() as counted:
            response = client.post(f"/threads/{thread_id}/comments", data={"body": "Posted"})
        assert response.status_code == 302
        comment = db.session.scalars(
            sa.select(Comment).where(Comment.thread_id == thread_id, Comment.body == "Posted")
        ).one()
        # Its page, found before the commit, is the right one: the last of the thread's.
        last_page = (top_level + 3) // 3
        page = f"?page={last_page}" if last_page > 1 else ""
        assert response.location.endswith(f"{page_url}{page}#comment-{comment.id}"), (
            response.location
        )
        # The member, the thread with its owner, whether it is their first comment,
        # the comment's number, row and counters, its notifications (and their mail,
        # where a follower wants it at once), the member's follow of the thread, and
        # the count that finds its page.
        assert counted.count <= 11, (page_url, counted.count, counted.statements)
        assert not any(
            s.lstrip().upper().startswith("SELECT") and " FROM threads" in s.split("WHERE")[0]
            for s in counted.statements[2:]
        ), counted.statements
        html = client.get(response.location).get_data(as_text=True)
        assert "Your comment is posted" in html and f'id="comment-{comment.id}"' in html
        db.session.remove()
        with query_counter() as counted:
            response = client.post(f"/comments/{comment.id}/reply", data={"body": "A reply"})
        reply = db.session.scalars(sa.select(Comment).where(Comment.body == "A reply")).all()[-1]
        assert response.status_code == 302 and response.location.endswith(
            f"#comment-{reply.id}"
        ), response.location
        assert counted.count <= 12, (page_url, counted.count, counted.statements)


def test_an_article_page_knows_its_thread_has_no_proposal(
    app, make_user, query_counter, small_and_big
):
    """The article is its thread's owner: the visibility rule, which asks for the
    proposal that owns a thread, does not ask the database for it (it did, one
    statement per article page). (A moderator's page asks more: the recusal rule
    looks up the thread's proposal by the thread's id.)"""
    for role in (None, Role.member):
        client = app.test_client()
        if role is not None:
            AuthActions(client).login(make_user(role=role))
        db.session.remove()
        with query_counter() as counted:
            html = client.get("/articles/small").get_data(as_text=True)
        assert html.count('<li class="comment ') == 10
        statements = [" ".join(s.split()) for s in counted.statements]
        assert not [s for s in statements if "FROM proposals" in s], (role, statements)
