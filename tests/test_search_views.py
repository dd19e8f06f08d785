"""/search, the header box, the submit form's similar proposals, and the CLI: wiring."""

import re

import pytest
import sqlalchemy as sa

from app.models import CommentStatus, Proposal, Role
from app.services import moderation as mod_svc

JSON = {"Accept": "application/json"}


def test_search_page_without_a_query_shows_the_form(client):
    response = client.get("/search")
    assert response.status_code == 200
    assert b'id="search-q"' in response.data
    assert b"No results" not in response.data


def test_header_box_on_every_page_is_labelled(client):
    html = client.get("/").get_data(as_text=True)
    form = re.search(r'<form class="site-search" role="search".*?</form>', html, re.S).group(0)
    assert 'action="/search"' in form
    assert '<label for="site-search-q"' in form and 'id="site-search-q"' in form


def test_results_link_to_each_kind(client, make_proposal, make_comment, make_article):
    proposal = make_proposal(title="Moorland walks")
    comment = make_comment(body="Moorland is lovely")
    article = make_article(title="Moorland report")
    html = client.get("/search?q=moorland").get_data(as_text=True)
    assert f'href="/proposals/{proposal.id}"' in html
    assert f'href="/comments/{comment.id}"' in html
    assert f'href="/articles/{article.slug}"' in html
    assert "<mark>Moorland</mark>" in html


def test_json_gives_the_same_results(client, make_proposal, make_comment):
    make_proposal(title="Quarry reuse")
    make_comment(body="The quarry again")
    data = client.get("/search?q=quarry", headers=JSON).get_json()
    html = client.get("/search?q=quarry").get_data(as_text=True)
    assert len(data["results"]) == 2
    for hit in data["results"]:
        assert f'href="{hit["url"]}"' in html
        assert "<mark>" in hit["snippet_html"] or "<mark>" in hit["title_html"]
    assert data["next"] is None and data["query"] == "quarry"


def test_paging_links(client, make_thread, make_comment):
    thread = make_thread()
    for i in range(25):
        make_comment(thread=thread, body=f"Estuary {i}")
    first = client.get("/search?q=estuary&sort=newest", headers=JSON).get_json()
    assert len(first["results"]) == 20 and first["next"]
    second = client.get(first["next"], headers=JSON).get_json()
    assert len(second["results"]) == 5 and second["next"] is None
    assert second["previous"]


def test_filters_from_the_address(client, make_round, make_user, make_proposal):
    alice = make_user("alicesearch")
    r = make_round(slug="harbour-round")
    mine = make_proposal(round=r, author=alice, title="Dredging now")
    make_proposal(title="Dredging later")
    data = client.get(
        "/search?q=dredging&round=harbour-round&author=AliceSearch&kind=proposal&state=open",
        headers=JSON,
    ).get_json()
    assert [h["id"] for h in data["results"]] == [mine.id]
    assert data["filters"]["round"] == "harbour-round"


def test_a_new_comment_is_found_at_once_and_a_hidden_one_is_gone(
    client, auth, make_user, make_article, db
):
    member = make_user()
    moderator = make_user(role=Role.moderator)
    article = make_article()
    auth.login(member)
    client.post(f"/threads/{article.thread_id}/comments", data={"body": "Fresh sandpiper"})
    data = client.get("/search?q=sandpiper", headers=JSON).get_json()
    assert len(data["results"]) == 1
    from app.models import Comment

    comment = db.session.get(Comment, data["results"][0]["id"])
    mod_svc.hide_comment(comment, moderator, "Testing.")
    db.session.commit()
    assert client.get("/search?q=sandpiper", headers=JSON).get_json()["results"] == []


def test_moderator_sees_hidden_results_marked(client, auth, make_user, make_comment):
    moderator = make_user(role=Role.moderator)
    make_comment(body="Pending cormorant", status=CommentStatus.pending)
    assert client.get("/search?q=cormorant", headers=JSON).get_json()["results"] == []
    auth.login(moderator)
    (hit,) = client.get("/search?q=cormorant", headers=JSON).get_json()["results"]
    assert hit["marks"] == ["Comment pending"]
    assert "Comment pending" in client.get("/search?q=cormorant").get_data(as_text=True)


@pytest.mark.parametrize(
    "query",
    [
        "q=",
        'q="',
        "q=NEAR(",
        "q=*",
        "q=-",
        "q=%00%01",
        "q=" + "x" * 5000,
        "q=a&kind=bogus&state=bogus&sort=bogus",
        "q=a&page=0",
        "q=a&page=-3",
        "q=a&page=99999999999999999999",
        "q=a&page=51",
        "q=a&round=nowhere",
        "q=a&author=nobody",
        "q=a&author=%00",
        "q=a&from=2024-01-01&until=2024-12-31",
        "q=%22unbalanced&kind=comment",
    ],
)
def test_odd_input_never_fails(client, make_proposal, query):
    make_proposal(title="A proposal")
    assert client.get(f"/search?{query}").status_code == 200
    assert client.get(f"/search?{query}", headers=JSON).status_code == 200


@pytest.mark.parametrize("value", ["yesterday", "2024-13-01", "2024-1-1", "２０２４-01-01"])
def test_a_malformed_date_is_a_400(client, value):
    assert client.get(f"/search?q=a&from={value}").status_code == 400


def test_unknown_names_say_so(client):
    html = client.get("/search?q=a&author=nobody").get_data(as_text=True)
    assert "No member is called" in html


# --- similar proposals on the submit form -------------------------------------------------


def test_similar_endpoint_lists_open_proposals_of_the_round(client, make_round, make_proposal):
    r = make_round()
    p = make_proposal(round=r, title="Weekly newsletter for members")
    make_proposal(title="Weekly newsletter elsewhere")
    data = client.get(f"/rounds/{r.slug}/similar?title=a+newsletter", headers=JSON).get_json()
    (found,) = data["proposals"]
    assert found["id"] == p.id and found["number"] == p.number and found["title"] == p.title
    assert found["supporter_count"] == 1 and found["url"] == f"/proposals/{p.id}"
    assert client.get("/rounds/nowhere/similar?title=x").status_code == 404


def test_preview_shows_similar_proposals_and_creates_nothing(
    client, auth, make_user, make_round, make_proposal, db
):
    r = make_round()
    existing = make_proposal(round=r, title="Regional assemblies every month")
    auth.login(make_user())
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Proposal))
    response = client.post(
        f"/rounds/{r.slug}/new",
        data={"title": "Monthly regional assemblies", "body": "Meet *often*.", "preview": "1"},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert f'href="/proposals/{existing.id}"' in html and "1 supporter" in html
    assert "<em>often</em>" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == before
    # Nothing is blocked: submitting the same text creates it.
    response = client.post(
        f"/rounds/{r.slug}/new",
        data={"title": "Monthly regional assemblies", "body": "Meet *often*.", "submit": "1"},
    )
    assert response.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Proposal)) == before + 1


def test_submit_page_wires_the_similar_script(client, auth, make_user, make_round):
    r = make_round()
    auth.login(make_user())
    html = client.get(f"/rounds/{r.slug}/new").get_data(as_text=True)
    assert "js/similar.js" in html and f'data-similar-url="/rounds/{r.slug}/similar"' in html


# --- the command line -------------------------------------------------------------------------


def test_flask_search_reindex(app, make_proposal):
    make_proposal(title="Reindexed words")
    result = app.test_cli_runner().invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "matches the rows" in result.output


def test_flask_search_check(app, make_proposal):
    make_proposal(title="Checked words")
    result = app.test_cli_runner().invoke(args=["search", "check"])
    assert result.exit_code == 0, result.output
    assert "token for token" in result.output


@pytest.mark.sqlite_only
def test_flask_check_reports_and_fixes_a_stale_index(app, db, make_comment):
    comment = make_comment(body="Before")
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP TRIGGER comments_fts_au")
        conn.exec_driver_sql(f"UPDATE comments SET body = 'After' WHERE id = {comment.id}")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1 and "comments_fts" in result.output
    result = runner.invoke(args=["check", "--fix"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0 and "No drift" in result.output


def test_a_comment_hit_reads_its_thread_and_owner_once(
    client, auth, db, make_user, make_proposal, make_comment, query_counter
):
    """Every kind's window of candidates is one statement, those without a match
    too; the comments shown come with their thread, the proposal owning it (the marks
    ask) and their highlighted text in one more; their links' contexts are one more: a
    page of comment hits on proposals' threads is three statements for a visitor (it
    was eleven), whatever the number of threads. A hidden proposal's comment stays out
    for a visitor, and is marked for a moderator."""
    shown = [make_proposal(title=f"Proposal {n}") for n in range(3)]
    hidden = make_proposal(title="Hidden one")
    for proposal in [*shown, hidden]:
        make_comment(thread=proposal.thread, body="Kittiwakes nest here")
    hidden.is_hidden = True
    db.session.commit()
    shown_ids, hidden_id = [p.id for p in shown], hidden.id
    db.session.remove()
    client.get("/search?q=kittiwakes", headers=JSON)  # PostgreSQL: the words' statistics, once
    with query_counter() as counted:
        results = client.get("/search?q=kittiwakes", headers=JSON).get_json()["results"]
    assert len(results) == 3
    assert {r["in"]["url"] for r in results} == {f"/proposals/{i}" for i in shown_ids}
    assert counted.count <= 3, [" ".join(s.split())[:100] for s in counted.statements]
    windows = [s for s in counted.statements if "window_rows" in s and "UNION ALL" in s]
    assert len(windows) == 1, counted.statements
    # The comments shown, their threads and owners, and their highlighted text: one.
    shown = [s for s in counted.statements if "snippet(" in s or "ts_headline(" in s]
    assert len(shown) == 1 and "comments.thread_id" in shown[0], counted.statements
    auth.login(make_user(role=Role.moderator))
    results = client.get("/search?q=kittiwakes", headers=JSON).get_json()["results"]
    marks = {r["in"]["url"]: r["marks"] for r in results}
    assert marks[f"/proposals/{hidden_id}"] == ["On a hidden proposal"]
    assert marks[f"/proposals/{shown_ids[0]}"] == []
