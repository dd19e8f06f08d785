"""Article pages and comment routes: wiring, bad input, permalinks, folding, JSON."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Article, Comment, CommentStatus, Role, ThreadState
from app.services import comments
from app.timeutil import utcnow


@pytest.fixture
def article(make_article):
    return make_article(title="On threads", slug="on-threads")


def _html(response) -> str:
    return response.get_data(as_text=True)


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<li class="comment [^"]*"\s+id="comment-(\d+)"', html)]


def test_articles_index_lists_articles(client, article, make_article):
    make_article(title="Another one")
    html = _html(client.get("/articles"))
    assert "On threads" in html and "Another one" in html
    assert 'href="/articles/on-threads"' in html


def test_article_page_and_unknown_slug(client, article):
    response = client.get("/articles/on-threads")
    assert response.status_code == 200
    assert "<h1>On threads</h1>" in _html(response)
    assert client.get("/articles/no-such-thing").status_code == 404


def test_article_json_has_the_article_and_the_page_of_comments(client, article, make_comment):
    top = make_comment(thread=article.thread, body="Top *level*")
    make_comment(parent=top, body="A reply")
    response = client.get("/articles/on-threads", headers={"Accept": "application/json"})
    assert response.status_code == 200
    data = response.get_json()
    assert data["article"]["title"] == "On threads"
    assert data["thread"]["comment_count"] == 2
    assert [c["body"] for c in data["thread"]["comments"]] == ["Top *level*", "A reply"]
    assert data["thread"]["comments"][1]["parent_id"] == top.id


def test_member_posts_a_comment_and_a_reply(client, auth, article, make_user):
    member = make_user()
    auth.login(member)
    response = client.post(f"/threads/{article.thread_id}/comments", data={"body": "Hello *all*"})
    assert response.status_code == 302
    comment = Comment.query.filter_by(body="Hello *all*").one()
    assert response.location.endswith(f"/articles/on-threads#comment-{comment.id}")
    html = _html(client.get(response.location))
    assert "<em>all</em>" in html and "Your comment is posted" in html
    response = client.post(f"/comments/{comment.id}/reply", data={"body": "Replying"})
    reply = Comment.query.filter_by(body="Replying").one()
    assert reply.parent_id == comment.id
    assert response.location.endswith(f"#comment-{reply.id}")
    html = _html(client.get("/articles/on-threads"))
    assert _ids(html) == [comment.id, reply.id]
    assert 'class="comment depth-1"' in html


def test_reply_form_page_works_without_javascript(client, auth, article, make_comment, make_user):
    comment = make_comment(thread=article.thread)
    auth.login(make_user())
    html = _html(client.get(f"/comments/{comment.id}/reply"))
    assert f'action="/comments/{comment.id}/reply"' in html
    assert comment.body in html


def test_guest_comment_awaits_approval_and_only_its_poster_sees_it(app, article):
    visitor = app.test_client()
    response = visitor.post(
        f"/threads/{article.thread_id}/comments",
        data={"name": "Matthew Gordon", "body": "Guest words"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    html = _html(response)
    assert "awaits approval" in html
    assert "Guest words" in html and "Matthew Gordon" in html
    other = app.test_client()
    assert "Guest words" not in _html(other.get("/articles/on-threads"))
    comment = Comment.query.filter_by(body="Guest words").one()
    assert comment.status == CommentStatus.pending
    assert other.get(f"/comments/{comment.id}").status_code == 404


def test_approved_guest_comment_shows_name_not_verified(client, article, make_user, db):
    comment = comments.post_guest_comment(article, "Matthew Gordon", "Guest words")
    comments.approve_comment(comment, make_user(role=Role.moderator))
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert 'Matthew Gordon <span class="not-verified">(not verified)</span>' in html


def test_visitor_cannot_post_where_guests_are_not_allowed(client, make_article):
    article = make_article(allow_guest_comments=False)
    html = _html(client.get(f"/articles/{article.slug}"))
    assert 'name="name"' not in html and "Sign in</a> to comment" in html
    response = client.post(f"/threads/{article.thread_id}/comments", data={"body": "x"})
    assert response.status_code == 302 and "/login" in response.location
    assert Comment.query.count() == 0


def test_proposal_thread_post_redirects_visitor_to_login(client, make_thread):
    thread = make_thread()
    response = client.post(f"/threads/{thread.id}/comments", data={"name": "A", "body": "x"})
    assert response.status_code == 302 and "/login" in response.location


@pytest.mark.parametrize(
    "body, message",
    [("", "the comment is empty"), ("x" * 20_001, "at most 20,000 characters")],
)
def test_bad_comment_text_is_refused_on_the_form_with_the_text_kept(
    client, auth, article, make_user, body, message
):
    auth.login(make_user())
    response = client.post(f"/threads/{article.thread_id}/comments", data={"body": body})
    assert response.status_code == 400
    html = _html(response)
    assert message in html
    if body:
        assert body in html
    assert Comment.query.count() == 0


def test_reply_to_a_comment_of_another_thread_is_refused(
    client, auth, article, make_article, make_comment, make_user
):
    elsewhere = make_comment(thread=make_article().thread)
    auth.login(make_user())
    response = client.post(
        f"/threads/{article.thread_id}/comments",
        data={"body": "My typed reply", "parent_id": elsewhere.id},
    )
    assert response.status_code == 400
    html = _html(response)
    assert "not in this thread" in html and "My typed reply" in html
    assert Comment.query.count() == 1


def test_reply_to_a_comment_that_does_not_exist(client, auth, article, make_user):
    auth.login(make_user())
    response = client.post(
        f"/threads/{article.thread_id}/comments", data={"body": "Typed text", "parent_id": 999999}
    )
    assert response.status_code == 400
    html = _html(response)
    assert "does not exist" in html and "Typed text" in html
    assert client.post("/comments/999999/reply", data={"body": "x"}).status_code == 404
    assert client.get("/comments/999999/reply").status_code == 404
    response = client.post(
        f"/threads/{article.thread_id}/comments", data={"body": "Typed", "parent_id": "abc"}
    )
    assert response.status_code == 400


def test_comment_on_a_locked_thread_is_refused_with_the_text_kept(
    client, auth, article, make_comment, make_user, db
):
    comment = make_comment(thread=article.thread)
    article.thread.state = ThreadState.locked
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert "This thread is locked" in html and "Add new comment" not in html
    auth.login(make_user())
    html = _html(client.get("/articles/on-threads"))
    assert 'action="/threads/' not in html and ">Reply<" not in html
    for url, data in [
        (f"/threads/{article.thread_id}/comments", {"body": "Locked words"}),
        (f"/comments/{comment.id}/reply", {"body": "Locked words"}),
    ]:
        response = client.post(url, data=data)
        assert response.status_code == 409
        html = _html(response)
        assert "locked" in html and "Locked words" in html
    assert Comment.query.count() == 1


def test_guest_on_a_locked_thread_gets_a_message(client, article, db):
    article.thread.state = ThreadState.locked
    db.session.commit()
    response = client.post(
        f"/threads/{article.thread_id}/comments", data={"name": "Ann", "body": "Guest text"}
    )
    assert response.status_code == 409
    assert "locked" in _html(response) and "Guest text" in _html(response)


def test_edit_within_and_after_the_window(client, auth, article, make_user, db):
    author = make_user()
    comment = comments.add_comment(article.thread, author, "Original")
    db.session.commit()
    auth.login(author)
    html = _html(client.get("/articles/on-threads"))
    assert f'href="/comments/{comment.id}/edit"' in html
    response = client.post(f"/comments/{comment.id}/edit", data={"body": "Changed"})
    assert response.status_code == 302
    html = _html(client.get("/articles/on-threads"))
    assert "Changed" in html and "(edited)" in html

    comment.created_at = utcnow() - timedelta(minutes=31)
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert f'href="/comments/{comment.id}/edit"' not in html
    assert client.get(f"/comments/{comment.id}/edit").status_code == 409
    response = client.post(f"/comments/{comment.id}/edit", data={"body": "Too late text"})
    assert response.status_code == 409
    html = _html(response)
    assert "30 minutes" in html and "Too late text" in html
    assert db.session.get(Comment, comment.id).body == "Changed"


def test_edit_of_someone_elses_comment_is_forbidden(client, auth, article, make_user, db):
    comment = comments.add_comment(article.thread, make_user(), "Theirs")
    db.session.commit()
    auth.login(make_user())
    assert client.get(f"/comments/{comment.id}/edit").status_code == 403
    assert client.post(f"/comments/{comment.id}/edit", data={"body": "Mine"}).status_code == 403
    assert client.post(f"/comments/{comment.id}/delete").status_code == 403
    assert db.session.get(Comment, comment.id).body == "Theirs"


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/comments/{id}/reply"),
        ("post", "/comments/{id}/reply"),
        ("get", "/comments/{id}/edit"),
        ("post", "/comments/{id}/edit"),
        ("get", "/comments/{id}/delete"),
        ("post", "/comments/{id}/delete"),
    ],
)
def test_member_routes_send_visitors_to_sign_in(client, make_comment, method, url):
    comment = make_comment()
    response = getattr(client, method)(url.format(id=comment.id), data={"body": "x"})
    assert response.status_code == 302 and "/login" in response.location


def test_delete_own_comment_leaves_placeholder_and_replies(
    client, auth, article, make_user, make_comment, db
):
    author = make_user()
    comment = comments.add_comment(article.thread, author, "Soon gone")
    reply = make_comment(parent=comment, body="Still here")
    db.session.commit()
    auth.login(author)
    assert "Delete my comment" in _html(client.get(f"/comments/{comment.id}/delete"))
    response = client.post(f"/comments/{comment.id}/delete")
    assert response.status_code == 302
    html = _html(client.get("/articles/on-threads"))
    assert "Comment deleted by its author" in html and "Soon gone" not in html
    assert "Still here" in html and _ids(html) == [comment.id, reply.id]


def test_suspended_member_is_refused_with_the_reason(client, auth, article, make_user):
    member = make_user(suspended_until=utcnow() + timedelta(days=2), suspension_reason="flooding")
    auth.login(member)
    html = _html(client.get("/articles/on-threads"))
    assert "you can read, but not comment" in html
    response = client.post(f"/threads/{article.thread_id}/comments", data={"body": "Hi"})
    assert response.status_code == 403 and "flooding" in _html(response)


def test_hidden_and_deleted_placeholders_and_what_moderators_see(
    app, client, auth, article, make_comment, make_user, db
):
    hidden = make_comment(thread=article.thread, body="Nasty words")
    hidden.status = CommentStatus.hidden
    hidden.hidden_reason = "abuse"
    reply = make_comment(parent=hidden, body="Reply under hidden")
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert "Comment hidden by a moderator: abuse" in html
    assert "Nasty words" not in html and "Reply under hidden" in html
    assert _ids(html) == [hidden.id, reply.id]
    moderator = make_user(role=Role.moderator)
    auth.login(moderator)
    html = _html(client.get("/articles/on-threads"))
    assert "Nasty words" in html and "Visible to moderators only" in html


def test_pending_comment_shows_to_moderators_only(client, auth, article, make_user, db):
    comments.post_guest_comment(article, "Ann", "Pending words")
    db.session.commit()
    auth.login(make_user())
    assert "Pending words" not in _html(client.get("/articles/on-threads"))
    auth.logout()
    auth.login(make_user(role=Role.moderator))
    html = _html(client.get("/articles/on-threads"))
    assert "Pending words" in html and "Awaiting approval" in html


def test_hidden_thread_shows_to_moderators_only(client, auth, article, make_comment, make_user, db):
    comment = make_comment(thread=article.thread)
    article.thread.state = ThreadState.hidden
    db.session.commit()
    assert client.get("/articles/on-threads").status_code == 404
    assert client.get(f"/comments/{comment.id}").status_code == 404
    auth.login(make_user(role=Role.moderator))
    assert client.get("/articles/on-threads").status_code == 200


def test_pinned_comment_comes_first_and_is_marked(client, article, make_comment, db):
    first = make_comment(thread=article.thread)
    second = make_comment(thread=article.thread)
    second.pinned = True
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert _ids(html) == [second.id, first.id]
    assert "Pinned" in html


def test_moved_comment_links_to_its_new_thread(client, article, make_comment, make_thread, db):
    new_thread = make_thread(title="Moved away")
    comment = make_comment(thread=article.thread)
    comment.moved_to_thread_id = new_thread.id
    db.session.commit()
    html = _html(client.get("/articles/on-threads"))
    assert f'href="/threads/{new_thread.id}"' in html
    assert client.get(f"/threads/{new_thread.id}").status_code == 200
    response = client.get(f"/threads/{article.thread_id}")
    assert response.status_code == 302 and response.location.endswith("/articles/on-threads")


def test_deep_replies_go_flat_with_replying_to(client, article, make_comment):
    comment = make_comment(thread=article.thread, author_name="Level 0")
    chain = [comment]
    for depth in range(1, 12):
        chain.append(make_comment(parent=chain[-1], author_name=f"Level {depth}"))
    app_html = _html(client.get("/articles/on-threads"))
    # Indentation stops at MAX_DEPTH (8); deeper replies say whom they answer.
    assert "depth-9" not in app_html
    assert app_html.count('class="comment depth-8"') >= 1
    assert f'href="/comments/{chain[8].id}">replying to Level 8' in app_html
    assert f'href="/comments/{chain[7].id}">replying to' not in app_html


def test_comment_markdown_is_sanitised_and_links_are_nofollow(client, article, make_comment):
    make_comment(
        thread=article.thread, body="[site](https://example.org) <script>alert(1)</script>"
    )
    html = _html(client.get("/articles/on-threads"))
    assert 'rel="nofollow ugc noopener"' in html
    assert "<script>alert" not in html


def test_pagination_and_permalink_to_page_three(app, client, article, make_comment):
    app.config["COMMENTS_PER_PAGE"] = 2
    try:
        tops = [make_comment(thread=article.thread, body=f"Top {i}") for i in range(6)]
        reply = make_comment(parent=tops[5], body="Reply on page three")
        response = client.get(f"/comments/{reply.id}")
        assert response.status_code == 302
        assert response.location.endswith(f"/articles/on-threads?page=3#comment-{reply.id}")
        html = _html(client.get("/articles/on-threads?page=3"))
        assert _ids(html) == [tops[4].id, tops[5].id, reply.id]
        assert "Page 3 of 3" in html
        first = client.get(f"/comments/{tops[0].id}")
        assert first.location.endswith(f"/articles/on-threads#comment-{tops[0].id}")
        # Out-of-range and junk pages fall back to a real page.
        assert _ids(_html(client.get("/articles/on-threads?page=99"))) == _ids(html)
        assert client.get("/articles/on-threads?page=abc").status_code == 200
    finally:
        app.config["COMMENTS_PER_PAGE"] = 20


def test_big_subthread_folds_and_loads_on_demand(app, client, article, make_comment):
    app.config.update(COMMENT_REPLIES_SHOWN=3, COMMENT_REPLIES_BATCH=4)
    try:
        top = make_comment(thread=article.thread)
        replies = [make_comment(parent=top, body=f"Reply {i}") for i in range(9)]
        html = _html(client.get("/articles/on-threads"))
        assert _ids(html) == [top.id] + [r.id for r in replies[:3]]
        assert "6 more replies" in html
        link = f"/comments/{top.id}/replies?start=3"
        assert f'href="{link}"' in html
        page = _html(client.get(link))
        assert _ids(page) == [top.id] + [r.id for r in replies[3:7]]
        assert "2 more replies" in page
        fragment = _html(client.get(link + "&partial=1"))
        assert "<html" not in fragment
        assert _ids(fragment) == [r.id for r in replies[3:7]]
        # A permalink to a folded reply opens the batch that shows it.
        response = client.get(f"/comments/{replies[8].id}")
        assert response.location.endswith(
            f"/comments/{top.id}/replies?start=7#comment-{replies[8].id}"
        )
        assert replies[8].body in _html(client.get(response.location))
    finally:
        app.config.update(COMMENT_REPLIES_SHOWN=10, COMMENT_REPLIES_BATCH=50)


def test_posting_is_rate_limited(limited_app, make_user, make_article):
    limited_app.config["RATELIMIT_POST"] = "2 per minute"
    try:
        article = make_article()
        client = limited_app.test_client()
        client.post(
            "/login", data={"login": make_user().username, "password": "correct horse battery"}
        )
        codes = [
            client.post(
                f"/threads/{article.thread_id}/comments", data={"body": f"n{i}"}
            ).status_code
            for i in range(3)
        ]
        assert codes == [302, 302, 429]
    finally:
        limited_app.config["RATELIMIT_POST"] = "20 per minute;300 per hour"


def test_first_comment_is_flagged_for_review(client, auth, article, make_user, db):
    auth.login(make_user())
    client.post(f"/threads/{article.thread_id}/comments", data={"body": "My first"})
    client.post(f"/threads/{article.thread_id}/comments", data={"body": "My second"})
    flags = dict(db.session.execute(sa.select(Comment.body, Comment.needs_review)).all())
    assert flags == {"My first": True, "My second": False}


@pytest.mark.parametrize(
    "url",
    [
        "/comments/99999999999999999999",
        "/comments/99999999999999999999/replies",
        "/comments/0",
        "/threads/99999999999999999999",
        "/comments/{id}/replies?start=99999999999999999999",
        "/articles/{slug}?page=99999999999999999999",
        "/articles/{slug}?page=-3",
    ],
)
def test_absurd_ids_and_pages_never_give_a_500(client, make_comment, url):
    comment = make_comment()
    slug = comment.thread_id and Article.query.filter_by(thread_id=comment.thread_id).one().slug
    response = client.get(url.format(id=comment.id, slug=slug))
    assert response.status_code in (200, 404)


def test_absurd_parent_id_is_a_form_error(client, auth, article, make_user):
    auth.login(make_user())
    response = client.post(
        f"/threads/{article.thread_id}/comments",
        data={"body": "Kept text", "parent_id": "99999999999999999999"},
    )
    assert response.status_code == 400 and "Kept text" in _html(response)


def test_a_page_of_more_top_level_comments_than_one_compound_select_takes(
    app, client, db, make_article, monkeypatch
):
    """SQLite allows 500 arms in a UNION: 1,000 sub-threads on one page still open."""
    from tests.fixtures.threads import bulk_comments

    article = make_article()
    bulk_comments(db, article.thread, 6_000)
    top_level = db.session.scalar(
        sa.select(sa.func.count()).where(Comment.thread_id == article.thread_id, Comment.depth == 0)
    )
    assert top_level > 500
    monkeypatch.setitem(app.config, "COMMENTS_PER_PAGE", 1000)
    response = client.get(f"/articles/{article.slug}")
    assert response.status_code == 200
    assert response.get_data(as_text=True).count('class="comment depth-0') == top_level


def test_no_replies_shown_folds_every_sub_thread(
    app, client, make_article, make_comment, monkeypatch
):
    article = make_article()
    top = make_comment(thread=article.thread, body="Top")
    make_comment(parent=top, body="Folded reply")
    monkeypatch.setitem(app.config, "COMMENT_REPLIES_SHOWN", 0)
    html = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "Top" in html and "Folded reply" not in html and "1 more reply" in html
