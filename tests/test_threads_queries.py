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
