"""app.urls builds every link on a real endpoint; the moderation log's links all resolve.

A renamed or removed view must fail here, loudly, instead of a page quietly
losing its links (as the old helpers that tried several endpoint names and
swallowed the error did).
"""

import re
from datetime import timedelta

import pytest
from werkzeug.exceptions import NotFound
from werkzeug.routing import BuildError

from app import urls
from app.models import ReportReason
from app.services import moderation as mod_svc
from app.services.rounds import update_round
from app.timeutil import utcnow

SITE = "http://plenary.test"

BUILDERS = [
    (urls.proposal_url, (7,), "proposals.show", "/proposals/7"),
    (urls.versions_url, (7,), "proposals.versions", "/proposals/7/versions"),
    (urls.cosign_url, (7,), "proposals.cosign", "/proposals/7/cosign"),
    (urls.round_url, ("the-round",), "proposals.round", "/rounds/the-round"),
    (urls.article_url, ("an-article",), "articles.show", "/articles/an-article"),
    (urls.thread_url, (3,), "articles.thread", "/threads/3"),
    (urls.comment_url, (12,), "articles.permalink", "/comments/12"),
    (urls.profile_url, ("ada",), "users.profile", "/users/ada"),
]


def endpoint_of(app, path: str, method: str = "GET") -> str:
    adapter = app.url_map.bind("plenary.test")
    endpoint, _args = adapter.match(path.split("#", 1)[0].split("?", 1)[0], method=method)
    return endpoint


@pytest.mark.parametrize(("build", "args", "endpoint", "path"), BUILDERS)
def test_each_named_link_is_a_real_endpoint(app, build, args, endpoint, path):
    method = "POST" if endpoint == "proposals.cosign" else "GET"
    with app.test_request_context("/"):
        assert build(*args) == path
        assert build(*args, urls.absolute_url) == SITE + path
    assert build(*args, urls.path_for) == path
    assert endpoint_of(app, path, method) == endpoint


def test_a_missing_endpoint_fails_loudly(app):
    with app.test_request_context("/"), pytest.raises(BuildError):
        urls.proposal_url(7, lambda endpoint, **values: urls.url_for(endpoint + "_gone", **values))


def test_stored_links_name_real_endpoints(
    app, db, make_proposal, make_round, make_article, make_comment, make_user, cast
):
    """Notifications store paths (path_for, no request needed): each must match its view."""
    from app.models import Notification, WithdrawalReason
    from app.services import comments as comment_svc
    from app.services import proposals as svc

    round_ = make_round()
    proposal = make_proposal(round_, cast.author)
    successor = make_proposal(round_, make_user("sue"))
    svc.cosign(proposal, cast.member)
    svc.edit_proposal(proposal, cast.author, "New title", "New text")  # -> versions
    svc.withdraw_proposal(proposal, cast.author, WithdrawalReason.duplicate, "See 2.", successor)
    mod_svc.hide_proposal(successor, cast.moderator, "Spam")  # -> the proposal's page
    article = make_article()
    parent = make_comment(thread=article.thread, author=cast.member, body="First")
    comment_svc.add_comment(article.thread, make_user("rex"), "A reply", parent=parent)
    update_round(
        round_,
        cast.admin,
        "Longer",
        title=round_.title,
        description=round_.description,
        submission_deadline=None,
        cosign_deadline=None,
        threshold=10,
    )
    db.session.commit()

    found = {}
    for note in db.session.scalars(db.select(Notification)):
        if note.link:
            found.setdefault(endpoint_of(app, note.link), note.link)
        if note.action_url:
            found.setdefault(endpoint_of(app, note.action_url, "POST"), note.action_url)
    assert found.keys() >= {
        "proposals.show",
        "proposals.versions",
        "proposals.cosign",
        "articles.permalink",
        "proposals.round",
    }, found
    assert found["proposals.versions"].endswith("?from=1&to=2")


def log_links(html: str) -> list[str]:
    table = re.search(r'<table class="mod-log[^"]*">(.*?)</table>', html, re.S)
    assert table, "the log shows its table"
    return re.findall(r'href="([^"]+)"', table.group(1))


@pytest.mark.parametrize("who", ["member", "moderator"])
def test_every_link_the_moderation_log_renders_resolves(
    client, db, auth, make_proposal, make_article, make_comment, make_round, cast, who
):
    article = make_article(slug="logged")
    comment = make_comment(thread=article.thread, author=cast.author, body="Rude words")
    proposal = make_proposal(author=cast.author, title="A proposal")
    round_ = make_round("A round")
    mod_svc.report_content(cast.member, comment, ReportReason.abuse, "Please look")
    mod_svc.hide_comment(comment, cast.moderator, "Abuse")
    mod_svc.hide_proposal(proposal, cast.moderator, "Spam")
    mod_svc.restore_proposal(proposal, cast.moderator2, "Not spam after all")
    mod_svc.lock_thread(article.thread, cast.moderator, "Cooling off")
    mod_svc.suspend_member(cast.author, cast.moderator2, utcnow() + timedelta(days=2), "Abuse")
    update_round(
        round_,
        cast.admin,
        "Longer for everyone",
        title=round_.title,
        description=round_.description,
        submission_deadline=None,
        cosign_deadline=None,
        threshold=50,
    )
    db.session.commit()
    auth.login(getattr(cast, who))

    response = client.get("/moderation/log")
    assert response.status_code == 200
    links = log_links(response.get_data(as_text=True))

    endpoints = []
    for link in links:
        try:
            endpoints.append(endpoint_of(client.application, link))
        except NotFound:
            pytest.fail(f"the log links {link}, which no view answers")
    # Each kind of target is linked: comment, proposal, thread (the article),
    # member, round, and the moderators' profiles.
    for endpoint in (
        "articles.permalink",
        "proposals.show",
        "articles.show",
        "users.profile",
        "proposals.round",
    ):
        assert endpoint in endpoints, f"no link to {endpoint} in {links}"
    for link in links:
        assert client.get(link).status_code in (200, 302), link
