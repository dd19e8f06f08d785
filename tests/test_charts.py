"""The supporters chart and the support bars: numbers from the event log, SVG the CSP allows."""

import re
from datetime import date, datetime

from app.charts import nice_ceiling, support_chart
from app.services import charts
from app.services import proposals as svc

DAY1, DAY2, DAY4 = (
    datetime(2019, 3, 15, 10),
    datetime(2019, 3, 16, 23, 59),
    datetime(2019, 3, 18, 8),
)


def test_history_counts_supporters_at_the_end_of_each_day(
    db, make_round, make_proposal, make_user, cosign_as
):
    proposal = make_proposal(round=make_round(threshold=3), now=DAY1)
    a, b, c = make_user(), make_user(), make_user()
    cosign_as(proposal, a, b, now=DAY1)
    cosign_as(proposal, c, now=DAY2)
    svc.uncosign(proposal, a, now=DAY4)
    db.session.commit()

    history = charts.support_history(proposal)

    assert [(p.day, p.supporters) for p in history] == [
        (date(2019, 3, 15), 3),  # the author and two co-signers
        (date(2019, 3, 16), 4),
        (date(2019, 3, 18), 3),
    ]
    assert history[-1].supporters == proposal.supporter_count


def test_history_of_an_unsigned_proposal_is_its_author(make_proposal):
    proposal = make_proposal(now=DAY1)
    assert [(p.day, p.supporters) for p in charts.support_history(proposal)] == [
        (date(2019, 3, 15), 1)
    ]


def test_history_is_one_query_whatever_the_events(
    db, make_proposal, make_user, cosign_as, query_counter
):
    proposal = make_proposal(now=DAY1)
    for when in (DAY1, DAY2, DAY4):
        cosign_as(proposal, make_user(), make_user(), now=when)
    db.session.refresh(proposal)  # loaded, as the page has it
    with query_counter() as counted:
        history = charts.support_history(proposal)
    assert history[-1].supporters == 7
    assert counted.count == 1


def test_leader_count_is_the_round_maximum(make_round, make_proposal, make_user, cosign_as):
    round_ = make_round()
    assert charts.leader_count(round_) == 0
    first, second = make_proposal(round=round_), make_proposal(round=round_)
    cosign_as(second, make_user(), make_user())
    assert charts.leader_count(round_) == 3
    assert first.supporter_count == 1


def test_chart_is_an_image_with_title_desc_and_a_table_and_no_style():
    history = [charts.DayCount(date(2019, 3, 15), 1), charts.DayCount(date(2019, 3, 26), 113)]
    markup = str(support_chart(history, threshold=100))
    assert 'role="img"' in markup
    assert "<title" in markup and "<desc" in markup
    assert "1 on 15 Mar 2019, 113 on 26 Mar 2019." in markup
    assert "threshold 100" in markup
    assert "<table>" in markup and "<td>113</td>" in markup
    assert "style=" not in markup and "<script" not in markup
    # The line climbs to the top right: 113 of a 150 axis.
    assert nice_ceiling(113) == (150, 50)
    assert re.search(r'<circle class="chart-dot" cx="308" cy="[\d.]+"', markup)


def test_round_page_draws_bars_against_the_leader(
    client, make_round, make_proposal, make_user, cosign_as
):
    round_ = make_round(threshold=4)
    leader, other = make_proposal(round=round_, title="Leader"), make_proposal(round=round_)
    cosign_as(leader, *(make_user() for _ in range(7)))  # 8 supporters
    cosign_as(other, make_user())  # 2 supporters
    html = client.get(f"/rounds/{round_.slug}").get_data(as_text=True)
    widths = re.findall(r'class="bar-fill[^"]*" x="0" y="0" width="([\d.]+)"', html)
    assert widths == ["100.0", "25.0"]
    assert re.findall(r'class="bar-threshold" x1="([\d.]+)"', html) == ["50.0", "50.0"]
    assert "style=" not in html


def test_proposal_page_shows_the_chart(client, make_proposal, make_user, cosign_as):
    proposal = make_proposal(now=DAY1)
    cosign_as(proposal, make_user(), now=DAY2)
    html = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert "Supporters over time" in html
    assert 'class="chart"' in html and "1 on 15 Mar 2019, 2 on 16 Mar 2019." in html
