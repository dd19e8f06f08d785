"""The round page and the proposal page run as many SQL queries for 1,000 rows as for 10."""

import pytest
import sqlalchemy as sa

from app.models import Proposal, ProposalState, User
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


@pytest.mark.parametrize("viewer", ["visitor", "member", "author"])
def test_pages_run_the_same_queries_for_10_and_1000_rows(
    app, db, client, auth, make_round, make_user, bulk_users, bulk_supporters, query_counter, viewer
):
    small = build(db, make_round, make_user, bulk_users, bulk_supporters, 10)
    big = build(db, make_round, make_user, bulk_users, bulk_supporters, 1000)
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
            count_queries(client, query_counter, f"/proposals/{lead.id}/supporters?at=2100-01-01"),
        )
    assert counts["small"] == counts["big"], counts
    # And the pages are not trivially empty: the big lead shows its supporters.
    assert big[1].supporter_count == 1000 + 1
