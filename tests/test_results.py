"""Issue #19: a round's result frozen at the end of co-signing, its standing before, CSVs."""

import csv
import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from app.csvexport import safe_cell
from app.models import ModerationAction, Notification, Role
from app.seeding.demo import DEMO_SLUG, LEADING_NUMBER, LEADING_SUPPORTERS, seed_demo
from app.services import proposals as svc
from app.services import results as results_svc
from app.timeutil import utcnow

JSON = {"Accept": "application/json"}


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.status_code
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:], newline="")))


# --- The demo round, closed by an admin ------------------------------------------


def test_demo_round_closed_by_an_admin_freezes_its_result(app, db, client, auth, make_user):
    seed_demo()
    admin = make_user("ada", role=Role.admin)
    member = make_user("mia")
    round_ = svc.get_round(DEMO_SLUG)
    before = client.get(f"/rounds/{DEMO_SLUG}/results", headers=JSON).get_json()
    assert before["provisional"] is True and before["final"] is False

    auth.login(admin)
    assert client.post(f"/rounds/{DEMO_SLUG}/close", data={}).status_code == 302
    db.session.expire_all()
    closed_at = svc.get_round(DEMO_SLUG).closed_at
    assert closed_at is not None

    data = client.get(f"/rounds/{DEMO_SLUG}/results", headers=JSON).get_json()
    assert data["final"] is True and data["provisional"] is False
    assert data["as_of"] == closed_at.isoformat() + "Z"
    assert len(data["proposals"]) == 28
    lead = data["proposals"][0]
    assert (lead["number"], lead["supporters_at"]) == (LEADING_NUMBER, LEADING_SUPPORTERS)
    assert data["to_floor"][0] == LEADING_NUMBER  # no threshold: every standing one
    withdrawn = [p for p in data["proposals"] if p["state_at"] == "withdrawn"]
    assert len(withdrawn) == 19
    assert sum(1 for p in withdrawn if p["successors"]) >= 3
    assert data["participants"] > LEADING_SUPPORTERS

    html = client.get(f"/rounds/{DEMO_SLUG}/results").get_data(as_text=True)
    assert "data-result-final" in html and "when an admin closed the round" in html
    rows = read_csv(client.get(f"/rounds/{DEMO_SLUG}/results.csv"))
    assert len(rows) == 28
    assert rows[0]["number"] == str(LEADING_NUMBER) and rows[0]["supporters"] == "113"
    assert rows[0]["to_floor"] == "yes" and rows[0]["final"] == "yes"

    # A co-sign after the deadline is refused and changes nothing.
    lead_proposal = next(p for p in svc.round_page(round_, "number", ["open"], 1, False)
                         if p.number == LEADING_NUMBER)  # fmt: skip
    auth.logout()
    auth.login(member)
    response = client.post(f"/proposals/{lead_proposal.id}/cosign", headers=JSON)
    assert response.status_code == 409
    again = client.get(f"/rounds/{DEMO_SLUG}/results", headers=JSON).get_json()
    assert again["proposals"] == data["proposals"] and again["as_of"] == data["as_of"]


def test_results_page_runs_a_fixed_number_of_queries(
    app, db, client, make_round, make_proposal, make_user, cosign_as, query_counter
):
    def build(n):
        round_ = make_round(threshold=2)
        for i in range(n):
            p = make_proposal(round=round_)
            cosign_as(p, *[make_user() for _ in range(i % 3)])
            if i % 4 == 3:
                svc.withdraw_proposal(p, p.author, "other", "Gone.")
                db.session.commit()
        return f"/rounds/{round_.slug}/results"

    counts = []
    for url in (build(2), build(12)):
        client.get(url)
        db.session.remove()
        with query_counter() as counted:
            assert client.get(url).status_code == 200
        counts.append(counted.count)
    assert counts[0] == counts[1], counts


# --- A deadline passing with nobody acting ------------------------------------------


def test_result_is_frozen_at_the_deadline_without_any_job(
    app, db, client, make_round, make_proposal, make_user
):
    start = datetime(2024, 5, 1, 9, 0)
    deadline = datetime(2024, 5, 10, 18, 0)
    round_ = make_round(threshold=3, cosign_deadline=deadline, created_at=start)
    a = make_proposal(round=round_, now=start)
    b = make_proposal(round=round_, now=start + timedelta(hours=1))
    early, late, leaver = make_user(), make_user(), make_user()
    svc.cosign(a, early, now=start + timedelta(days=1))
    svc.cosign(a, leaver, now=start + timedelta(days=2))
    svc.cosign(b, early, now=start + timedelta(days=2))
    # At the very deadline it still counts (the deadline is inclusive).
    svc.cosign(a, late, now=deadline)
    svc.uncosign(b, early, now=deadline - timedelta(minutes=1))
    db.session.commit()

    # The standing just before the deadline is provisional and counts up to then.
    standing = results_svc.round_result(round_, now=deadline - timedelta(hours=1))
    assert not standing.final
    assert {r.proposal.number: r.supporters for r in standing.rows} == {1: 3, 2: 2}

    # Long after, with nobody having closed the round: frozen at the deadline.
    db.session.add_all([])
    result = results_svc.round_result(round_, now=deadline + timedelta(days=400))
    assert result.final and result.as_of == deadline
    assert {r.proposal.number: r.supporters for r in result.rows} == {1: 4, 2: 1}
    assert [r.proposal.number for r in result.floor] == [1]
    assert result.participants == 5 and result.supporters == 5

    # Events written after the deadline (directly, as no service allows it) do not count.
    from app.models import CosignEvent, CosignEventKind

    db.session.add(
        CosignEvent(
            proposal_id=b.id, user_id=late.id, kind=CosignEventKind.sign,
            at=deadline + timedelta(seconds=1),
        )
    )  # fmt: skip
    db.session.commit()
    data = client.get(f"/rounds/{round_.slug}/results", headers=JSON).get_json()
    assert data["final"] is True and data["as_of"] == "2024-05-10T18:00:00Z"
    assert {p["number"]: p["supporters_at"] for p in data["proposals"]} == {1: 4, 2: 1}
    assert data["to_floor"] == [1]
    # And the round still says open: nobody needed to act.
    assert data["round"]["state"] == "open"


def test_co_signing_after_the_deadline_is_refused(app, db, make_round, make_proposal, make_user):
    round_ = make_round(cosign_deadline=utcnow() - timedelta(minutes=1))
    proposal = make_proposal(round=round_)
    from app.errors import InvalidState

    with pytest.raises(InvalidState):
        svc.cosign(proposal, make_user())


def test_standing_before_the_deadline_is_provisional(
    app, db, client, make_round, make_proposal, make_user, cosign_as
):
    round_ = make_round(threshold=2, cosign_deadline=utcnow() + timedelta(days=3))
    p = make_proposal(round=round_)
    cosign_as(p, make_user())
    data = client.get(f"/rounds/{round_.slug}/results", headers=JSON).get_json()
    assert data["provisional"] is True
    assert data["proposals"][0]["supporters_at"] == 2 and data["to_floor"] == [p.number]
    html = client.get(f"/rounds/{round_.slug}/results").get_data(as_text=True)
    assert "Provisional:" in html and "Would go to the floor (1)" in html


def test_withdrawn_chain_follows_successors(app, db, make_round, make_proposal):
    round_ = make_round()
    one, two, three = (make_proposal(round=round_) for _ in range(3))
    svc.withdraw_proposal(one, one.author, "duplicate", "See two.", successor=two)
    svc.withdraw_proposal(two, two.author, "merged", "Into three.", successor=three)
    db.session.commit()
    result = results_svc.round_result(round_)
    chains = {r.proposal.number: [s.number for s in r.successors] for r in result.withdrawn}
    assert chains == {one.number: [two.number, three.number], two.number: [three.number]}
    assert [r.proposal.number for r in result.floor] == [three.number]


def test_closing_before_the_deadline_freezes_at_the_close(app, db, make_round, make_proposal,
                                                          make_user):  # fmt: skip
    round_ = make_round(cosign_deadline=utcnow() + timedelta(days=10))
    proposal = make_proposal(round=round_)
    admin = make_user(role=Role.admin)
    closed = utcnow()
    svc.close_round(round_, admin, now=closed)
    db.session.commit()
    assert results_svc.frozen_at(round_) == closed
    result = results_svc.round_result(round_)
    assert result.final and result.as_of == closed and result.rows[0].proposal.id == proposal.id


# --- CSV -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("Zoë", "Zoë"),
        ("a=b", "a=b"),
        (7, "7"),
        (None, ""),
        (True, "yes"),
    ],
)
def test_safe_cell_neutralises_formulas(value, cell):
    assert safe_cell(value) == cell


def test_supporters_csv_quotes_names_and_neutralises_formulas(
    app, db, client, auth, make_round, make_proposal, make_user, cosign_as
):
    author = make_user("author1", display_name="Åsa, “the author”")
    proposal = make_proposal(author=author)
    evil = make_user("evil", display_name='=HYPERLINK("http://evil.example","x")')
    quoted = make_user("quoted", display_name='Say "hi", then\nleave')
    tab = make_user("tabby", display_name="\t@tab")
    cosign_as(proposal, evil, quoted, tab)
    reader = make_user("reader")
    auth.login(reader)
    response = client.get(f"/proposals/{proposal.id}/supporters.csv")
    rows = read_csv(response)
    names = [r["display_name"] for r in rows]
    assert names == [
        "Åsa, “the author”",
        '\'=HYPERLINK("http://evil.example","x")',
        'Say "hi", then\nleave',
        "'\t@tab",
    ]
    assert [r["role"] for r in rows] == ["author", "co-signer", "co-signer", "co-signer"]
    raw = response.data.decode("utf-8")
    assert '"Say ""hi"", then\nleave"' in raw  # quoted, inner quotes doubled
    assert "\r\n" in raw


def test_supporters_csv_as_of_a_moment(app, db, client, auth, make_proposal, make_user):
    start = datetime(2024, 1, 1, 12, 0)
    proposal = make_proposal(now=start)
    first, second = make_user(), make_user()
    svc.cosign(proposal, first, now=start + timedelta(days=1))
    svc.cosign(proposal, second, now=start + timedelta(days=3))
    db.session.commit()
    auth.login(make_user())
    rows = read_csv(client.get(f"/proposals/{proposal.id}/supporters.csv?at=2024-01-03"))
    assert [r["username"] for r in rows] == [proposal.author.username, first.username]
    assert rows[1]["signed_at"] == "2024-01-02T12:00:00Z"
    before = read_csv(client.get(f"/proposals/{proposal.id}/supporters.csv?at=2023-12-31"))
    assert before == []
    bad = client.get(f"/proposals/{proposal.id}/supporters.csv?at=yesterday")
    assert bad.status_code == 400


def test_csv_exports_follow_the_visibility_rule(
    app, db, client, auth, make_round, make_proposal, make_user, cosign_as
):
    round_ = make_round()
    shown = make_proposal(round=round_, title="A shown proposal")
    hidden = make_proposal(round=round_, title="A secret title")
    cosign_as(hidden, make_user())
    hidden.is_hidden, hidden.hidden_reason = True, "Spam"
    db.session.commit()

    # Visitors: the names are for members.
    for url in (f"/rounds/{round_.slug}/results.csv", f"/proposals/{shown.id}/supporters.csv"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]

    auth.login(make_user("member1"))
    rows = read_csv(client.get(f"/rounds/{round_.slug}/results.csv"))
    by_number = {r["number"]: r for r in rows}
    assert by_number[str(hidden.number)]["title"] == "(hidden by a moderator)"
    assert by_number[str(hidden.number)]["author"] == ""
    assert by_number[str(hidden.number)]["supporters"] == "2"
    assert by_number[str(shown.number)]["title"] == "A shown proposal"
    assert "A secret title" not in client.get(f"/rounds/{round_.slug}/results").get_data(
        as_text=True
    )
    assert client.get(f"/proposals/{hidden.id}/supporters.csv").status_code == 403
    auth.logout()

    auth.login(make_user("mod1", role=Role.moderator))
    rows = read_csv(client.get(f"/rounds/{round_.slug}/results.csv"))
    assert {r["title"] for r in rows} == {"A shown proposal", "A secret title"}
    assert len(read_csv(client.get(f"/proposals/{hidden.id}/supporters.csv"))) == 2


# --- Round settings ---------------------------------------------------------------------


def _settings(round_, **changes):
    data = {
        "title": round_.title,
        "description": round_.description,
        "submission_deadline": "",
        "cosign_deadline": "",
        "threshold": "" if round_.threshold is None else str(round_.threshold),
        "reason": "Agreed at the steering meeting.",
    }
    data.update(changes)
    return data


def test_admin_changes_settings_logged_and_participants_told(
    app, db, client, auth, make_round, make_proposal, make_user, cosign_as
):
    round_ = make_round(threshold=10)
    proposal = make_proposal(round=round_)
    signer, bystander = make_user(), make_user()
    cosign_as(proposal, signer)
    admin = make_user(role=Role.admin)
    auth.login(admin)
    assert client.get(f"/rounds/{round_.slug}/settings").status_code == 200
    future = (utcnow() + timedelta(days=5)).replace(second=0, microsecond=0)
    response = client.post(
        f"/rounds/{round_.slug}/settings",
        data=_settings(round_, threshold="25", cosign_deadline=future.strftime("%Y-%m-%dT%H:%M")),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert round_.threshold == 25 and round_.cosign_deadline == future
    lines = db.session.scalars(sa.select(ModerationAction).order_by(ModerationAction.id)).all()
    assert [(e.action, e.target_type, e.details) for e in lines] == [
        ("change_round", "round", f"co-signing deadline: none -> {future:%Y-%m-%d %H:%M} UTC"),
        ("change_round", "round", "threshold: 10 -> 25"),
    ]
    assert all(e.reason == "Agreed at the steering meeting." for e in lines)
    told = set(db.session.scalars(
        sa.select(Notification.user_id).where(Notification.kind == "round_changed")
    ))  # fmt: skip
    assert told == {proposal.author_id, signer.id}
    assert bystander.id not in told
    log = client.get("/moderation/log").get_data(as_text=True)
    assert "changed a round&#39;s settings" in log and "threshold: 10 -&gt; 25" in log


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"threshold": "-3"}, "at least 1"),
        ({"threshold": "many"}, "Not a valid integer"),
        ({"cosign_deadline": "2020-01-01T10:00"}, "must be in the future"),
        ({"cosign_deadline": "tomorrow"}, "Not a valid datetime"),
        ({"reason": ""}, "Give a reason"),
        ({}, "Nothing changed"),
        ({"title": ""}, "Give the round a title"),
    ],
)
def test_bad_settings_keep_what_was_typed(app, db, client, auth, make_round, make_user,
                                          changes, message):  # fmt: skip
    round_ = make_round(threshold=10)
    auth.login(make_user(role=Role.admin))
    data = _settings(round_, description="Typed description stays", **changes)
    if not changes:
        data["description"] = round_.description
    response = client.post(f"/rounds/{round_.slug}/settings", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400, html
    assert message in html
    for value in changes.values():
        if value:
            assert f'value="{value}"' in html or value in html
    db.session.expire_all()
    assert round_.threshold == 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ModerationAction)) == 0


def test_deadline_and_threshold_frozen_after_co_signing_ended(app, db, make_round, make_user):
    from app.errors import ValidationError
    from app.services.rounds import update_round

    passed = utcnow() - timedelta(hours=1)
    round_ = make_round(threshold=5, cosign_deadline=passed)
    admin = make_user(role=Role.admin)
    common = dict(title=round_.title, description=round_.description,
                  submission_deadline=None, cosign_deadline=passed)  # fmt: skip
    with pytest.raises(ValidationError, match="can no longer change"):
        update_round(round_, admin, "Late change", threshold=3, **common)
    db.session.rollback()
    # The title may still be corrected.
    update_round(round_, admin, "Typo", threshold=5, **{**common, "title": "Better title"})
    db.session.commit()
    assert round_.title == "Better title"


def test_closed_round_settings_refused(app, db, client, auth, make_round, make_user):
    round_ = make_round(threshold=5)
    admin = make_user(role=Role.admin)
    svc.close_round(round_, admin)
    db.session.commit()
    auth.login(admin)
    assert "can no longer change" in client.get(f"/rounds/{round_.slug}/settings").get_data(
        as_text=True
    )
    response = client.post(f"/rounds/{round_.slug}/settings", data=_settings(round_, threshold="6"))
    assert response.status_code == 409


def test_a_deadline_sent_back_unchanged_is_no_change(app, db, client, auth, make_round, make_user):
    deadline = (utcnow() + timedelta(days=2)).replace(second=42)
    round_ = make_round(threshold=5, cosign_deadline=deadline)
    old_title = round_.title
    auth.login(make_user(role=Role.admin))
    page = client.get(f"/rounds/{round_.slug}/settings").get_data(as_text=True)
    assert f'value="{deadline:%Y-%m-%dT%H:%M}"' in page
    data = _settings(round_, title="A clearer title",
                     cosign_deadline=f"{deadline:%Y-%m-%dT%H:%M}")  # fmt: skip
    assert client.post(f"/rounds/{round_.slug}/settings", data=data).status_code == 302
    db.session.expire_all()
    assert round_.cosign_deadline == deadline and round_.title == "A clearer title"
    details = db.session.scalars(sa.select(ModerationAction.details)).all()
    assert details == [f"title: {old_title} -> A clearer title"]


def test_supporters_page_links_its_csv_with_the_same_moment(
    app, db, client, auth, make_proposal, make_user
):
    proposal = make_proposal()
    auth.login(make_user())
    page = client.get(f"/proposals/{proposal.id}/supporters?at=2030-01-02").get_data(as_text=True)
    link = f"/proposals/{proposal.id}/supporters.csv?at=2030-01-02"
    assert f'href="{link}"' in page
    assert len(read_csv(client.get(link))) == 1
    bad = client.get(f"/proposals/{proposal.id}/supporters?at=nonsense").get_data(as_text=True)
    assert f'href="/proposals/{proposal.id}/supporters.csv"' in bad
