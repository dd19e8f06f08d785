"""The home page: open rounds, recent articles, recent activity, at a fixed query cost."""

import html
import re


def text_of(response) -> str:
    """The page's text as a reader sees it: tags dropped, white space folded."""
    markup = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return " ".join(html.unescape(markup).split())


def test_home_lists_open_rounds_articles_and_activity(
    client, make_round, make_proposal, make_article, make_comment, make_user
):
    round_ = make_round(title="The way forward")
    proposal = make_proposal(round=round_, title="Dissolve with care")
    article = make_article(title="A source worth reading")
    make_comment(thread=article.thread, body="A first remark", author=make_user("remarker"))
    text = text_of(client.get("/"))
    assert "The way forward" in text
    assert "A source worth reading" in text
    assert f"submitted {proposal.label}: Dissolve with care" in text
    assert "commented on A source worth reading" in text


def test_home_query_count_does_not_grow_with_rows(
    client, query_counter, make_round, make_proposal, make_article, make_comment
):
    round_ = make_round()
    make_proposal(round=round_)
    make_article()
    with query_counter() as small:
        assert client.get("/").status_code == 200
    for _ in range(6):
        r = make_round()
        for _ in range(3):
            make_proposal(round=r)
        a = make_article()
        for _ in range(3):
            make_comment(thread=a.thread)
    with query_counter() as large:
        assert client.get("/").status_code == 200
    assert large.count == small.count


def test_home_shows_every_change_at_once(
    app, db, client, make_user, make_round, make_proposal, make_article
):
    """The body is kept under its rows' versions: each change below is seen at the next read."""
    from app.models import Role
    from app.services import comments as comment_svc
    from app.services import moderation as mod
    from app.services import proposals as svc

    admin = make_user("root", role=Role.admin)
    moderator = make_user("mo", role=Role.moderator)
    ada = make_user("ada", display_name="Ada Author")
    round_ = make_round(title="The way forward")
    proposal = make_proposal(round=round_, author=ada, title="Dissolve with care")
    article = make_article(title="A source worth reading")
    for n in range(5):  # newer ones: the commented article drops out of "Recent articles"
        make_article(title=f"Newer source {n}")
    bob = make_user("bob", display_name="Bob Commenter")  # a commenter with no proposal

    def read() -> str:
        db.session.commit()
        db.session.expire_all()
        return text_of(client.get("/"))

    assert "1 proposal" in read()
    comment = comment_svc.add_comment(article.thread, bob, "A first remark")
    assert "Bob Commenter commented on A source worth reading" in read()
    article.title = "A source retitled"
    assert "commented on A source retitled" in read()
    bob.display_name = "Bob Renamed"
    assert "Bob Renamed commented on" in read()
    ada.display_name = "Ada Renamed"
    assert "Ada Renamed submitted" in read()
    mod.hide_comment(comment, moderator, "Off topic")
    assert "commented on" not in read()
    svc.edit_proposal(proposal, ada, "Dissolve with great care", "Clearer")
    assert "Dissolve with great care" in read()
    make_proposal(round=round_, author=ada, title="A second thought")
    assert "2 proposals" in read()
    mod.hide_proposal(proposal, moderator, "Needs a check")
    assert "Dissolve with great care" not in read()
    svc.close_round(round_, admin)
    assert "The way forward" not in read().split("Recent articles")[0]


def test_the_activity_statements_constants_are_in_its_sql_so_postgresql_plans_it_once(
    client, make_article, make_user, query_counter
):
    """Bound, `status = $1 ... LIMIT $3` got a new plan each run on PostgreSQL
    (1.7 ms); written into the text, one generic plan serves every run."""
    from app.services import comments as comment_svc
    from app.services.home import ACTIVITY_SHOWN

    comment_svc.add_comment(make_article().thread, make_user(), "A remark")
    with query_counter() as counted:
        assert client.get("/").status_code == 200
    activity = [s for s in counted.statements if "comments.status" in s]
    assert activity, counted.statements
    for statement in activity:
        assert "comments.status = 'published'" in statement, statement
        assert "threads_1.state = 'hidden'" in statement and f"LIMIT {ACTIVITY_SHOWN}" in statement


def test_every_home_statement_has_its_constants_in_its_sql(
    app, client, auth, make_article, make_user, make_proposal, query_counter, monkeypatch
):
    """The home page's statements (its key, one UNION of four, and the four lists) bind
    no values: PostgreSQL plans each once. With the limits and the rounds' state bound,
    it planned the key anew on every run on the scale set (1.2 ms a run, 0.4 ms with
    the one plan). Only the rounds' counts take values, the ids of the rounds shown."""
    from app.extensions import db
    from app.fragments import cache

    monkeypatch.setitem(app.config, "PAGE_CACHE_ENABLED", False)  # the lists are built
    make_proposal()
    make_article()
    for signed_in in (False, True):
        if signed_in:
            auth.login(make_user())
        db.session.remove()
        cache.clear()  # the home body is kept: built again, it reads its four lists
        with query_counter() as counted:
            assert client.get("/").status_code == 200
        # The key and the four lists: the statements with a LIMIT (the member's row,
        # the counts and the follow buttons have none, and take their values).
        statements = [" ".join(s.split()) for s in counted.statements if "LIMIT" in s]
        assert any(s.startswith("SELECT 0 AS part") for s in statements), statements
        assert len(statements) == 5, statements
        for statement in statements:
            # (SQLite's dialect binds an OFFSET 0 after every LIMIT; SQLite plans
            # nothing ahead, and PostgreSQL's dialect writes no OFFSET.)
            statement = statement.replace(" OFFSET ?", "")
            assert "?" not in statement and "%(" not in statement, statement
