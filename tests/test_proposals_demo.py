"""`flask seed --demo`: the round that mirrors the seed case, once."""

import re
from datetime import datetime

import sqlalchemy as sa

from app.extensions import db as _db
from app.models import Proposal, ProposalState, User
from app.seeding.demo import DEMO_SLUG, LEADING_BODY
from app.services import proposals as svc

JSON = {"Accept": "application/json"}


def row_counts() -> dict[str, int]:
    with _db.engine.connect() as conn:
        return {
            table.name: conn.scalar(sa.select(sa.func.count()).select_from(table))
            for table in _db.metadata.sorted_tables
        }


def test_seed_demo_on_a_fresh_database_then_again(app, db, client):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    assert "Demo round “The way forward after the 2019 convention” created" in result.output
    assert "with 113 supporters" in result.output

    html = client.get(f"/rounds/{DEMO_SLUG}").get_data(as_text=True)
    assert "28 proposals, 19 withdrawn" in html
    data = client.get(f"/rounds/{DEMO_SLUG}", headers=JSON).get_json()
    leading = data["proposals"][0]  # sorted by supporters
    assert leading["supporter_count"] == 113
    page = client.get(leading["url"]).get_data(as_text=True)
    assert re.search(r"<strong data-supporter-count>113</strong>\s*<span[^>]*>supporters", page)
    assert "Develop a process for dissolving the ISO." in page
    assert "Supporters (113)" in page

    before = row_counts()
    again = runner.invoke(args=["seed", "--demo"])
    assert again.exit_code == 0, again.output
    assert "nothing changed" in again.output
    assert row_counts() == before


def test_demo_round_mirrors_the_case(app, db):
    from app.seeding.demo import seed_demo

    report = seed_demo()
    round_ = svc.get_round(DEMO_SLUG)
    proposals = db.session.scalars(sa.select(Proposal).where(Proposal.round_id == round_.id)).all()
    assert len(proposals) == 28
    withdrawn = [p for p in proposals if p.state == ProposalState.withdrawn]
    assert len(withdrawn) > len(proposals) / 2
    assert sum(1 for p in withdrawn if p.successor_id) >= 3
    first = min(p.created_at for p in proposals)
    last = max(p.created_at for p in proposals)
    assert datetime(2019, 3, 15) <= first and last < datetime(2019, 3, 26, 12, 0)
    assert (last.date() - first.date()).days <= 11
    lead = max(proposals, key=lambda p: p.supporter_count)
    assert lead.body == LEADING_BODY.strip() and lead.supporter_count == 113
    assert svc.supporters_as_of(lead, datetime(2019, 3, 26, 12, 0)).count == 113
    assert svc.supporters_as_of(lead, datetime(2019, 3, 20, 12, 0)).count < 113
    people = {p.author_id for p in proposals}
    users = db.session.scalars(sa.select(User).where(User.id.in_(people))).all()
    assert users and all(u.is_demo for u in users)
    # One shared hash of a random secret: nobody can sign in as a demo member.
    hashes = set(db.session.scalars(sa.select(User.password_hash).where(User.is_demo)))
    assert len(hashes) == 1 and not users[0].check_password("")
    assert report.created and not seed_demo().created
