"""Every page's JSON twin and the API say the same of the same thing (one serializer each).

For each resource, the page answering `Accept: application/json` (signed in
with a session) and the API (the same member, with a token) are read, and
every field of the API's resource must appear in the page's JSON with the
same value: for a visitor, a member and a moderator, with a hidden proposal
and a hidden comment in the scene so the visibility rule is compared too.
"""

import pytest

from app.extensions import db as _db
from app.models import CommentStatus, Role
from app.services import comments as comment_svc
from app.services import moderation as moderation_svc
from app.services import proposals as svc
from app.services import tokens as token_svc

JSON = {"Accept": "application/json"}


@pytest.fixture
def scene(db, make_user, make_round, make_proposal, make_article, make_comment, cosign_as):
    author = make_user("author")
    fan = make_user("fan")
    moderator = make_user("moddy", role=Role.moderator)
    round_ = make_round(title="The way forward")
    first = make_proposal(round=round_, author=author, title="Open the books", body="All.")
    svc.edit_proposal(first, author, "Open the books", "All of them.")
    db.session.commit()
    cosign_as(first, fan)
    second = make_proposal(round=round_, author=author, title="Hidden one")
    moderation_svc.hide_proposal(second, moderator, "Abusive text")
    third = make_proposal(round=round_, author=fan, title="Superseded")
    svc.withdraw_proposal(third, fan, "superseded", "See the first.", successor=first)
    db.session.commit()
    article = make_article(title="The article")
    top = comment_svc.add_comment(article.thread, author, "A comment by the author")
    db.session.commit()
    comment_svc.add_comment(article.thread, fan, "A reply @author", parent=top)
    hidden = make_comment(thread=article.thread, author=fan, body="Rude words")
    moderation_svc.hide_comment(hidden, moderator, "Rude")
    make_comment(thread=article.thread, body="Waiting", status=CommentStatus.pending)
    on_proposal = comment_svc.add_comment(first.thread, fan, "On the proposal")
    db.session.commit()
    return {
        "people": {"visitor": None, "member": fan, "moderator": moderator},
        "author": author,
        "round": round_,
        "proposals": [first, second, third],
        "article": article,
        "comments": [top, hidden, on_proposal],
    }


def clients(app, auth_for, user):
    """(page client signed in with a session, API headers with a token) for `user`."""
    page = app.test_client()
    headers = {}
    if user is not None:
        from tests.conftest import AuthActions

        AuthActions(page).login(user)
        secret = token_svc.create_token(user, "twin", "read")[1]
        _db.session.commit()
        headers = {"Authorization": f"Bearer {secret}"}
    return page, headers


def same(api_item: dict, page_item: dict, what: str) -> None:
    """Every field the API gives is on the page, with the same value."""
    missing = set(api_item) - set(page_item)
    assert not missing, f"{what}: the page lacks {sorted(missing)}"
    for key, value in api_item.items():
        assert page_item[key] == value, f"{what}.{key}: page {page_item[key]!r} != api {value!r}"


def api_items(client, url, headers) -> list:
    items = []
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        data = response.get_json()
        items += data["items"]
        url = data["next"]
    return items


@pytest.mark.parametrize("who", ["visitor", "member", "moderator"])
def test_pages_json_and_the_api_agree_on_every_resource(app, scene, who):
    user = scene["people"][who]
    page, headers = clients(app, None, user)
    api = app.test_client()
    round_ = scene["round"]

    def page_json(url):
        response = page.get(url, headers=JSON)
        assert response.status_code == 200, (url, response.status_code)
        return response.get_json()

    def api_json(url):
        response = api.get("/api/v1" + url, headers=headers)
        assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
        return response.get_json()

    # Rounds: the list, one round, and its proposals (number order on both).
    rounds_page = {r["slug"]: r for r in page_json("/rounds")["rounds"]}
    for item in api_items(api, "/api/v1/rounds", headers):
        same(item, rounds_page[item["slug"]], "round (list)")
    round_page = page_json(f"/rounds/{round_.slug}?sort=number")
    same(api_json(f"/rounds/{round_.slug}"), round_page["round"], "round")
    listed = {p["id"]: p for p in round_page["proposals"] + round_page["withdrawn"]}
    api_listed = api_items(api, f"/api/v1/rounds/{round_.slug}/proposals", headers)
    assert {p["id"] for p in api_listed} == set(listed)
    for item in api_listed:
        same(item, listed[item["id"]], "proposal (list)")

    # Each proposal, its versions, and (for members) its supporters.
    for proposal in scene["proposals"]:
        api_proposal = api_json(f"/proposals/{proposal.id}")
        same(api_proposal, page_json(f"/proposals/{proposal.id}"), "proposal")
        if api_proposal.get("hidden") and who != "moderator":
            assert "title" not in api_proposal and "body" not in api_proposal
            continue
        versions = page_json(f"/proposals/{proposal.id}/versions")["versions"]
        api_versions = api_items(api, f"/api/v1/proposals/{proposal.id}/versions", headers)
        assert len(api_versions) == len(versions) >= 1
        for item, page_item in zip(api_versions, versions, strict=True):
            same(item, page_item, "version")
        if user is not None:
            signers = page_json(f"/proposals/{proposal.id}/supporters")["signers"]
            api_signers = api_items(api, f"/api/v1/proposals/{proposal.id}/supporters", headers)
            assert len(api_signers) == len(signers)
            for item, page_item in zip(api_signers, signers, strict=True):
                same(item, page_item, "supporter")

    # Articles, their thread and its comments.
    article = scene["article"]
    articles_page = {a["slug"]: a for a in page_json("/articles")["articles"]}
    for item in api_items(api, "/api/v1/articles", headers):
        same(item, articles_page[item["slug"]], "article (list)")
    article_page = page_json(f"/articles/{article.slug}")
    same(api_json(f"/articles/{article.slug}"), article_page["article"], "article")
    thread = article_page["thread"]
    same(api_json(f"/threads/{article.thread_id}"), thread, "thread")
    shown = {c["id"]: c for c in thread["comments"] if "id" in c}
    api_comments = api_items(api, f"/api/v1/threads/{article.thread_id}/comments", headers)
    assert {c["id"] for c in api_comments} == set(shown)
    for item in api_comments:
        same(item, shown[item["id"]], "comment")
        same(api_json(f"/comments/{item['id']}"), shown[item["id"]], "comment (read)")
    # A proposal's thread, as its page shows it.
    first = scene["proposals"][0]
    proposal_thread = page_json(f"/proposals/{first.id}")["thread"]
    same(api_json(f"/threads/{first.thread_id}"), proposal_thread, "proposal thread")

    # Members.
    for member in (scene["author"], scene["people"]["member"]):
        same(
            api_json(f"/members/{member.username}"),
            page_json(f"/users/{member.username}"),
            "member",
        )

    if user is None:
        return
    # Notifications and the moderation log (members only).
    notes_page = page_json("/notifications")["notifications"]
    api_notes = api_items(api, "/api/v1/notifications", headers)
    assert len(api_notes) == len(notes_page)
    assert notes_page or who == "moderator"  # the member was told of the withdrawal
    for item, page_item in zip(api_notes, notes_page, strict=True):
        same(item, page_item, "notification")
    log_page = page_json("/moderation/log")["entries"]
    api_log = api_items(api, "/api/v1/moderation/log", headers)
    assert len(api_log) == len(log_page) >= 2
    for item, page_item in zip(api_log, log_page, strict=True):
        same(item, page_item, "moderation log entry")
