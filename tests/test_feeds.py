"""Atom feeds: valid Atom, absolute links from SITE_URL, and never what a visitor may not see."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import feedparser
import pytest

from app.models import CommentStatus, Role, ThreadState, WithdrawalReason
from app.services import comments as comment_svc
from app.services import moderation as mod_svc
from app.services import proposals as svc

SITE = "http://plenary.test"
ATOM = "{http://www.w3.org/2005/Atom}"
# RFC 3339 date-time, as atom:updated and atom:published require (RFC 4287 3.3).
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def check_atom_structure(data: bytes) -> None:
    """RFC 4287's cardinality rules, which a lenient parser does not enforce."""
    root = ET.fromstring(data)
    assert root.tag == f"{ATOM}feed"

    def one(parent, name):
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, f"{parent.tag} has {len(found)} atom:{name}"
        assert (found[0].text or "").strip(), f"empty atom:{name}"
        return found[0]

    def dates(parent):
        assert RFC3339.match(one(parent, "updated").text)
        for published in parent.findall(f"{ATOM}published"):
            assert RFC3339.match(published.text)

    def alternate_link(parent):
        # RFC 4287 4.2.7.2: a link without rel is an alternate.
        links = [
            link
            for link in parent.findall(f"{ATOM}link")
            if link.get("rel", "alternate") == "alternate"
        ]
        assert len(links) == 1
        assert links[0].get("href").startswith(SITE + "/")
        return links

    one(root, "id")
    one(root, "title")
    dates(root)
    alternate_link(root)
    assert [link.get("href") for link in root.findall(f"{ATOM}link") if link.get("rel") == "self"]
    feed_authors = root.findall(f"{ATOM}author")
    for author in feed_authors:
        one(author, "name")
    for entry in root.findall(f"{ATOM}entry"):
        assert one(entry, "id").text.startswith("tag:")
        one(entry, "title")
        dates(entry)
        alternate_link(entry)
        authors = entry.findall(f"{ATOM}author")
        assert authors or feed_authors, "an entry without an author in a feed without one"
        for author in authors:
            one(author, "name")
        content = one(entry, "content")
        assert content.get("type") == "html"


def parse(response):
    """The feed, checked as Atom: well-formed, and every element RFC 4287 requires present."""
    assert response.status_code == 200, response.status_code
    assert response.mimetype == "application/atom+xml"
    check_atom_structure(response.data)
    feed = feedparser.parse(response.data)
    assert feed.bozo == 0, feed.get("bozo_exception")
    assert feed.version == "atom10"
    for key in ("id", "title", "updated", "link", "author"):
        assert feed.feed.get(key), f"feed without {key}"
    assert feed.feed.link.startswith(SITE + "/")
    assert any(link.rel == "self" for link in feed.feed.links)
    for entry in feed.entries:
        for key in ("id", "title", "updated", "link", "author"):
            assert entry.get(key), f"entry without {key}: {entry}"
        assert entry.id.startswith("tag:plenary.test,")
        assert entry.link.startswith(SITE + "/")
        assert entry.updated_parsed is not None
    return feed


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- Rounds ------------------------------------------------------------------------


def test_round_feed_lists_the_rounds_proposals_with_their_text(
    client, make_round, make_proposal, make_user
):
    round_ = make_round("After the convention")
    ada = make_user("ada", display_name="Ada Lovelace")
    first = make_proposal(round_, ada, title="Keep the forum", body="Keep it **open**.")
    make_proposal(round_, title="Elect a committee")
    make_proposal(title="In another round")

    feed = parse(client.get(f"/rounds/{round_.slug}/feed.atom"))

    assert feed.feed.title == "Proposals of “After the convention”"
    titles = {e.title for e in feed.entries}
    assert titles == {"Proposal 1: Keep the forum", "Proposal 2: Elect a committee"}
    entry = next(e for e in feed.entries if e.title.endswith("Keep the forum"))
    assert entry.link == f"{SITE}/proposals/{first.id}"
    assert entry.author == "Ada Lovelace (@ada)"
    assert "<strong>open</strong>" in entry.content[0].value


def test_round_feed_leaves_out_hidden_proposals(client, db, make_round, make_proposal, cast):
    round_ = make_round()
    make_proposal(round_, title="Shown proposal")
    hidden = make_proposal(round_, title="Secret plan", body="The hidden text")
    mod_svc.hide_proposal(hidden, cast.moderator, "Doxxing")
    db.session.commit()

    feed = parse(client.get(f"/rounds/{round_.slug}/feed.atom"))

    assert [e.title for e in feed.entries] == ["Proposal 1: Shown proposal"]
    assert "Secret plan" not in text_of(client.get(f"/rounds/{round_.slug}/feed.atom"))
    assert "hidden text" not in text_of(client.get(f"/rounds/{round_.slug}/feed.atom"))


def test_an_unknown_round_has_no_feed(client, db):
    assert client.get("/rounds/no-such-round/feed.atom").status_code == 404


def test_links_are_built_from_site_url_never_the_host_header(client, make_proposal):
    proposal = make_proposal()
    response = client.get(
        f"/rounds/{proposal.round.slug}/feed.atom", headers={"Host": "evil.example"}
    )
    body = text_of(response)
    assert "evil.example" not in body
    assert f'href="{SITE}/proposals/{proposal.id}"' in body


# --- A proposal: versions and state changes -----------------------------------------


def test_proposal_feed_has_each_version_and_the_withdrawal(
    client, db, make_round, make_proposal, make_user
):
    round_ = make_round()
    author = make_user("arthur")
    proposal = make_proposal(round_, author, title="First title", body="First text")
    successor = make_proposal(round_, title="The better one")
    svc.edit_proposal(proposal, author, "Second title", "Second text with @arthur")
    svc.withdraw_proposal(
        proposal, author, WithdrawalReason.duplicate, "Same as the other.", successor=successor
    )
    db.session.commit()

    feed = parse(client.get(f"/proposals/{proposal.id}/feed.atom"))

    by_title = {e.title: e for e in feed.entries}
    assert set(by_title) == {
        "Submitted: First title",
        "Version 2: Second title",
        "Proposal 1 withdrawn: Duplicate of another proposal",
    }
    assert by_title["Version 2: Second title"].link == (
        f"{SITE}/proposals/{proposal.id}/versions?from=1&to=2"
    )
    # The mention's link is made absolute: a reader resolves nothing against this site.
    assert f'href="{SITE}/users/arthur"' in by_title["Version 2: Second title"].content[0].value
    withdrawal = by_title["Proposal 1 withdrawn: Duplicate of another proposal"].content[0].value
    assert "Same as the other." in withdrawal
    assert f'href="{SITE}/proposals/{successor.id}"' in withdrawal
    assert "The better one" in withdrawal
    # Ids stay the same from one fetch to the next (a reader shows nothing twice).
    again = parse(client.get(f"/proposals/{proposal.id}/feed.atom"))
    assert {e.id for e in again.entries} == {e.id for e in feed.entries}


def test_proposal_feed_names_a_hidden_successor_without_its_title(
    client, db, make_round, make_proposal, make_user, cast
):
    round_ = make_round()
    author = cast.author
    proposal = make_proposal(round_, author)
    successor = make_proposal(round_, title="Secret successor")
    svc.withdraw_proposal(proposal, author, WithdrawalReason.superseded, "See 2.", successor)
    mod_svc.hide_proposal(successor, cast.moderator, "Spam")
    db.session.commit()

    response = client.get(f"/proposals/{proposal.id}/feed.atom")
    parse(response)
    assert "Secret successor" not in text_of(response)
    assert "Proposal 2 (hidden)" in text_of(response)
    assert f"/proposals/{successor.id}" not in text_of(response)


def test_proposal_feed_records_a_decision(client, db, make_proposal, cast):
    proposal = make_proposal(author=cast.author)
    svc.decide_proposal(proposal, cast.admin, "adopted", note="Carried at the meeting.")
    db.session.commit()

    feed = parse(client.get(f"/proposals/{proposal.id}/feed.atom"))

    decision = next(e for e in feed.entries if e.title == "Proposal 1 adopted")
    assert "Carried at the meeting." in decision.content[0].value


# --- Hidden proposals and their threads ----------------------------------------------


@pytest.mark.parametrize("signed_in", [None, Role.member, Role.moderator])
def test_a_hidden_proposal_has_no_feeds_for_anyone(
    client, db, auth, make_proposal, make_user, make_comment, cast, signed_in
):
    proposal = make_proposal(title="Hidden title", body="Hidden body")
    make_comment(thread=proposal.thread, body="A comment under it")
    mod_svc.hide_proposal(proposal, cast.moderator2, "Abuse")
    db.session.commit()
    if signed_in:
        auth.login(make_user(role=signed_in))

    # A feed is what a visitor sees, whoever fetches it (its address gets shared).
    for url in (f"/proposals/{proposal.id}/feed.atom", f"/proposals/{proposal.id}/comments.atom"):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "Hidden title" not in text_of(response)
        assert "A comment under it" not in text_of(response)


# --- Comments --------------------------------------------------------------------------


def test_article_comments_feed_shows_published_comments_only(
    client, db, make_article, make_comment, make_user, cast
):
    article = make_article("The convention", slug="the-convention")
    member = make_user("mila", display_name="Mila")
    shown = make_comment(thread=article.thread, author=member, body="Published *text*")
    reply = make_comment(parent=shown, author_name="Jo", is_verified=False, body="A guest reply")
    make_comment(thread=article.thread, body="Pending guest text", status=CommentStatus.pending)
    hidden = make_comment(thread=article.thread, author=member, body="Text to be hidden")
    mod_svc.hide_comment(hidden, cast.moderator, "Off-topic")
    deleted = make_comment(thread=article.thread, author=member, body="Text to be deleted")
    comment_svc.delete_own_comment(deleted, member)
    db.session.commit()

    response = client.get("/articles/the-convention/comments.atom")
    feed = parse(response)

    assert {e.title for e in feed.entries} == {
        "Comment by Mila (@mila)",
        "Reply by Jo (not verified)",
    }
    links = {e.link for e in feed.entries}
    assert links == {f"{SITE}/comments/{shown.id}", f"{SITE}/comments/{reply.id}"}
    body = text_of(response)
    for secret in ("Pending guest text", "Text to be hidden", "Text to be deleted", "Off-topic"):
        assert secret not in body
    entry = next(e for e in feed.entries if e.link.endswith(f"/{shown.id}"))
    assert "<em>text</em>" in entry.content[0].value


def test_comment_markup_is_sanitised_as_on_the_page(client, db, make_article, make_comment):
    article = make_article(slug="hostile")
    make_comment(
        thread=article.thread,
        body="<script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)>",
    )

    feed = parse(client.get("/articles/hostile/comments.atom"))

    html = feed.entries[0].content[0].value
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text, as the page shows it


def test_a_moderator_gets_the_visitors_comments_feed(
    client, db, auth, make_article, make_comment, cast
):
    article = make_article(slug="watched")
    make_comment(thread=article.thread, body="Awaiting approval", status=CommentStatus.pending)
    make_comment(thread=article.thread, body="Everyone sees this")
    auth.login(cast.moderator)

    response = client.get("/articles/watched/comments.atom")

    parse(response)
    assert "Everyone sees this" in text_of(response)
    assert "Awaiting approval" not in text_of(response)


def test_a_hidden_thread_has_no_feed(client, db, make_article, make_comment, cast):
    article = make_article(slug="locked-away")
    make_comment(thread=article.thread, body="Inside a hidden thread")
    article.thread.state = ThreadState.hidden
    db.session.commit()

    response = client.get("/articles/locked-away/comments.atom")

    assert response.status_code == 404
    assert "Inside a hidden thread" not in text_of(response)


def test_proposal_comments_feed(client, db, make_proposal, make_comment, make_user):
    proposal = make_proposal()
    comment = make_comment(thread=proposal.thread, author=make_user("bo"), body="I back this")

    feed = parse(client.get(f"/proposals/{proposal.id}/comments.atom"))

    assert [e.link for e in feed.entries] == [f"{SITE}/comments/{comment.id}"]


def test_feeds_are_bounded_to_the_newest_fifty(client, db, make_article, make_comment):
    article = make_article(slug="busy")
    comments = [make_comment(thread=article.thread, body=f"Comment {i}") for i in range(53)]

    feed = parse(client.get("/articles/busy/comments.atom"))

    assert len(feed.entries) == 50
    assert f"{SITE}/comments/{comments[-1].id}" in {e.link for e in feed.entries}
    assert f"{SITE}/comments/{comments[0].id}" not in {e.link for e in feed.entries}


def test_an_unchanged_feed_answers_304(client, db, make_article, make_comment):
    article = make_article(slug="polled")
    make_comment(thread=article.thread, body="First")
    first = client.get("/articles/polled/comments.atom")
    assert first.headers["ETag"] and first.headers["Last-Modified"]
    assert "no-cache" in first.headers["Cache-Control"]

    again = client.get(
        "/articles/polled/comments.atom", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert again.status_code == 304

    make_comment(thread=article.thread, body="Second")
    changed = client.get(
        "/articles/polled/comments.atom", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert changed.status_code == 200
    assert "Second" in text_of(changed)


# --- The moderation log ------------------------------------------------------------------


def test_visitors_cannot_read_the_log_feed(client, db, make_proposal, cast):
    mod_svc.hide_proposal(make_proposal(), cast.moderator, "Spam")
    db.session.commit()

    response = client.get("/moderation/log.atom")

    assert response.status_code in (302, 401)
    assert "Spam" not in text_of(response)


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_log_feed_for_members_names_hidden_things_as_members_see_them(
    client, db, auth, make_proposal, make_comment, cast, who
):
    proposal = make_proposal(author=cast.author, title="Secret proposal title")
    mod_svc.hide_proposal(proposal, cast.moderator, "Doxxing")
    comment = make_comment(thread=proposal.thread, author=cast.author, body="Under it")
    mod_svc.hide_comment(comment, cast.moderator2, "Rude")
    db.session.commit()
    auth.login(getattr(cast, who))

    response = client.get("/moderation/log.atom")
    feed = parse(response)

    assert "private" in response.headers["Cache-Control"]
    titles = [e.title for e in feed.entries]
    assert "Moe Derator (@moe) hid a proposal: Proposal 1 (hidden)" in titles
    assert any(t.startswith("Mona Second (@mona) hid a comment: Comment") for t in titles)
    body = text_of(response)
    assert "Secret proposal title" not in body
    assert "Under it" not in body
    assert "Reason: Doxxing" in body
    # A hidden target is named without a link: the entry links to the log itself.
    hidden_entry = next(e for e in feed.entries if "hid a proposal" in e.title)
    assert hidden_entry.link.startswith(f"{SITE}/moderation/log#log-")


# --- The pages link their feeds -------------------------------------------------------------


def alternates(response) -> list[str]:
    return re.findall(
        r'<link rel="alternate" type="application/atom\+xml" title="[^"]*" href="([^"]+)">',
        text_of(response),
    )


def test_pages_link_their_feeds(client, db, auth, make_proposal, make_article, cast):
    proposal = make_proposal()
    article = make_article(slug="linked")

    assert alternates(client.get(f"/rounds/{proposal.round.slug}")) == [
        f"/rounds/{proposal.round.slug}/feed.atom"
    ]
    assert alternates(client.get(f"/proposals/{proposal.id}")) == [
        f"/proposals/{proposal.id}/feed.atom",
        f"/proposals/{proposal.id}/comments.atom",
    ]
    assert alternates(client.get(f"/articles/{article.slug}")) == ["/articles/linked/comments.atom"]
    auth.login(cast.member)
    assert alternates(client.get("/moderation/log")) == ["/moderation/log.atom"]
    # Every advertised feed answers.
    for url in [
        f"/rounds/{proposal.round.slug}/feed.atom",
        f"/proposals/{proposal.id}/feed.atom",
        f"/proposals/{proposal.id}/comments.atom",
        "/articles/linked/comments.atom",
        "/moderation/log.atom",
    ]:
        parse(client.get(url))


def test_a_hidden_proposals_page_links_no_feed(client, db, auth, make_proposal, cast):
    proposal = make_proposal()
    mod_svc.hide_proposal(proposal, cast.moderator, "Spam")
    db.session.commit()

    assert alternates(client.get(f"/proposals/{proposal.id}")) == []
    auth.login(cast.moderator2)
    assert alternates(client.get(f"/proposals/{proposal.id}")) == []


# --- A moved sub-thread ------------------------------------------------------------------------


def test_a_moved_subthread_has_its_own_feed(
    client, db, make_article, make_comment, make_user, cast
):
    article = make_article(slug="origin")
    root = make_comment(thread=article.thread, author=make_user("bea"), body="Off on a tangent")
    make_comment(parent=root, author=make_user("cy"), body="Indeed a tangent")
    new_thread = mod_svc.move_subthread(root, cast.moderator, "Own topic", title="The tangent")
    db.session.commit()

    page = client.get(f"/threads/{new_thread.id}")
    assert alternates(page) == [f"/threads/{new_thread.id}/comments.atom"]
    response = client.get(f"/threads/{new_thread.id}/comments.atom")
    feed = parse(response)
    assert feed.feed.title == "Comments on “The tangent”"
    assert "Indeed a tangent" in text_of(response)
    assert "Off on a tangent" in text_of(response)

    new_thread.state = ThreadState.hidden
    db.session.commit()
    hidden = client.get(f"/threads/{new_thread.id}/comments.atom")
    assert hidden.status_code == 404
    assert "tangent" not in text_of(hidden)
    assert client.get("/threads/999999/comments.atom").status_code == 404


# --- A fixed number of queries, whatever the size ------------------------------------------------


def queries_for(client, db, query_counter, url) -> int:
    client.get(url)  # warm: first-request work is not counted
    # A request of its own starts with an empty session (the tests share one).
    db.session.remove()
    with query_counter() as counted:
        assert client.get(url).status_code == 200
    return counted.count


def test_feeds_run_the_same_queries_for_few_and_many_entries(
    client,
    db,
    auth,
    make_round,
    make_proposal,
    make_article,
    make_comment,
    make_user,
    cast,
    query_counter,
):
    def build(n: int, slug: str) -> dict[str, str]:
        round_ = make_round(slug=f"round-{slug}")
        proposals = [make_proposal(round_, make_user(f"{slug}a{i}")) for i in range(n)]
        lead = proposals[0]
        for i in range(n):
            svc.edit_proposal(lead, lead.author, f"Title {i}", f"Text {i}")
        article = make_article(slug=f"article-{slug}")
        for i in range(n):
            make_comment(thread=article.thread, author=make_user(f"{slug}c{i}"))
            make_comment(thread=lead.thread, author=make_user(f"{slug}p{i}"))
        for p in proposals[1:]:
            mod_svc.hide_proposal(p, cast.moderator, "Spam")
        db.session.commit()
        return {
            "round": f"/rounds/{round_.slug}/feed.atom",
            "proposal": f"/proposals/{lead.id}/feed.atom",
            "proposal comments": f"/proposals/{lead.id}/comments.atom",
            "article comments": f"/articles/{article.slug}/comments.atom",
            "log": "/moderation/log.atom",
        }

    small = build(2, "s")
    big = build(25, "b")
    auth.login(cast.member)
    for name in small:
        assert queries_for(client, db, query_counter, small[name]) == queries_for(
            client, db, query_counter, big[name]
        ), name


def test_a_withdrawal_updates_the_proposals_entry_in_the_round_feed(
    client, db, make_proposal, cast
):
    proposal = make_proposal(author=cast.author)
    before = parse(client.get(f"/rounds/{proposal.round.slug}/feed.atom")).entries[0]
    svc.withdraw_proposal(
        proposal,
        cast.author,
        WithdrawalReason.no_longer_needed,
        "Done.",
        now=proposal.created_at + timedelta(hours=1),
    )
    db.session.commit()

    after = parse(client.get(f"/rounds/{proposal.round.slug}/feed.atom")).entries[0]

    assert after.id == before.id
    assert after.title == "Proposal 1: Keep the website as a forum (withdrawn)"
    assert after.updated_parsed > before.updated_parsed
