"""Visitors' whole pages: kept under the versions of what they show, and only those."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Thread
from app.services import comments as comment_svc
from app.services import proposals as svc
from app.timeutil import utcnow

CACHE = "X-Plenary-Cache"


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200, path
    return response


def test_a_visitor_page_is_kept_and_served_again(client, make_article, make_comment):
    article = make_article()
    make_comment(thread=article.thread, body="Hello there")
    path = f"/articles/{article.slug}"
    first, second = get(client, path), get(client, path)
    assert first.headers[CACHE] == "miss" and second.headers[CACHE] == "hit"
    assert "Hello there" in second.get_data(as_text=True)


def test_a_comment_elsewhere_leaves_the_page_kept(
    client, db, make_user, make_article, make_comment
):
    """Only the versions of what the page shows are in its key."""
    here, elsewhere = make_article(), make_article()
    make_comment(thread=here.thread, body="Here")
    path = f"/articles/{here.slug}"
    get(client, path)
    comment_svc.add_comment(elsewhere.thread, make_user(), "Somewhere else")
    db.session.commit()
    assert get(client, path).headers[CACHE] == "hit"
    comment_svc.add_comment(here.thread, make_user(), "Right here")
    db.session.commit()
    again = get(client, path)
    assert again.headers[CACHE] == "miss" and "Right here" in again.get_data(as_text=True)


@pytest.mark.parametrize("page", ["round", "proposal"])
def test_a_cosign_in_the_round_moves_its_pages(client, db, make_user, make_proposal, page):
    """A proposal's page keys on its round's version too (the round shows its
    proposals, and a proposal its predecessors): a co-sign anywhere in the
    round gives both pages anew, and nothing outside the round."""
    proposal = make_proposal()
    other = make_proposal(round=proposal.round, title="Another one")
    path = f"/rounds/{proposal.round.slug}" if page == "round" else f"/proposals/{proposal.id}"
    get(client, path)
    assert get(client, path).headers[CACHE] == "hit"
    svc.cosign(other, make_user())
    db.session.commit()
    assert get(client, path).headers[CACHE] == "miss"
    elsewhere = make_proposal(title="In another round")
    svc.cosign(elsewhere, make_user())
    db.session.commit()
    assert get(client, path).headers[CACHE] == "hit"


def test_members_and_visitors_with_a_session_get_rendered_pages(
    client, auth, make_user, make_article
):
    article = make_article()
    path = f"/articles/{article.slug}"
    get(client, path)
    assert get(client, path).headers[CACHE] == "hit"
    auth.login(make_user())
    assert CACHE not in get(client, path).headers
    assert CACHE not in client.get(path, headers={"Accept": "application/json"}).headers


def test_each_visitor_gets_their_own_csrf_token_in_a_kept_page(app, make_article):
    """The guest form of a kept page carries the reader's own token, which works."""
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        article = make_article(allow_guest_comments=True)
        path = f"/articles/{article.slug}"
        tokens = []
        for _ in range(2):
            client = app.test_client()
            response = get(client, path)
            token = re.search(r'name="csrf_token" value="([^"]+)"', response.get_data(as_text=True))
            tokens.append(token[1])
            posted = client.post(
                f"/threads/{article.thread_id}/comments",
                data={"csrf_token": token[1], "name": "Guest", "body": "Kept token works"},
            )
            assert posted.status_code == 302
        assert tokens[0] != tokens[1]
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_a_deadline_passing_changes_the_round_page_with_no_write(
    client, db, make_round, monkeypatch
):
    round_ = make_round(cosign_deadline=utcnow() + timedelta(minutes=5))
    path = f"/rounds/{round_.slug}"
    get(client, path)
    assert get(client, path).headers[CACHE] == "hit"
    later = utcnow() + timedelta(minutes=10)
    monkeypatch.setattr("app.pagecache.utcnow", lambda: later)
    assert get(client, path).headers[CACHE] == "miss"


def test_the_database_moves_a_thread_for_every_change_to_its_comments(
    db, make_user, make_article, make_comment
):
    """The triggers: insert, update (a Core UPDATE too) and the author's rename."""
    author = make_user()
    article = make_article()
    comment = make_comment(thread=article.thread, author=author)

    def version():
        return db.session.scalar(
            sa.select(Thread.row_version).where(Thread.id == article.thread_id)
        )

    before = version()
    touch = sa.text("UPDATE comments SET pinned = pinned WHERE id = :id")
    db.session.execute(touch, {"id": comment.id})
    db.session.commit()
    assert version() > before
    before = version()
    author.display_name = "Someone else now"
    db.session.commit()
    assert version() > before
    before = version()
    author.display_name = "Someone else now"  # the same name: nothing shown changed
    author.suspension_reason = "not shown on threads"
    db.session.commit()
    assert version() == before


def test_the_home_page_is_kept_for_visitors_until_a_row_it_shows_changes(
    client, db, make_user, make_article, make_comment, make_proposal
):
    article = make_article(title="The source")
    make_proposal(title="Keep the forum")
    first, second = get(client, "/"), get(client, "/")
    assert first.headers[CACHE] == "miss" and second.headers[CACHE] == "hit"
    comment_svc.add_comment(article.thread, make_user(display_name="Nell New"), "A new comment")
    db.session.commit()
    again = get(client, "/")
    assert again.headers[CACHE] == "miss" and "Nell New" in again.get_data(as_text=True)
    make_proposal(title="Another proposal")
    db.session.commit()
    assert "Another proposal" in get(client, "/").get_data(as_text=True)


def test_a_kept_home_page_asks_its_versions_in_one_statement(
    client, db, query_counter, make_round, make_article, make_comment, make_proposal
):
    """Rounds, articles, proposals and comments: one round trip for the key, whatever
    each part holds, and a change in any part still moves it."""
    make_round()
    article = make_article(title="The source")
    make_comment(thread=article.thread, body="First")
    make_proposal(title="Keep the forum")
    get(client, "/")
    with query_counter() as counted:
        assert get(client, "/").headers[CACHE] == "hit"
    assert counted.count == 1, counted.statements
    make_comment(thread=article.thread, body="Second")
    assert get(client, "/").headers[CACHE] == "miss"
