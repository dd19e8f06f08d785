"""Role x route matrix: every route of the app that changes data, for every kind of user.

The routes come from app.url_map (every rule taking POST, PUT, PATCH or
DELETE), so a route added anywhere in the app must be added to EXPECTED
below, or test_every_data_changing_route_is_in_the_table fails and names it.

Each cell runs on a fresh database with the same scene, signs in as the role
(or not, for the visitor), sends a valid request and compares the outcome:
  "ok"       the action was done: 2xx, or a redirect (not to /login) without an
             error flash
  "refused"  a redirect back with an error flash (the HTML answer of a refusal
             that JSON clients get as 409)
  "login"    a redirect to the sign-in page
  403, 404, 409, 400   that status exactly (never a 2xx)

"author" is the author of the proposal, comment and thread the request acts
on; "suspended" is a member suspended for three days.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.mail import unsubscribe_token
from app.models import (
    CoauthorStatus,
    CommentStatus,
    ProposalCoauthor,
    Report,
    ReportReason,
    Role,
    ThreadState,
    Topic,
)
from app.services.tokens import create_token
from app.timeutil import utcnow

ROLES = ("visitor", "member", "author", "suspended", "moderator", "admin")
UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def row(visitor, member, author, suspended, moderator, admin):
    return dict(zip(ROLES, (visitor, member, author, suspended, moderator, admin), strict=True))


MODERATOR_ONLY = row("login", 403, 403, 403, "ok", "ok")
ADMIN_ONLY = row("login", 403, 403, 403, 403, "ok")
AUTHOR_ONLY = row("login", 403, "ok", 403, 403, 403)
ACTIVE_MEMBERS = row("login", "ok", "ok", 403, "ok", "ok")

EXPECTED = {
    # Accounts (the lead's area). Signing in, up and out, and asking for a reset,
    # are open to all; what a signed-in user posts there changes nothing of others.
    # Wrong credentials are refused with the form (400) whoever sends them.
    "auth.login": row(400, 400, 400, 400, 400, 400),
    "auth.signup": row(400, "ok", "ok", "ok", "ok", "ok"),
    "auth.logout": row("ok", "ok", "ok", "ok", "ok", "ok"),
    # Asking for a reset link always answers the same way (no account
    # enumeration): back to the sign-in page.
    "auth.reset_request": row("login", "login", "login", "login", "login", "login"),
    # A bad or used token is refused for everyone.
    "auth.reset_with_token": row(*["refused"] * 6),
    "auth.confirm_signup": row(*["refused"] * 6),
    # /account: a bad email-change link is refused; deleting needs the password.
    "auth.confirm_email_change": row("login", *["refused"] * 5),
    "auth.delete_account": row("login", 400, 400, 400, 400, 400),
    # A suspended member may still fix their own name and password.
    "auth.account": row("login", "ok", "ok", "ok", "ok", "ok"),
    # Threads and comments. Visitors leave guest comments (held for approval).
    "articles.post_comment": row("ok", "ok", "ok", 403, "ok", "ok"),
    "articles.reply": ACTIVE_MEMBERS,
    "articles.edit": AUTHOR_ONLY,
    "articles.delete": AUTHOR_ONLY,
    # Organisers' tools (#19): admins write, edit and import articles and change rounds.
    "articles.new_article": ADMIN_ONLY,
    "articles.edit_article": ADMIN_ONLY,
    "articles.import_document": ADMIN_ONLY,
    # Proposals.
    "proposals.submit": ACTIVE_MEMBERS,
    # The author counts as a supporter without signing, so cannot co-sign.
    "proposals.cosign": row("login", "ok", "refused", 403, "ok", "ok"),
    "proposals.uncosign": row("login", "ok", "refused", 403, "ok", "ok"),
    "proposals.edit": AUTHOR_ONLY,
    "proposals.withdraw": AUTHOR_ONLY,
    "proposals.invite_coauthor": AUTHOR_ONLY,
    # Only the member holding the invitation may answer it.
    "proposals.accept_invite": row("login", "ok", 409, 403, 409, 409),
    "proposals.decline_invite": row("login", "ok", 409, 403, 409, 409),
    "proposals.decide": ADMIN_ONLY,
    "proposals.new_round": ADMIN_ONLY,
    "proposals.close_round": ADMIN_ONLY,
    "proposals.round_settings": ADMIN_ONLY,
    "proposals.mark_notifications_read": row("login", "ok", "ok", "ok", "ok", "ok"),
    # Moderation.
    "moderation.report_comment": row("login", "ok", 403, 403, "ok", "ok"),
    "moderation.report_proposal": row("login", "ok", 403, 403, "ok", "ok"),
    "moderation.approve_comment": MODERATOR_ONLY,
    "moderation.hide_comment": MODERATOR_ONLY,
    "moderation.restore_comment": MODERATOR_ONLY,
    "moderation.pin_comment": MODERATOR_ONLY,
    "moderation.unpin_comment": MODERATOR_ONLY,
    "moderation.move_subthread": MODERATOR_ONLY,
    "moderation.hide_proposal": MODERATOR_ONLY,
    "moderation.restore_proposal": MODERATOR_ONLY,
    "moderation.lock_thread": MODERATOR_ONLY,
    "moderation.unlock_thread": MODERATOR_ONLY,
    "moderation.resolve_report": MODERATOR_ONLY,
    "moderation.dismiss_report": MODERATOR_ONLY,
    "moderation.suspend_member": MODERATOR_ONLY,
    "moderation.lift_suspension": MODERATOR_ONLY,
    "moderation.roles": ADMIN_ONLY,
    # Following and mail settings: a member's own choices (a suspended member
    # may still choose what they are told, as they may fix their name).
    "notifications.follow": row("login", "ok", "ok", "ok", "ok", "ok"),
    "notifications.unfollow": row("login", "ok", "ok", "ok", "ok", "ok"),
    "notifications.preferences": row("login", "ok", "ok", "ok", "ok", "ok"),
    # One-click unsubscribe works without signing in: the signed token is the proof.
    "notifications.unsubscribe": row(*["ok"] * 6),
    # API tokens on /account: a member makes their own, and revokes only their own.
    "tokens.create": ACTIVE_MEMBERS,
    "tokens.revoke": row("login", "ok", 404, 404, 404, 404),
}

# The API (/api/v1): the same actions with each role's write token (a visitor sends
# none: 401), answering with the status itself (a refusal is 403 or 409, never a redirect).
API_ACTIVE = row(401, "ok", "ok", 403, "ok", "ok")
API_AUTHOR_ONLY = row(401, 403, "ok", 403, 403, 403)
EXPECTED.update(
    {
        "api.submit_proposal": API_ACTIVE,
        "api.edit_proposal": API_AUTHOR_ONLY,
        "api.withdraw": API_AUTHOR_ONLY,
        "api.cosign": row(401, "ok", 409, 403, "ok", "ok"),
        "api.uncosign": row(401, "ok", 409, 403, "ok", "ok"),
        "api.post_comment": API_ACTIVE,
        "api.reply": API_ACTIVE,
        "api.report_comment": row(401, "ok", 403, 403, "ok", "ok"),
        "api.report_proposal": row(401, "ok", 403, 403, "ok", "ok"),
    }
)


class Scene:
    """The same data in every cell."""

    def __init__(self, db, make_user, mod_article, mod_comment, mod_proposal, mod_round):
        self.users = {
            "member": make_user("mia"),
            "author": make_user("arthur"),
            "suspended": make_user(
                "sam", suspended_until=utcnow() + timedelta(days=3), suspension_reason="Spam"
            ),
            "moderator": make_user("moe", role=Role.moderator),
            "admin": make_user("ada", role=Role.admin),
        }
        author = self.users["author"]
        self.reporter = make_user("rex")
        self.invitee = make_user("ivy")
        self.to_lift = make_user(
            "sid", suspended_until=utcnow() + timedelta(days=3), suspension_reason="Spam"
        )
        self.round = mod_round()
        # Everyone but the author has co-signed `signed`; nobody has co-signed `proposal`.
        cosigners = [self.users[r] for r in ("member", "suspended", "moderator", "admin")]
        self.proposal = mod_proposal(author, round=self.round)
        self.signed = mod_proposal(author, round=self.round, cosigners=cosigners)
        self.hidden_proposal = mod_proposal(author, round=self.round)
        self.hidden_proposal.is_hidden = True
        self.hidden_proposal.hidden_reason = "Spam"
        db.session.add(
            ProposalCoauthor(
                proposal_id=self.proposal.id,
                user_id=self.users["member"].id,
                status=CoauthorStatus.invited,
            )
        )
        self.article = mod_article()
        self.thread = self.article.thread
        self.comment = mod_comment(self.thread, author=author, body="Top-level comment")
        mod_comment(self.thread, author=self.reporter, parent=self.comment, body="A reply")
        self.pending = mod_comment(self.thread, author_name="Guest", status=CommentStatus.pending)
        self.hidden = mod_comment(self.thread, author=author, body="Hidden one")
        self.hidden.status = CommentStatus.hidden
        self.hidden.hidden_reason = "Abuse"
        self.pinned = mod_comment(self.thread, author=author, body="Pinned one")
        self.pinned.pinned = True
        self.locked_thread = mod_article().thread
        self.locked_thread.state = ThreadState.locked
        self.report = Report(
            reporter_id=self.reporter.id, comment_id=self.comment.id, reason=ReportReason.spam
        )
        db.session.add(self.report)
        self.member_token, _secret = create_token(self.users["member"], "matrix", "read")
        db.session.commit()


def request_for(endpoint: str, s: Scene):
    """(url, form data) of a valid request to `endpoint` in the scene."""
    p, c = s.proposal.id, s.comment.id
    reason = {"reason": "A reason for the log"}
    table = {
        "auth.login": ("/login", {"login": "nobody", "password": "wrong password"}),
        "auth.signup": (
            "/signup",
            {"username": "", "display_name": "", "email": "", "password": "", "confirm": ""},
        ),
        "auth.logout": ("/logout", {}),
        "auth.reset_request": ("/reset", {"email": "someone@example.org"}),
        "auth.reset_with_token": (
            "/reset/not-a-token",
            {"password": "a new password", "confirm": "a new password"},
        ),
        "auth.confirm_signup": ("/signup/confirm/not-a-token", {"password": "a password"}),
        "auth.confirm_email_change": ("/account/email/not-a-token", {}),
        "auth.delete_account": (
            "/account/delete",
            {"delete-password": "not the password", "delete-submit": "Delete"},
        ),
        "auth.account": (
            "/account",
            {"profile-display_name": "A New Name", "profile-submit": "Save"},
        ),
        "articles.post_comment": (
            f"/threads/{s.thread.id}/comments",
            {"body": "A new comment", "name": "A Guest"},
        ),
        "articles.reply": (f"/comments/{c}/reply", {"body": "A reply"}),
        "articles.edit": (f"/comments/{c}/edit", {"body": "Edited text"}),
        "articles.delete": (f"/comments/{c}/delete", {}),
        "articles.new_article": (
            "/articles/new",
            {"title": "An admin's article", "body": "Its text.", "save": "Save article"},
        ),
        "articles.edit_article": (
            f"/articles/{s.article.slug}/edit",
            {"title": "A corrected title", "body": "Its text.", "save": "Save article"},
        ),
        "articles.import_document": (
            "/articles/import",
            {
                "text": "A document\n\nSubmitted by News on 2 April, 2020 - 09:05\n\nIts text.\n",
                "submit": "Import",
            },
        ),
        "proposals.submit": (
            f"/rounds/{s.round.slug}/new",
            {"title": "A new proposal", "body": "Let us do it."},
        ),
        "proposals.cosign": (f"/proposals/{p}/cosign", {}),
        "proposals.uncosign": (f"/proposals/{s.signed.id}/uncosign", {}),
        "proposals.edit": (
            f"/proposals/{p}/edit",
            {"title": "A better title", "body": "A better body."},
        ),
        "proposals.withdraw": (
            f"/proposals/{p}/withdraw",
            {"reason": "other", "explanation": "No longer needed.", "successor": "0"},
        ),
        "proposals.invite_coauthor": (f"/proposals/{p}/coauthors", {"username": "ivy"}),
        "proposals.accept_invite": (f"/proposals/{p}/coauthors/accept", {}),
        "proposals.decline_invite": (f"/proposals/{p}/coauthors/decline", {}),
        "proposals.decide": (
            f"/proposals/{p}/decide",
            {"outcome": "adopted", "merged_into": "0", "note": "Carried."},
        ),
        "proposals.new_round": (
            "/rounds/new",
            {"title": "Another round", "slug": "another-round", "description": "More."},
        ),
        "proposals.close_round": (f"/rounds/{s.round.slug}/close", {}),
        "proposals.round_settings": (
            f"/rounds/{s.round.slug}/settings",
            {"title": s.round.title, "threshold": "12", **reason},
        ),
        "proposals.mark_notifications_read": ("/notifications/read", {}),
        "moderation.report_comment": (
            f"/moderation/report/comment/{c}",
            {"reason": "abuse", "note": "Rude"},
        ),
        "moderation.report_proposal": (
            f"/moderation/report/proposal/{p}",
            {"reason": "spam", "note": ""},
        ),
        "moderation.approve_comment": (f"/moderation/comments/{s.pending.id}/approve", reason),
        "moderation.hide_comment": (f"/moderation/comments/{c}/hide", reason),
        "moderation.restore_comment": (f"/moderation/comments/{s.hidden.id}/restore", reason),
        "moderation.pin_comment": (f"/moderation/comments/{c}/pin", reason),
        "moderation.unpin_comment": (f"/moderation/comments/{s.pinned.id}/unpin", reason),
        "moderation.move_subthread": (f"/moderation/comments/{c}/move", reason),
        "moderation.hide_proposal": (f"/moderation/proposals/{p}/hide", reason),
        "moderation.restore_proposal": (
            f"/moderation/proposals/{s.hidden_proposal.id}/restore",
            reason,
        ),
        "moderation.lock_thread": (f"/moderation/threads/{s.thread.id}/lock", reason),
        "moderation.unlock_thread": (f"/moderation/threads/{s.locked_thread.id}/unlock", reason),
        "moderation.resolve_report": (f"/moderation/reports/{s.report.id}/resolve", reason),
        "moderation.dismiss_report": (f"/moderation/reports/{s.report.id}/dismiss", reason),
        "moderation.suspend_member": (
            f"/moderation/users/{s.users['author'].id}/suspend",
            {**reason, "duration": "7"},
        ),
        "moderation.lift_suspension": (f"/moderation/users/{s.to_lift.id}/lift", reason),
        "moderation.roles": (
            "/moderation/roles",
            {"username": "rex", "role": "moderator", **reason},
        ),
        "notifications.follow": (f"/follow/round/{s.round.id}", {}),
        "notifications.unfollow": (f"/unfollow/round/{s.round.id}", {}),
        "notifications.preferences": (
            "/account/notifications",
            {f"topic_{topic.value}": "digest" for topic in Topic},
        ),
        "notifications.unsubscribe": (
            f"/unsubscribe/{unsubscribe_token(s.users['member'].id, 'mention')}",
            {"List-Unsubscribe": "One-Click"},
        ),
        "tokens.create": ("/account/tokens", {"token-name": "A script", "token-scope": "read"}),
        "tokens.revoke": (f"/account/tokens/{s.member_token.id}/revoke", {}),
        # The API: JSON bodies.
        "api.submit_proposal": (
            f"/api/v1/rounds/{s.round.slug}/proposals",
            {"title": "A new proposal", "body": "Let us do it."},
        ),
        "api.edit_proposal": (f"/api/v1/proposals/{p}", {"body": "A better body."}),
        "api.withdraw": (
            f"/api/v1/proposals/{p}/withdraw",
            {"reason": "other", "explanation": "No longer needed."},
        ),
        "api.cosign": (f"/api/v1/proposals/{p}/cosign", None),
        "api.uncosign": (f"/api/v1/proposals/{s.signed.id}/uncosign", None),
        "api.post_comment": (f"/api/v1/threads/{s.thread.id}/comments", {"body": "A comment"}),
        "api.reply": (f"/api/v1/comments/{c}/replies", {"body": "A reply"}),
        "api.report_comment": (
            f"/api/v1/comments/{c}/report",
            {"reason": "abuse", "note": "Rude"},
        ),
        "api.report_proposal": (f"/api/v1/proposals/{p}/report", {"reason": "spam"}),
    }
    return table[endpoint]


def api_call(client, db, scene, endpoint: str, role: str):
    """The API request of `endpoint`, with `role`'s write token (none for a visitor)."""
    url, data = request_for(endpoint, scene)
    headers = {}
    if role != "visitor":
        secret = create_token(scene.users[role], "matrix", "write")[1]
        db.session.commit()
        headers["Authorization"] = f"Bearer {secret}"
    method = "PATCH" if endpoint == "api.edit_proposal" else "POST"
    return url, client.open(url, method=method, json=data, headers=headers)


# Admin pages read with GET: the forms themselves are for admins only.
ADMIN_PAGES = ["/articles/new", "/articles/import", "/articles/{article}/edit",
               "/rounds/{round}/settings"]  # fmt: skip


@pytest.mark.parametrize("page", ADMIN_PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_admin_pages_role_matrix(
    app, db, client, auth, make_user, mod_article, mod_comment, mod_proposal, mod_round,
    page, role,
):  # fmt: skip
    scene = Scene(db, make_user, mod_article, mod_comment, mod_proposal, mod_round)
    if role != "visitor":
        auth.login(scene.users[role])
    url = page.format(article=scene.article.slug, round=scene.round.slug)
    response = client.get(url)
    assert _outcome(client, response) == ADMIN_ONLY[role], (role, url, response.status_code)


def test_every_data_changing_route_is_in_the_table(app):
    routes = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.methods and rule.methods & UNSAFE_METHODS
    }
    missing = sorted(routes - set(EXPECTED))
    assert not missing, (
        f"Routes that change data but have no row in the role x route matrix: {missing}. "
        "Add each to EXPECTED (and request_for) in tests/test_moderation_matrix.py."
    )
    stale = sorted(set(EXPECTED) - routes)
    assert not stale, f"Rows for routes that no longer exist: {stale}"


def _outcome(client, response) -> object:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        if "/login" in response.headers.get("Location", ""):
            return "login"
        with client.session_transaction() as session:
            flashes = session.get("_flashes") or []
        if any(category == "error" for category, _message in flashes):
            return "refused"
        return "ok"
    if 200 <= status < 300:
        return "ok"
    return status


CELLS = [
    (endpoint, role)
    for endpoint in sorted(EXPECTED)
    if not endpoint.startswith("api.")
    for role in ROLES
]


@pytest.mark.parametrize("endpoint, role", CELLS)
def test_role_route_matrix(
    app, db, client, auth, make_user, mod_article, mod_comment, mod_proposal, mod_round,
    endpoint, role,
):  # fmt: skip
    scene = Scene(db, make_user, mod_article, mod_comment, mod_proposal, mod_round)
    if role != "visitor":
        auth.login(scene.users[role])
    url, data = request_for(endpoint, scene)
    response = client.post(url, data=data)
    expected = EXPECTED[endpoint][role]
    got = _outcome(client, response)
    assert got == expected, (
        f"{role} POST {url} ({endpoint}): expected {expected}, got {response.status_code} "
        f"{response.headers.get('Location', '')}"
    )


@pytest.mark.parametrize("endpoint", sorted(e for e in EXPECTED if e.startswith("api.")))
def test_api_role_matrix(
    app, db, client, make_user, mod_article, mod_comment, mod_proposal, mod_round, endpoint,
    monkeypatch,
):  # fmt: skip
    """The API's rows: one scene per action, every role in turn (each acts on its own
    behalf, so one role's success changes nothing another role's answer depends on;
    the author goes last). No session: a token, or nothing for the visitor."""
    scene = Scene(db, make_user, mod_article, mod_comment, mod_proposal, mod_round)
    # Three open reports would hide the comment, and a later reporter meet a hidden one.
    monkeypatch.setitem(app.config, "REPORTS_TO_HIDE", 100)
    for role in sorted(ROLES, key=lambda r: r == "author"):
        url, response = api_call(client, db, scene, endpoint, role)
        expected = EXPECTED[endpoint][role]
        got = _outcome(client, response)
        assert got == expected, (
            f"{role} {url} ({endpoint}): expected {expected}, got {response.status_code} "
            f"{response.get_data(as_text=True)[:200]}"
        )


def test_refused_cells_change_nothing(app, db, client, auth, make_user, mod_article, mod_comment,
                                      mod_proposal, mod_round):  # fmt: skip
    """A member's refused moderation requests leave the rows as they were."""
    scene = Scene(db, make_user, mod_article, mod_comment, mod_proposal, mod_round)
    auth.login(scene.users["member"])
    for endpoint, expected in EXPECTED.items():
        if endpoint.startswith("moderation.") and expected["member"] == 403:
            url, data = request_for(endpoint, scene)
            assert client.post(url, data=data).status_code == 403, endpoint
    db.session.expire_all()
    from app.models import Comment, ModerationAction

    assert db.session.scalar(sa.select(sa.func.count()).select_from(ModerationAction)) == 0
    statuses = dict(db.session.execute(sa.select(Comment.id, Comment.status)).all())
    assert statuses[scene.comment.id] == CommentStatus.published
    assert statuses[scene.pending.id] == CommentStatus.pending
    assert not scene.users["author"].is_suspended()
