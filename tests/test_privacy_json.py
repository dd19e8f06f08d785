"""Issue #17 class 6: a page's JSON shows what its HTML shows (one view model).

A deleted comment's author is named neither on the page nor in its JSON
(nor in "replying to" of its replies), except to moderators, on every page
that renders a thread: the article, the proposal, the standalone thread and
the folded-replies batch.
"""

import html

import pytest

from app.models import Role
from app.services import comments as comment_service

SECRET_NAME = "Dora Deleted"


@pytest.fixture
def w(db, make_user, make_article, make_comment, make_proposal):
    dora = make_user("dora", display_name=SECRET_NAME)
    article = make_article()
    proposal = make_proposal()
    chains = {}
    for key, thread in (("article", article.thread), ("proposal", proposal.thread)):
        top = make_comment(thread=thread, author=dora, body="Top words by Dora")
        parent = top
        chain = [top]
        for depth in range(1, 11):
            author = dora if depth == 9 else None
            parent = make_comment(thread=thread, parent=parent, author=author)
            chain.append(parent)
        chains[key] = chain
        for comment in (top, chain[9]):
            comment_service.delete_own_comment(comment, dora)
    db.session.commit()
    return type("W", (), dict(locals()))


def pages(w):
    yield f"/articles/{w.article.slug}"
    yield f"/proposals/{w.proposal.id}"
    for chain in w.chains.values():
        yield f"/comments/{chain[0].id}/replies?start=0"


@pytest.mark.parametrize("who", ["visitor", "member"])
def test_a_deleted_comments_author_is_named_in_neither(client, auth, make_user, w, who):
    if who == "member":
        auth.login(make_user())
    for url in pages(w):
        page = client.get(url)
        as_json = client.get(url, headers={"Accept": "application/json"})
        assert page.status_code == as_json.status_code == 200, url
        body = html.unescape(page.get_data(as_text=True))
        assert "Deleted comment" in body and SECRET_NAME not in body, url
        assert SECRET_NAME not in as_json.get_data(as_text=True), url


def _comments(data):
    if "thread" in data:
        data = data["thread"]
    if "replies" in data:
        data = data["replies"]
    return data["comments"]


def test_the_json_names_exactly_what_the_page_names(client, auth, make_user, w):
    for viewer in (None, make_user(), make_user("mod", role=Role.moderator)):
        if viewer is not None:
            auth.login(viewer)
        for url in (f"/articles/{w.article.slug}", f"/proposals/{w.proposal.id}"):
            body = html.unescape(client.get(url).get_data(as_text=True))
            data = client.get(url, headers={"Accept": "application/json"}).get_json()
            for item in _comments(data):
                if item.get("more_replies"):
                    continue
                if item["author"] is None:
                    assert f'id="comment-{item["id"]}-by">Deleted comment<' in body
                else:
                    assert f'id="comment-{item["id"]}-by">{item["author"]}' in body
        if viewer is not None and viewer.is_moderator:
            assert SECRET_NAME in client.get(
                f"/articles/{w.article.slug}", headers={"Accept": "application/json"}
            ).get_data(as_text=True)
        auth.logout()
