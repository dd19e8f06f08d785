"""The proposals pages: wiring, statuses, forms, JSON."""

import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.models import CosignEvent, Notification, ProposalState, Role
from app.services import proposals as svc
from app.timeutil import utcnow
from tests.conftest import DEFAULT_PASSWORD, make_test_app
from tests.fixtures.proposals import active_count, stored_count

JSON = {"Accept": "application/json"}


def text(response) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def round_with_proposals(db, make_round, make_user, make_proposal, cosign_as):
    """A round: P1 (2 supporters), P2 (3), P3 withdrawn in favour of P2."""
    round_ = make_round(title="The way forward", threshold=3)
    author = make_user("author")
    p1 = make_proposal(round=round_, author=author, title="First idea")
    p2 = make_proposal(round=round_, title="Second idea")
    p3 = make_proposal(round=round_, author=author, title="Third idea")
    cosign_as(p1, make_user())
    cosign_as(p2, make_user(), make_user())
    svc.withdraw_proposal(p3, author, "duplicate", "Same as two.", successor=p2)
    db.session.commit()
    return round_, p1, p2, p3


# --- Access ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/proposals/{id}/cosign"),
        ("post", "/proposals/{id}/uncosign"),
        ("get", "/proposals/{id}/withdraw"),
        ("get", "/proposals/{id}/edit"),
        ("get", "/rounds/{slug}/new"),
        ("get", "/notifications"),
        ("post", "/notifications/read"),
        ("get", "/rounds/new"),
    ],
)
def test_visitors_are_sent_to_sign_in(client, make_proposal, method, path):
    proposal = make_proposal()
    url = path.format(id=proposal.id, slug=proposal.round.slug)
    response = getattr(client, method)(url)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/proposals/999999"),
        ("get", "/proposals/999999/versions"),
        ("get", "/proposals/999999/supporters"),
        ("post", "/proposals/999999/cosign"),
        ("post", "/proposals/999999/uncosign"),
        ("get", "/proposals/999999/withdraw"),
        ("get", "/rounds/no-such-round"),
        ("get", "/rounds/no-such-round/new"),
    ],
)
def test_unknown_ids_are_404(client, auth, make_user, method, path):
    auth.login(make_user())
    assert getattr(client, method)(path).status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/proposals/{id}/withdraw",
        "/proposals/{id}/edit",
        "/proposals/{id}/decide",
        "/rounds/new",
    ],
)
def test_other_members_are_refused(client, auth, make_user, make_proposal, path):
    proposal = make_proposal()
    auth.login(make_user())
    assert client.get(path.format(id=proposal.id)).status_code == 403


def test_rounds_page_lists_rounds_and_answers_json(client, round_with_proposals):
    response = client.get("/rounds")
    assert response.status_code == 200
    assert "The way forward" in text(response) and "3 proposals, 1 withdrawn" in text(response)
    data = client.get("/rounds", headers=JSON).get_json()
    assert data["rounds"][0]["counts"] == {"total": 3, "open": 2, "withdrawn": 1}


# --- The round page --------------------------------------------------------------------


def titles_in(html: str, section: str) -> list[str]:
    part = html.split(f'id="{section}-title"')[1].split("</section>")[0]
    return re.findall(r'class="proposal-title" href="/proposals/\d+">([^<]+)<', part)


def test_round_page_counts_sorts_and_puts_withdrawn_apart(client, round_with_proposals):
    round_, *_ = round_with_proposals
    html = text(client.get(f"/rounds/{round_.slug}"))
    assert "3 proposals, 1 withdrawn" in html
    assert titles_in(html, "current") == ["Second idea", "First idea"]  # most supporters
    assert titles_in(html, "withdrawn") == ["Third idea"]
    assert re.search(r"<meter[^>]*max=\"3\"[^>]*value=\"3\"", html)
    assert "style=" not in html
    by_number = text(client.get(f"/rounds/{round_.slug}?sort=number"))
    assert titles_in(by_number, "current") == ["First idea", "Second idea"]
    newest = text(client.get(f"/rounds/{round_.slug}?sort=newest"))
    assert titles_in(newest, "current") == ["Second idea", "First idea"]


def test_round_page_filters_by_state(client, round_with_proposals):
    round_, *_ = round_with_proposals
    only_withdrawn = text(client.get(f"/rounds/{round_.slug}?state=withdrawn"))
    assert 'id="current-title"' not in only_withdrawn
    assert titles_in(only_withdrawn, "withdrawn") == ["Third idea"]
    only_open = text(client.get(f"/rounds/{round_.slug}?state=open"))
    assert 'id="withdrawn-title"' not in only_open
    assert titles_in(only_open, "current") == ["Second idea", "First idea"]
    # Nonsense falls back to the default listing rather than an error.
    response = client.get(f"/rounds/{round_.slug}?state=<b>&sort=evil&page=x")
    assert response.status_code == 200


def test_round_page_json(client, round_with_proposals):
    round_, p1, p2, p3 = round_with_proposals
    data = client.get(f"/rounds/{round_.slug}?sort=number", headers=JSON).get_json()
    assert data["round"]["counts"]["total"] == 3
    assert [p["number"] for p in data["proposals"]] == [1, 2]
    assert data["withdrawn"][0]["successor"] == p2.number
    assert data["proposals"][1]["supporter_count"] == 3


# --- The proposal page -----------------------------------------------------------------


def test_proposal_page_renders_text_supporters_and_discussion(
    client, auth, make_user, make_proposal, cosign_as, make_comment
):
    proposal = make_proposal(title="Dissolve", body="**Develop** a process <script>x()</script>")
    fan = make_user(display_name="Rosa Fan")
    cosign_as(proposal, fan)
    make_comment(thread=proposal.thread, author=make_user(), body="A *thoughtful* remark")
    html = text(client.get(f"/proposals/{proposal.id}"))
    assert "<strong>Develop</strong>" in html and "<script>x()" not in html
    assert '<div id="discussion">' in html
    assert f'id="thread-{proposal.thread_id}"' in html
    assert "A <em>thoughtful</em> remark" in html
    data = client.get(f"/proposals/{proposal.id}", headers=JSON).get_json()
    assert [c["body"] for c in data["thread"]["comments"]] == ["A *thoughtful* remark"]
    assert "Rosa Fan" not in html  # who signed is for members
    auth.login(make_user())
    html = text(client.get(f"/proposals/{proposal.id}"))
    assert "Rosa Fan" in html and "Co-sign this proposal" in html


def test_proposal_json_has_the_same_data(client, auth, make_user, make_proposal, cosign_as):
    proposal = make_proposal(title="Dissolve", body="Text")
    fan = make_user("fan")
    cosign_as(proposal, fan)
    anonymous = client.get(f"/proposals/{proposal.id}", headers=JSON).get_json()
    assert anonymous["title"] == "Dissolve" and anonymous["supporter_count"] == 2
    assert "supporters" not in anonymous
    auth.login(fan)
    data = client.get(f"/proposals/{proposal.id}", headers=JSON).get_json()
    assert data["signed"] is True
    assert [s["username"] for s in data["supporters"]] == ["fan"]


def test_hidden_proposal_is_a_placeholder_except_for_moderators(
    client, auth, make_user, make_proposal, db
):
    proposal = make_proposal(title="Secret title")
    proposal.is_hidden, proposal.hidden_reason = True, "Personal attack"
    db.session.commit()
    html = text(client.get(f"/proposals/{proposal.id}"))
    assert "Secret title" not in html and "Personal attack" in html
    assert "Secret title" not in text(client.get(f"/rounds/{proposal.round.slug}"))
    auth.login(make_user(role=Role.moderator))
    assert "Secret title" in text(client.get(f"/proposals/{proposal.id}"))


def test_changed_since_you_signed_mark(client, auth, db, make_user, make_proposal, cosign_as):
    author, member = make_user(), make_user()
    proposal = make_proposal(author=author, body="one")
    cosign_as(proposal, member)
    auth.login(member)
    assert "Changed since you signed" not in text(client.get(f"/proposals/{proposal.id}"))
    svc.edit_proposal(proposal, author, proposal.title, "two")
    db.session.commit()
    html = text(client.get(f"/proposals/{proposal.id}"))
    assert "Changed since you signed" in html
    assert f"/proposals/{proposal.id}/versions?from=1&amp;to=2" in html


# --- Co-signing --------------------------------------------------------------------------


def test_cosign_and_uncosign_as_plain_forms(client, auth, make_user, make_proposal, db):
    proposal, member = make_proposal(), make_user()
    auth.login(member)
    response = client.post(f"/proposals/{proposal.id}/cosign", follow_redirects=True)
    assert response.status_code == 200 and "You co-signed Proposal 1" in text(response)
    assert "Remove my co-signature" in text(response)
    assert stored_count(db, proposal.id) == 2
    again = client.post(f"/proposals/{proposal.id}/cosign", follow_redirects=True)
    assert "You have already co-signed this proposal." in text(again)
    assert stored_count(db, proposal.id) == 2
    response = client.post(f"/proposals/{proposal.id}/uncosign", follow_redirects=True)
    assert "co-signature of Proposal 1 is removed" in text(response)
    assert stored_count(db, proposal.id) == 1


def test_cosign_answers_json_for_the_script(client, auth, make_user, make_proposal):
    proposal, member = make_proposal(), make_user()
    auth.login(member)
    data = client.post(f"/proposals/{proposal.id}/cosign", headers=JSON).get_json()
    assert data["ok"] and data["signed"] and data["supporter_count"] == 2
    assert data["uncosign_url"] == f"/proposals/{proposal.id}/uncosign"
    response = client.post(f"/proposals/{proposal.id}/cosign", headers=JSON)
    assert response.status_code == 409
    assert response.get_json()["message"] == "You have already co-signed this proposal."
    data = client.post(f"/proposals/{proposal.id}/uncosign", headers=JSON).get_json()
    assert data["supporter_count"] == 1 and not data["signed"] and data["can_cosign"]


def test_cosign_with_the_csrf_header_the_script_sends(database_url, make_user, make_proposal):
    proposal, member = make_proposal(), make_user("csrfmember")
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        client = app.test_client()
        page = client.get("/login")
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', text(page))[1]
        client.post(
            "/login",
            data={"login": member.username, "password": DEFAULT_PASSWORD, "csrf_token": token},
        )
        # Signing in starts a fresh session: the page's form carries the new token.
        page = text(client.get(f"/proposals/{proposal.id}"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        refused = client.post(f"/proposals/{proposal.id}/cosign", headers=JSON)
        assert refused.status_code == 400
        ok = client.post(f"/proposals/{proposal.id}/cosign", headers={**JSON, "X-CSRFToken": token})
        assert ok.status_code == 200 and ok.get_json()["supporter_count"] == 2


def test_suspended_member_is_refused_with_the_reason(client, auth, db, make_user, make_proposal):
    proposal = make_proposal()
    member = make_user(suspended_until=utcnow() + timedelta(days=2), suspension_reason="spam")
    auth.login(member)
    response = client.post(f"/proposals/{proposal.id}/cosign")
    assert response.status_code == 403 and "suspended until" in text(response)
    html = text(client.get(f"/proposals/{proposal.id}"))
    assert "Co-sign this proposal" not in html
    assert client.get(f"/rounds/{proposal.round.slug}/new").status_code == 403
    assert stored_count(db, proposal.id) == 1 and active_count(db, proposal.id) == 0


def test_member_suspended_after_signing_in_cannot_cosign(
    client, auth, db, make_user, make_proposal
):
    """The session still names the member; the co-sign's own SQL sees the suspension."""
    proposal, member = make_proposal(), make_user()
    auth.login(member)
    member.suspended_until = utcnow() + timedelta(hours=1)
    db.session.commit()
    response = client.post(f"/proposals/{proposal.id}/cosign")
    assert response.status_code == 403 and "suspended until" in text(response)
    assert stored_count(db, proposal.id) == 1 and active_count(db, proposal.id) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent)) == 0


def test_cosign_from_a_session_ended_elsewhere_asks_to_sign_in(
    client, auth, db, make_user, make_proposal
):
    """Signed out everywhere (the session version moved): nothing is written."""
    proposal, member = make_proposal(), make_user()
    auth.login(member)
    member.session_version += 1
    db.session.commit()
    response = client.post(f"/proposals/{proposal.id}/cosign")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert stored_count(db, proposal.id) == 1 and active_count(db, proposal.id) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CosignEvent)) == 0


def test_cosign_without_a_session_asks_to_sign_in(client, make_proposal, db):
    proposal = make_proposal()
    response = client.post(f"/proposals/{proposal.id}/cosign")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert client.post("/proposals/999999/cosign").status_code == 302
    assert stored_count(db, proposal.id) == 1


def test_cosign_from_a_notification_with_an_absurd_id_still_cosigns(
    client, auth, db, make_user, make_proposal
):
    proposal = make_proposal()
    auth.login(make_user())
    data = {"notification": str(2**63)}
    assert client.post(f"/proposals/{proposal.id}/cosign", data=data).status_code == 302
    assert stored_count(db, proposal.id) == 2


@pytest.mark.parametrize(
    "value, parsed",
    [
        ("12:3", (12, 3)),
        ("1.5:1", None),
        ("12", None),
        ("12:", None),
        ("x:1", None),
        ("-1:1", None),
        ("0:1", None),
        (f"{2**31}:1", None),
        (f"1:{2**63}", None),
        (None, None),
    ],
)
def test_who_a_session_names(value, parsed):
    from app.models import User

    assert User.parse_id(value) == parsed


def test_cosign_of_a_missing_proposal_is_404(client, auth, make_user):
    auth.login(make_user())
    assert client.post("/proposals/999999/cosign").status_code == 404


def _counted_cosign(client, auth, db, make_user, make_proposal, query_counter):
    """A new member co-signs a new proposal: (its id, the statements counted)."""
    proposal, member = make_proposal(), make_user()
    auth.login(member)
    proposal_id = proposal.id
    db.session.remove()
    with query_counter() as counted:
        response = client.post(f"/proposals/{proposal_id}/cosign")
    assert response.status_code == 302
    return proposal_id, counted


def test_a_cosign_runs_the_same_few_statements_on_both_databases(
    client, auth, db, make_user, make_proposal, query_counter
):
    """One path: the member loaded by Flask-Login, the proposal read as its row is
    locked (with its round: no read before the lock), the co-signature checked,
    then three writes."""
    proposal_id, counted = _counted_cosign(
        client, auth, db, make_user, make_proposal, query_counter
    )
    writes = [s for s in counted.statements if s.lstrip().split()[0] in ("INSERT", "UPDATE")]
    assert len(writes) == 3, counted.statements
    assert counted.count <= 6, "\n".join(s[:90] for s in counted.statements)
    reads = [s for s in map(" ".join, map(str.split, counted.statements)) if "FROM proposals" in s]
    assert len(reads) == 1, reads
    # SQLite has no row locks: its BEGIN IMMEDIATE holds the write lock already.
    assert ("FOR UPDATE" in reads[0]) == (db.engine.dialect.name == "postgresql"), reads
    assert stored_count(db, proposal_id) == 2 and active_count(db, proposal_id) == 1


# --- Submitting and editing ----------------------------------------------------------------


def test_submit_a_proposal(client, auth, make_user, make_round):
    round_ = make_round()
    auth.login(make_user())
    assert client.get(f"/rounds/{round_.slug}/new").status_code == 200
    response = client.post(
        f"/rounds/{round_.slug}/new", data={"title": "Keep the site", "body": "Keep *it*."}
    )
    assert response.status_code == 302
    html = text(client.get(response.headers["Location"]))
    assert "Proposal 1: Keep the site" in html and "<em>it</em>" in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"title": "", "body": "kept body"}, "Give your proposal a title."),
        ({"title": "x" * 201, "body": "kept body"}, "at most 200 characters"),
        ({"title": "Bell\x07", "body": "kept body"}, "control characters"),
        ({"title": "kept title", "body": ""}, "Write the text"),
    ],
)
def test_submit_bad_input_is_a_400_that_keeps_what_was_typed(
    client, auth, make_user, make_round, data, message
):
    round_ = make_round()
    auth.login(make_user())
    response = client.post(f"/rounds/{round_.slug}/new", data=data)
    assert response.status_code == 400 and message in text(response)
    assert "kept" in text(response)


def test_submit_to_a_closed_round_is_refused(client, auth, make_user, make_round):
    from app.models import RoundState

    round_ = make_round(state=RoundState.closed)
    auth.login(make_user())
    assert client.get(f"/rounds/{round_.slug}/new").status_code == 409
    assert "Submit a proposal" not in text(client.get(f"/rounds/{round_.slug}"))


def test_edit_and_compare_versions(client, auth, make_user, make_proposal):
    author = make_user()
    proposal = make_proposal(author=author, title="T", body="line one\nline two")
    auth.login(author)
    form = text(client.get(f"/proposals/{proposal.id}/edit"))
    assert "line one" in form
    response = client.post(
        f"/proposals/{proposal.id}/edit", data={"title": "T", "body": "line one\nline 2"}
    )
    assert response.status_code == 302
    html = text(client.get(f"/proposals/{proposal.id}/versions?from=1&to=2"))
    assert "<del>line two</del>" in html and "<ins>line 2</ins>" in html
    data = client.get(f"/proposals/{proposal.id}/versions", headers=JSON).get_json()
    assert [v["number"] for v in data["versions"]] == [1, 2]
    bad = client.get(f"/proposals/{proposal.id}/versions?from=9&to=abc")
    assert bad.status_code == 400 and "There is no version" in text(bad)
    same = client.post(
        f"/proposals/{proposal.id}/edit", data={"title": "T", "body": "line one\nline 2"}
    )
    assert same.status_code == 400 and "Nothing changed" in text(same)


# --- Withdrawing and the carry-over offer ---------------------------------------------------


def test_withdraw_in_favour_and_accept_the_offer_with_one_click(
    client, auth, db, make_round, make_user, make_proposal, cosign_as
):
    round_, author, fan = make_round(), make_user(), make_user()
    proposal = make_proposal(round=round_, author=author, title="Mine")
    successor = make_proposal(round=round_, title="Theirs")
    cosign_as(proposal, fan)
    auth.login(author)
    page = text(client.get(f"/proposals/{proposal.id}"))
    assert "Withdraw this proposal" in page and "Proposal 2: Theirs" in page
    bad = client.post(
        f"/proposals/{proposal.id}/withdraw",
        data={"reason": "merged", "explanation": "my typed reason", "successor": "0"},
    )
    assert bad.status_code == 400
    assert "Name the proposal it was merged into." in text(bad) and "my typed reason" in text(bad)
    response = client.post(
        f"/proposals/{proposal.id}/withdraw",
        data={"reason": "merged", "explanation": "Joined up.", "successor": str(successor.id)},
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert proposal.state == ProposalState.withdrawn
    assert "in favour of" in text(client.get(f"/proposals/{proposal.id}"))

    auth.logout()
    auth.login(fan)
    notes = text(client.get("/notifications"))
    assert "was withdrawn in favour of Proposal 2" in notes
    note = db.session.scalar(sa.select(Notification).where(Notification.user_id == fan.id))
    assert f'action="/proposals/{successor.id}/cosign"' in notes
    response = client.post(
        f"/proposals/{successor.id}/cosign", data={"notification": note.id}, follow_redirects=True
    )
    assert "You co-signed Proposal 2" in text(response)
    db.session.expire_all()
    assert stored_count(db, successor.id) == 2 and active_count(db, successor.id) == 1
    assert note.read_at is not None
    # The old co-signature stays on the withdrawn proposal, for the record.
    assert active_count(db, proposal.id) == 1


@pytest.mark.parametrize("successor", ["abc", "999999", "-1"])
def test_withdraw_with_a_bogus_successor_is_a_400(
    client, auth, make_user, make_proposal, successor
):
    author = make_user()
    proposal = make_proposal(author=author)
    auth.login(author)
    response = client.post(
        f"/proposals/{proposal.id}/withdraw",
        data={"reason": "duplicate", "explanation": "x", "successor": successor},
    )
    assert response.status_code == 400


# --- Co-authors ----------------------------------------------------------------------------


def test_invite_accept_and_decline_coauthors(client, auth, db, make_user, make_proposal):
    author, friend = make_user(), make_user("friend", display_name="Good Friend")
    proposal = make_proposal(author=author)
    auth.login(author)
    self_invite = client.post(
        f"/proposals/{proposal.id}/coauthors", data={"username": author.username}
    )
    assert self_invite.status_code == 400 and "cannot invite yourself" in text(self_invite)
    unknown = client.post(f"/proposals/{proposal.id}/coauthors", data={"username": "nobody"})
    assert unknown.status_code == 400 and "nobody" in text(unknown)
    ok = client.post(f"/proposals/{proposal.id}/coauthors", data={"username": "FRIEND"})
    assert ok.status_code == 302
    auth.logout()
    auth.login(friend)
    page = text(client.get(f"/proposals/{proposal.id}"))
    assert "Accept invitation" in page
    client.post(f"/proposals/{proposal.id}/coauthors/accept")
    db.session.expire_all()
    assert stored_count(db, proposal.id) == 2
    assert "Good Friend" in text(client.get(f"/proposals/{proposal.id}"))
    assert client.post(f"/proposals/{proposal.id}/coauthors/decline").status_code == 409


# --- History -----------------------------------------------------------------------------------


def test_supporters_as_of_page(client, auth, db, make_user, make_proposal):
    t0 = datetime(2019, 3, 20, 9, 0)
    proposal = make_proposal(now=t0)
    early = make_user(display_name="Early Bird")
    late = make_user(display_name="Late Comer")
    svc.cosign(proposal, early, now=t0 + timedelta(days=1))
    svc.cosign(proposal, late, now=t0 + timedelta(days=6))
    db.session.commit()
    url = f"/proposals/{proposal.id}/supporters"
    anonymous = text(client.get(f"{url}?at=2019-03-25T12:00"))
    assert "2 supporters" in anonymous and "Early Bird" not in anonymous
    auth.login(make_user())
    html = text(client.get(f"{url}?at=2019-03-22T00:00Z"))
    assert "2 supporters" in html and "22 March 2019" in html
    assert "Early Bird" in html and "Late Comer" not in html
    data = client.get(f"{url}?at=2019-03-26T12:00:00%2B01:00", headers=JSON).get_json()
    assert data["supporter_count"] == 3 and [s["display_name"] for s in data["signers"]] == [
        "Early Bird",
        "Late Comer",
    ]
    assert "did not exist yet" in text(client.get(f"{url}?at=2019-01-01"))
    bad = client.get(f"{url}?at=26th+of+March")
    assert bad.status_code == 400 and "not an ISO-8601" in text(bad)
    assert 'value="26th of March"' in text(bad)


# --- Notifications ----------------------------------------------------------------------------


def test_notifications_mark_read_is_a_post(client, auth, db, make_user):
    from app.services.notifications import notify

    member = make_user()
    first = notify(member, "test", "First news")
    notify(member, "test", "Second news")
    db.session.commit()
    auth.login(member)
    page = text(client.get("/notifications"))
    assert "First news" in page and "Second news" in page
    assert '<span class="badge" aria-label="2 unread">2</span>' in page
    client.post("/notifications/read", data={"id": first.id})
    assert 'aria-label="1 unread"' in text(client.get("/notifications"))
    # An id no column can hold names no notification (not a driver overflow),
    # and neither does text: nothing is marked.
    for absurd in (str(2**63), "abc"):
        assert client.post("/notifications/read", data={"id": absurd}).status_code == 302
        assert 'aria-label="1 unread"' in text(client.get("/notifications"))
    client.post("/notifications/read")
    assert "unread" not in text(client.get("/notifications")).split("<main")[0]
    assert client.get("/notifications", headers=JSON).get_json()["notifications"][0]["read"]


# --- Admin -------------------------------------------------------------------------------------


def test_admin_opens_closes_and_decides(client, auth, db, make_user, make_proposal):
    admin = make_user(role=Role.admin)
    auth.login(admin)
    bad = client.post("/rounds/new", data={"title": "", "threshold": "many"})
    assert bad.status_code == 400 and "Give the round a title." in text(bad)
    response = client.post(
        "/rounds/new",
        data={"title": "Spring round", "threshold": "50", "cosign_deadline": "2030-01-01T12:00"},
    )
    assert response.status_code == 302 and response.headers["Location"] == "/rounds/spring-round"
    round_ = svc.get_round("spring-round")
    proposal = make_proposal(round=round_)
    decided = client.post(
        f"/proposals/{proposal.id}/decide", data={"outcome": "adopted", "merged_into": "0"}
    )
    assert decided.status_code == 302
    assert "Adopted" in text(client.get(f"/proposals/{proposal.id}"))
    client.post("/rounds/spring-round/close")
    db.session.expire_all()
    assert not round_.is_open
    assert "Closed (read-only)" in text(client.get("/rounds/spring-round"))


def test_commenting_on_a_proposal_returns_to_the_proposal_page(
    client, auth, make_user, make_proposal
):
    proposal = make_proposal(title="Discuss me")
    auth.login(make_user())
    response = client.post(
        f"/threads/{proposal.thread_id}/comments", data={"body": "I back this, with changes."}
    )
    assert response.status_code == 302
    assert response.headers["Location"].startswith(f"/proposals/{proposal.id}")
    assert "#comment-" in response.headers["Location"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "I back this, with changes." in page


def test_a_stale_form_keeps_what_was_typed(client, auth, make_user, make_proposal, db):
    """The proposal was withdrawn (in another tab) while its author typed an edit."""
    author = make_user()
    proposal = make_proposal(author=author, title="First title", body="First text")
    auth.login(author)
    assert client.get(f"/proposals/{proposal.id}/edit").status_code == 200
    response = client.post(
        f"/proposals/{proposal.id}/withdraw",
        data={"reason": "other", "explanation": "Changed my mind", "successor": "0"},
    )
    assert response.status_code == 302
    response = client.post(
        f"/proposals/{proposal.id}/edit",
        data={"title": "A better title", "body": "Words I spent an hour on"},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Words I spent an hour on" in page and 'value="A better title"' in page
    response = client.post(
        f"/proposals/{proposal.id}/withdraw",
        data={"reason": "other", "explanation": "Typed twice", "successor": "0"},
    )
    assert response.status_code == 409
    assert "Typed twice" in response.get_data(as_text=True)


@pytest.mark.parametrize(("role", "shown"), [(Role.admin, True), (Role.moderator, False)])
def test_only_an_admin_sees_the_close_round_button(
    client, auth, make_user, make_round, role, shown
):
    round_ = make_round()
    auth.login(make_user(role=role))
    assert ("Close this round" in text(client.get(f"/rounds/{round_.slug}"))) is shown
