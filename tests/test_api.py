"""The API (/api/v1): tokens, authentication, visibility, the member actions, errors, paging."""

import hashlib
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import (
    ApiToken,
    Comment,
    Cosignature,
    Proposal,
    ProposalState,
    Report,
    Role,
    ThreadState,
)
from app.services import tokens as token_svc
from app.timeutil import utcnow

PROBLEM = "application/problem+json"


@pytest.fixture
def token_for(db):
    """token_for(user, scope="write") -> the secret of a new token of `user`."""

    def make(user, scope: str = "write", name: str = "test") -> str:
        _, secret = token_svc.create_token(user, name, scope)
        db.session.commit()
        return secret

    return make


def bearer(secret: str) -> dict:
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:500]
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status and body["title"] and body["detail"]
    assert body["type"] == "about:blank" and body["instance"] == response.request.path
    return body


# --- Tokens ---------------------------------------------------------------------------


def test_a_token_is_stored_as_its_sha256_only(db, make_user, token_for):
    secret = token_for(make_user())
    row = db.session.scalar(sa.select(ApiToken))
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in {row.name, row.token_hash}
    assert len(secret) >= 40 and secret.startswith("plen_")


def test_reading_as_a_visitor_needs_no_token(client, make_proposal):
    proposal = make_proposal(title="Open the books")
    response = client.get(f"/api/v1/proposals/{proposal.id}")
    assert response.status_code == 200
    assert response.get_json()["title"] == "Open the books"


def test_a_token_authenticates_and_records_its_last_use(
    db, client, make_user, make_proposal, token_for
):
    member = make_user()
    secret = token_for(member, "read")
    proposal = make_proposal()
    response = client.get(f"/api/v1/proposals/{proposal.id}/supporters", headers=bearer(secret))
    assert response.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.last_used_at)) is not None


@pytest.mark.parametrize(
    "header",
    ["Bearer nope", "Bearer plen_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer " + "plen_" * 100],
)
def test_a_bad_authorization_header_is_401_with_a_challenge(client, header):
    response = client.get("/api/v1/rounds", headers={"Authorization": header})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_no_longer_works(db, client, make_user, token_for):
    member = make_user()
    secret = token_for(member)
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 200
    token_svc.revoke_token(member, db.session.scalar(sa.select(ApiToken.id)))
    db.session.commit()
    assert_problem(client.get("/api/v1/notifications", headers=bearer(secret)), 401)


def test_a_deleted_accounts_tokens_end_with_it(db, client, make_user, token_for):
    member = make_user()
    secret = token_for(member)
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 200
    member.deleted_at = utcnow()
    db.session.commit()
    assert_problem(client.get("/api/v1/notifications", headers=bearer(secret)), 401)


def test_deleting_the_account_revokes_its_tokens_and_the_export_lists_them(
    db, client, make_user, token_for
):
    from app.services import account_data

    member = make_user(password="a long password")
    secret = token_for(member, "read", name="my script")
    exported = account_data.export_data(member)["api_tokens"]
    assert [(t["name"], t["scope"], t["revoked_at"]) for t in exported] == [
        ("my script", "read", None)
    ]
    assert secret not in str(exported) and "hash" not in str(exported)
    account_data.delete_account(member, "a long password")
    db.session.commit()
    assert db.session.scalar(sa.select(ApiToken.revoked_at)) is not None
    assert_problem(client.get("/api/v1/notifications", headers=bearer(secret)), 401)


def test_a_session_cookie_is_not_authentication_on_the_api(client, auth, make_user, make_proposal):
    member = make_user()
    proposal = make_proposal()
    auth.login(member)
    # The same browser session works on the site...
    assert client.get("/notifications", headers={"Accept": "application/json"}).status_code == 200
    # ...but not on the API: neither to read a member's data nor to act (no CSRF to forge).
    refused = client.get("/api/v1/notifications")
    assert_problem(refused, 401)
    assert "Set-Cookie" not in refused.headers  # the API neither reads nor renews a session
    assert_problem(client.post(f"/api/v1/proposals/{proposal.id}/cosign"), 401)
    assert Cosignature.query.count() == 0


def test_the_api_takes_writes_without_a_csrf_token(db, client, make_user, make_proposal, token_for):
    # The app runs with CSRF on in this test (the site's forms need it); the API is exempt.
    client.application.config["WTF_CSRF_ENABLED"] = True
    try:
        proposal = make_proposal()
        secret = token_for(make_user())
        response = client.post(f"/api/v1/proposals/{proposal.id}/cosign", headers=bearer(secret))
        assert response.status_code == 200, response.get_data(as_text=True)
    finally:
        client.application.config["WTF_CSRF_ENABLED"] = False


def test_a_read_token_cannot_write(client, make_user, make_proposal, token_for):
    proposal = make_proposal()
    secret = token_for(make_user(), "read")
    body = assert_problem(
        client.post(f"/api/v1/proposals/{proposal.id}/cosign", headers=bearer(secret)), 403
    )
    assert "only read" in body["detail"]
    assert Cosignature.query.count() == 0


def test_a_suspended_members_tokens_refuse_writes_but_read(
    db, client, make_user, make_proposal, token_for
):
    member = make_user(suspended_until=utcnow() + timedelta(days=2), suspension_reason="Spam")
    secret = token_for(member)
    proposal = make_proposal()
    body = assert_problem(
        client.post(f"/api/v1/proposals/{proposal.id}/cosign", headers=bearer(secret)), 403
    )
    assert "suspended" in body["detail"]
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 200
    assert Cosignature.query.count() == 0


def test_writing_as_a_visitor_is_401(client, make_round):
    round_ = make_round()
    response = client.post(
        f"/api/v1/rounds/{round_.slug}/proposals", json={"title": "T", "body": "B"}
    )
    assert_problem(response, 401)


# --- The member actions, through the services -------------------------------------------


def test_submit_edit_cosign_uncosign_and_withdraw_with_a_successor(
    db, client, make_user, make_round, make_proposal, token_for
):
    author, fan = make_user("author"), make_user("fan")
    round_ = make_round()
    author_h, fan_h = bearer(token_for(author)), bearer(token_for(fan))

    created = client.post(
        f"/api/v1/rounds/{round_.slug}/proposals",
        json={"title": "Open the books", "body": "All of them."},
        headers=author_h,
    )
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()
    assert data["number"] == 1 and data["supporter_count"] == 1
    assert data["author"] == {"username": "author", "display_name": author.display_name}
    pid = data["id"]

    edited = client.patch(f"/api/v1/proposals/{pid}", json={"body": "Every one."}, headers=author_h)
    assert edited.status_code == 200 and edited.get_json()["version"] == 2
    assert edited.get_json()["body"] == "Every one."
    # Not the author: the service's refusal, as on the form.
    assert_problem(client.patch(f"/api/v1/proposals/{pid}", json={"body": "x"}, headers=fan_h), 403)

    signed = client.post(f"/api/v1/proposals/{pid}/cosign", headers=fan_h)
    assert signed.get_json() == {"proposal_id": pid, "signed": True, "supporter_count": 2}
    again = assert_problem(client.post(f"/api/v1/proposals/{pid}/cosign", headers=fan_h), 409)
    assert "already co-signed" in again["detail"]
    unsigned = client.post(f"/api/v1/proposals/{pid}/uncosign", headers=fan_h)
    assert unsigned.get_json() == {"proposal_id": pid, "signed": False, "supporter_count": 1}
    client.post(f"/api/v1/proposals/{pid}/cosign", headers=fan_h)

    successor = make_proposal(round=round_, author=author, title="A better one")
    withdrawn = client.post(
        f"/api/v1/proposals/{pid}/withdraw",
        json={"reason": "superseded", "explanation": "See the next.", "successor_id": successor.id},
        headers=author_h,
    )
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    data = withdrawn.get_json()
    assert data["state"] == "withdrawn" and data["successor_id"] == successor.id
    assert data["withdrawal"]["reason"] == "superseded"
    # The co-signer is offered the successor, as when the form withdraws it.
    notes = client.get("/api/v1/notifications", headers=fan_h).get_json()["items"]
    assert any(n["action_url"] and str(successor.id) in n["action_url"] for n in notes)
    # Withdrawn is final.
    assert_problem(client.post(f"/api/v1/proposals/{pid}/cosign", headers=fan_h), 409)


def test_withdraw_with_a_bad_reason_or_unknown_successor_is_a_clear_4xx(
    client, make_user, make_proposal, token_for
):
    author = make_user()
    proposal = make_proposal(author=author)
    h = bearer(token_for(author))
    url = f"/api/v1/proposals/{proposal.id}/withdraw"
    bad = assert_problem(
        client.post(url, json={"reason": "bored", "explanation": "x"}, headers=h), 422
    )
    assert "reason" in bad["errors"]["json"]
    unknown = {"reason": "other", "explanation": "x", "successor_id": 999999}
    assert_problem(client.post(url, json=unknown, headers=h), 400)
    assert Proposal.query.one().state == ProposalState.open


def test_comment_reply_and_report(db, client, make_user, make_article, token_for):
    article = make_article()
    writer, reader = make_user("writer"), make_user("reader")
    wh, rh = bearer(token_for(writer)), bearer(token_for(reader))
    posted = client.post(
        f"/api/v1/threads/{article.thread_id}/comments", json={"body": "First!"}, headers=wh
    )
    assert posted.status_code == 201, posted.get_data(as_text=True)
    comment = posted.get_json()
    assert comment["author"] == writer.display_name and comment["body"] == "First!"
    reply = client.post(
        f"/api/v1/comments/{comment['id']}/replies", json={"body": "Second."}, headers=rh
    )
    assert reply.status_code == 201 and reply.get_json()["parent_id"] == comment["id"]
    listed = client.get(f"/api/v1/threads/{article.thread_id}/comments").get_json()["items"]
    assert [c["body"] for c in listed] == ["First!", "Second."]

    report = client.post(
        f"/api/v1/comments/{comment['id']}/report", json={"reason": "spam", "note": ""}, headers=rh
    )
    assert report.status_code == 201
    assert report.get_json()["target_id"] == comment["id"]
    # One open report per member and comment: the service says so.
    twice = client.post(
        f"/api/v1/comments/{comment['id']}/report", json={"reason": "spam"}, headers=rh
    )
    assert twice.status_code in (400, 403, 409) and twice.mimetype == PROBLEM
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1


def test_a_locked_thread_refuses_comments(db, client, make_user, make_article, token_for):
    article = make_article()
    article.thread.state = ThreadState.locked
    db.session.commit()
    response = client.post(
        f"/api/v1/threads/{article.thread_id}/comments",
        json={"body": "Hello"},
        headers=bearer(token_for(make_user())),
    )
    assert response.status_code == 409 and "locked" in response.get_json()["detail"]
    assert Comment.query.count() == 0


@pytest.mark.parametrize(
    "body",
    [{}, {"body": 7}, {"body": ["x"]}, {"body": ""}, {"body": "x" * 30_000}, {"body": "a\x00b"}],
)
def test_bad_comment_bodies_are_4xx_problems(client, make_user, make_article, token_for, body):
    article = make_article()
    response = client.post(
        f"/api/v1/threads/{article.thread_id}/comments",
        json=body,
        headers=bearer(token_for(make_user())),
    )
    assert 400 <= response.status_code < 500 and response.mimetype == PROBLEM


def test_a_body_that_is_not_json_is_a_4xx_problem(client, make_user, make_article, token_for):
    article = make_article()
    response = client.post(
        f"/api/v1/threads/{article.thread_id}/comments",
        data="{not json",
        content_type="application/json",
        headers=bearer(token_for(make_user())),
    )
    assert 400 <= response.status_code < 500 and response.mimetype == PROBLEM


# --- Visibility, as on the pages -------------------------------------------------------------


def test_a_hidden_proposal_is_a_placeholder_except_to_moderators(
    db, client, make_user, make_proposal, token_for
):
    proposal = make_proposal(title="Secret plan")
    proposal.is_hidden, proposal.hidden_reason = True, "Abuse"
    db.session.commit()
    seen = client.get(f"/api/v1/proposals/{proposal.id}").get_json()
    assert seen["hidden"] is True and "title" not in seen and "body" not in seen
    listed = client.get(f"/api/v1/rounds/{proposal.round.slug}/proposals").get_json()["items"]
    assert "Secret plan" not in str(listed) and listed[0]["hidden"] is True
    assert client.get(f"/api/v1/threads/{proposal.thread_id}").status_code == 404
    assert client.get(f"/api/v1/proposals/{proposal.id}/versions").status_code == 403
    moderator = bearer(token_for(make_user(role=Role.moderator), "read"))
    assert (
        client.get(f"/api/v1/proposals/{proposal.id}", headers=moderator).get_json()["title"]
        == "Secret plan"
    )
    assert client.get(f"/api/v1/threads/{proposal.thread_id}", headers=moderator).status_code == 200


def test_pending_comments_show_to_moderators_only(
    db, client, make_user, make_article, make_comment, token_for
):
    from app.models import CommentStatus

    article = make_article()
    pending = make_comment(thread=article.thread, status=CommentStatus.pending, body="Wait")
    assert client.get(f"/api/v1/comments/{pending.id}").status_code == 404
    assert client.get(f"/api/v1/threads/{article.thread_id}/comments").get_json()["items"] == []
    moderator = bearer(token_for(make_user(role=Role.moderator), "read"))
    assert client.get(f"/api/v1/comments/{pending.id}", headers=moderator).status_code == 200


def test_supporters_and_notifications_need_a_token(client, make_proposal):
    proposal = make_proposal()
    assert_problem(client.get(f"/api/v1/proposals/{proposal.id}/supporters"), 401)
    assert_problem(client.get("/api/v1/notifications"), 401)
    assert_problem(client.get("/api/v1/moderation/log"), 401)


def test_an_unconfirmed_or_deleted_member_is_not_found(client, make_user):
    make_user("ghost", email_confirmed_at=None)
    make_user("gone", deleted_at=utcnow())
    assert client.get("/api/v1/members/ghost").status_code == 404
    assert client.get("/api/v1/members/gone").status_code == 404
    make_user("here")
    assert client.get("/api/v1/members/HERE").get_json()["username"] == "here"


def test_members_are_listed_for_members_only_without_the_unconfirmed_or_deleted(
    client, make_user, token_for
):
    reader = make_user("reader")
    make_user("ghost", email_confirmed_at=None)
    make_user("gone", deleted_at=utcnow())
    make_user("here")
    assert_problem(client.get("/api/v1/members"), 401)
    body = client.get("/api/v1/members", headers=bearer(token_for(reader, "read"))).get_json()
    names = [m["username"] for m in body["items"]]
    assert names == ["reader", "here"]
    assert set(body["items"][0]) >= {"username", "display_name", "url"}


def test_threads_are_listed_as_their_pages_show_them(
    db, client, make_user, make_article, make_proposal, token_for
):
    from app.services import moderation as mod

    moderator = make_user("mo", role=Role.moderator)
    shown = make_article().thread
    hidden = make_article().thread
    hidden.state = ThreadState.hidden
    proposal = make_proposal()
    of_hidden_proposal = proposal.thread
    mod.hide_proposal(proposal, moderator, "Needs a check")
    db.session.commit()

    def ids(headers=None) -> set:
        return {t["id"] for t in client.get("/api/v1/threads", headers=headers).get_json()["items"]}

    assert shown.id in ids() and hidden.id not in ids() and of_hidden_proposal.id not in ids()
    assert {shown.id, hidden.id, of_hidden_proposal.id} <= ids(bearer(token_for(moderator)))


# --- Paging and errors ---------------------------------------------------------------------


def test_cursor_pagination_walks_every_item_once(client, make_round, make_proposal, make_user):
    round_ = make_round()
    author = make_user()
    for n in range(7):
        make_proposal(round=round_, author=author, title=f"P{n}")
    seen, url, pages = [], f"/api/v1/rounds/{round_.slug}/proposals?limit=3&sort=newest", 0
    while url:
        data = client.get(url).get_json()
        seen += [p["number"] for p in data["items"]]
        url, pages = data["next"], pages + 1
        assert url is None or url.startswith("http")
    assert seen == [7, 6, 5, 4, 3, 2, 1] and pages == 3


def test_the_state_filter_and_the_supporters_sort(
    db, client, make_round, make_proposal, make_user, cosign_as
):
    round_ = make_round()
    a, b, c = (make_proposal(round=round_, title=f"P{n}") for n in range(3))
    cosign_as(b, make_user(), make_user())
    cosign_as(c, make_user())
    a.state = ProposalState.withdrawn
    db.session.commit()
    by_support = client.get(f"/api/v1/rounds/{round_.slug}/proposals?sort=supporters").get_json()
    assert [p["id"] for p in by_support["items"]] == [b.id, c.id, a.id]
    open_only = client.get(f"/api/v1/rounds/{round_.slug}/proposals?state=open").get_json()
    assert {p["id"] for p in open_only["items"]} == {b.id, c.id}


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=abc", "cursor=%%%", "cursor=bm90IGpzb24", "cursor=WzEsMl0",
     "sort=random", "state=floating"],
)  # fmt: skip
def test_bad_paging_arguments_are_4xx_problems(client, make_round, query):
    round_ = make_round()
    response = client.get(f"/api/v1/rounds/{round_.slug}/proposals?{query}")
    assert response.status_code in (400, 422) and response.mimetype == PROBLEM


@pytest.mark.parametrize(
    "path",
    ["/api/v1/proposals/99999", "/api/v1/proposals/99999999999", "/api/v1/rounds/nope",
     "/api/v1/comments/5", "/api/v1/threads/5", "/api/v1/articles/nope", "/api/v1/nothing-here"],
)  # fmt: skip
def test_unknown_things_are_404_problems(client, path):
    assert_problem(client.get(path), 404)


@pytest.mark.parametrize(
    "query", ["until=9999-12-31", "since=0001-01-01", "since=2020-13-01", "moderator=%00"]
)
def test_bad_log_filters_are_4xx_problems(client, make_user, token_for, query):
    response = client.get(
        f"/api/v1/moderation/log?{query}", headers=bearer(token_for(make_user(), "read"))
    )
    assert response.status_code in (400, 422) and response.mimetype == PROBLEM


def test_a_wrong_method_is_a_405_problem(client):
    assert_problem(client.delete("/api/v1/rounds"), 405)


def test_the_api_and_the_form_count_against_one_rate_limit(limited_app, make_user, make_proposal):
    limited_app.config["RATELIMIT_COSIGN"] = "3 per minute"
    try:
        from app.extensions import db
        from tests.conftest import AuthActions

        proposal = make_proposal()
        member = make_user()
        secret = token_svc.create_token(member, "t", "write")[1]
        db.session.commit()
        api = limited_app.test_client()
        form = limited_app.test_client()
        AuthActions(form).login(member)
        api_url = f"/api/v1/proposals/{proposal.id}/cosign"
        form_url = f"/proposals/{proposal.id}/cosign"
        json = {"Accept": "application/json"}
        assert api.post(api_url, headers=bearer(secret)).status_code == 200
        assert form.post(form_url, headers=json).status_code == 409  # already signed
        assert api.post(api_url, headers=bearer(secret)).status_code == 409
        # The fourth co-sign in the minute, by either way, is one too many.
        assert_problem(api.post(api_url, headers=bearer(secret)), 429)
        assert form.post(form_url, headers=json).status_code == 429
    finally:
        limited_app.config["RATELIMIT_COSIGN"] = "60 per minute"


# --- The description and its reference page -------------------------------------------------


def test_openapi_31_document_and_its_reference_page(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    for path in (
        "/api/v1/rounds",
        "/api/v1/proposals/{proposal_id}/cosign",
        "/api/v1/notifications",
    ):
        assert path in spec["paths"]
    error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == [PROBLEM]
    page = client.get("/api/v1/docs")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert "<h3><code>POST /api/v1/proposals/{proposal_id}/cosign</code></h3>" in html
    assert 'id="schema-ProposalDetail"' in html and '<script src="http' not in html


# --- Tokens on /account and on the command line ----------------------------------------------


def test_account_page_creates_shows_once_lists_and_revokes(db, client, auth, make_user):
    member = make_user()
    auth.login(member)
    created = client.post(
        "/account/tokens", data={"token-name": "my script", "token-scope": "write"}
    )
    assert created.status_code == 201
    html = created.get_data(as_text=True)
    token = db.session.scalar(sa.select(ApiToken))
    secret = re.search(r'id="token-secret"[^>]*value="([^"]+)"', html).group(1)
    assert token.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert created.headers["Cache-Control"] == "no-store"
    account = client.get("/account").get_data(as_text=True)
    assert "my script" in account and "write" in account and secret not in account
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 200
    client.post(f"/account/tokens/{token.id}/revoke")
    db.session.expire_all()
    assert db.session.get(ApiToken, token.id).revoked_at is not None
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 401


def test_account_token_form_errors_are_400_and_others_tokens_are_not_found(
    db, client, auth, make_user, token_for
):
    member, other = make_user(), make_user()
    token_for(other)
    auth.login(member)
    assert (
        client.post("/account/tokens", data={"token-name": "", "token-scope": "read"}).status_code
        == 400
    )
    assert (
        client.post("/account/tokens", data={"token-name": "x", "token-scope": "root"}).status_code
        == 400
    )
    other_id = db.session.scalar(sa.select(ApiToken.id))
    assert client.post(f"/account/tokens/{other_id}/revoke").status_code == 404
    db.session.expire_all()
    assert db.session.get(ApiToken, other_id).revoked_at is None


def test_flask_tokens_create_prints_a_working_secret(app, db, client, make_user):
    make_user("scripted")
    result = app.test_cli_runner().invoke(args=["tokens", "create", "scripted", "--scope", "read"])
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/notifications", headers=bearer(secret)).status_code == 200
    db.session.expire_all()
    assert db.session.scalar(sa.select(ApiToken.scope)).value == "read"
    missing = app.test_cli_runner().invoke(args=["tokens", "create", "nobody"])
    assert missing.exit_code != 0 and "nobody" in missing.output
