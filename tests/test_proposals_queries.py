"""The round page and the proposal page run as many SQL queries for 1,000 rows as for 10."""

import pytest
import sqlalchemy as sa

from app.models import Proposal, ProposalState, Role, User, WithdrawalReason
from app.services import proposals as svc


def build(db, make_round, make_user, bulk_users, bulk_supporters, size: int):
    """A round of `size` proposals by as many authors (a third withdrawn, in favour of
    the first) and a leading proposal with `size` co-signers, one of them `fan`."""
    round_ = make_round(threshold=size // 2)
    author = make_user()
    others = db.session.scalars(sa.select(User).where(User.id.in_(bulk_users(size)))).all()
    authors = [author, *others]
    proposals = [
        svc.submit_proposal(round_, authors[i], f"Proposal title {i}", f"Text {i}")
        for i in range(size)
    ]
    db.session.commit()
    lead = proposals[0]
    ids = [p.id for p in proposals[1::3]]
    db.session.execute(
        sa.update(Proposal)
        .where(Proposal.id.in_(ids))
        .values(state=ProposalState.withdrawn, successor_id=lead.id)
    )
    db.session.commit()
    bulk_supporters(lead, size - 1)
    fan = make_user()
    svc.cosign(lead, fan)
    db.session.commit()
    return round_, lead, author, fan


def count_queries(client, query_counter, url) -> int:
    client.get(url)  # warm: first-request work (e.g. template compiling) is not counted
    with query_counter() as counted:
        response = client.get(url)
    assert response.status_code == 200
    return counted.count


def test_pages_run_the_same_queries_for_10_and_1000_rows(
    app, db, client, auth, make_round, make_user, bulk_users, bulk_supporters, query_counter
):
    """As a visitor, a member who co-signed and the author (one data set for the three)."""
    small = build(db, make_round, make_user, bulk_users, bulk_supporters, 10)
    big = build(db, make_round, make_user, bulk_users, bulk_supporters, 1000)
    for viewer in ("visitor", "member", "author"):
        counts = {}
        for name, (round_, lead, author, fan) in (("small", small), ("big", big)):
            auth.logout()
            if viewer == "member":
                auth.login(fan)
            elif viewer == "author":
                auth.login(author)
            counts[name] = (
                count_queries(client, query_counter, f"/rounds/{round_.slug}"),
                count_queries(client, query_counter, f"/rounds/{round_.slug}?state=withdrawn"),
                count_queries(client, query_counter, f"/proposals/{lead.id}"),
                count_queries(
                    client, query_counter, f"/proposals/{lead.id}/supporters?at=2100-01-01"
                ),
            )
        assert counts["small"] == counts["big"], (viewer, counts)
    # And the pages are not trivially empty: the big lead shows its supporters.
    assert big[1].supporter_count == 1000 + 1


@pytest.mark.parametrize("viewer", ["visitor", "member", "moderator"])
def test_a_proposal_page_reads_what_it_shows_the_viewer_with_the_proposal(
    app, db, client, auth, make_round, make_user, make_proposal, query_counter, monkeypatch, viewer
):
    """The viewer's co-signature and the predecessors come in the proposal's own statement,
    and both follow buttons' states in one more: a hidden predecessor stays unnamed to
    anyone but a moderator."""
    round_ = make_round()
    lead = make_proposal(round=round_, title="The lead")
    shown, hidden = (make_proposal(round=round_, title=t) for t in ("Shown", "Hidden"))
    for p in (shown, hidden):
        svc.withdraw_proposal(p, p.author, WithdrawalReason.other, "In favour.", successor=lead)
    hidden.is_hidden = True
    db.session.commit()
    user = make_user(role=Role.moderator if viewer == "moderator" else Role.member)
    if viewer != "visitor":
        svc.cosign(lead, user)
        db.session.commit()
        auth.login(user)
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)  # a visitor's page is built
    count = count_queries(client, query_counter, f"/proposals/{lead.id}")
    html = client.get(f"/proposals/{lead.id}").get_data(as_text=True)
    # A member's: their own row (every request of theirs reads it), the proposal with
    # what it shows them, the follow buttons. (A moderator's page also asks what its
    # moderation controls need: recusal.)
    assert count == {"visitor": 1, "member": 3}.get(viewer, count)
    assert f"/proposals/{shown.id}\"" in html
    assert (f"/proposals/{hidden.id}\"" in html) == (viewer == "moderator")
    assert ("You co-signed on" in html) == (viewer != "visitor")


def test_a_round_page_reads_the_round_and_its_counts_in_one_statement(
    app, db, client, auth, make_round, make_user, make_proposal, query_counter, monkeypatch
):
    """The round's row and its proposals' counts by state come together (they were two
    statements), also for a round with no proposals yet."""
    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)  # a visitor's page is built
    empty, busy = make_round(title="Empty round"), make_round(title="Busy round")
    kept, gone = make_proposal(round=busy), make_proposal(round=busy)
    svc.withdraw_proposal(gone, gone.author, WithdrawalReason.other, "In favour.", successor=kept)
    db.session.commit()
    slugs = {empty.slug: "0 proposals, 0 withdrawn", busy.slug: "2 proposals, 1 withdrawn"}
    for signed_in in (False, True):
        if signed_in:
            auth.login(make_user())
        for slug, shown in slugs.items():
            db.session.remove()
            with query_counter() as counted:
                html = client.get(f"/rounds/{slug}").get_data(as_text=True)
            assert shown in " ".join(html.split()), (slug, signed_in)
            rounds = [s for s in counted.statements if "FROM rounds" in " ".join(s.split())]
            assert len(rounds) == 1 and "count(" in rounds[0].lower(), counted.statements
            grouped = [s for s in counted.statements if "GROUP BY" in s]
            assert grouped == rounds, counted.statements
    assert client.get("/rounds/no-such-round").status_code == 404
