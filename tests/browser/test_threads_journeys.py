"""Chromium journeys through an article's thread."""

import re

import pytest
from playwright.sync_api import expect

from app.models import Comment


@pytest.fixture
def article(make_article):
    return make_article(title="US socialist organisation implodes", slug="implodes")


def test_visitor_posts_a_guest_comment_and_sees_it_awaits_approval(page, article):
    page.goto("/articles/implodes")
    page.get_by_label("Your name").fill("Matthew Gordon")
    page.get_by_label("Your comment").fill("Former ISO member here.")
    page.get_by_role("button", name="Send for approval").click()
    expect(page.locator(".flash")).to_contain_text("awaits approval")
    comment = Comment.query.filter_by(author_name="Matthew Gordon").one()
    item = page.locator(f"#comment-{comment.id}")
    expect(item).to_contain_text("Former ISO member here.")
    expect(item).to_contain_text("Matthew Gordon (not verified)")
    expect(item).to_contain_text("Your comment awaits approval")
    assert page.url.endswith(f"#comment-{comment.id}")


def test_member_replies_three_levels_deep_in_place(login_page, article, make_comment, make_user):
    top = make_comment(thread=article.thread, body="The first word.", author_name="Ann")
    later = make_comment(thread=article.thread, body="A later comment.", author_name="Zed")
    member = make_user(display_name="Rosa Member")
    page = login_page(member)
    page.goto("/articles/implodes")
    parent_id = top.id
    for level in (1, 2, 3):
        parent = page.locator(f"#comment-{parent_id}")
        parent.get_by_role("link", name=re.compile(r"^Reply")).first.click()
        # The inline form opens under the comment (JavaScript), no page load.
        form = parent.locator(".reply-form")
        expect(form).to_be_visible()
        form.get_by_label(re.compile("Your reply")).fill(f"Reply at level {level}")
        form.get_by_role("button", name="Post reply").click()
        page.wait_for_url(re.compile(r"#comment-\d+$"))
        new_id = int(page.url.rsplit("#comment-", 1)[1])
        reply = page.locator(f"#comment-{new_id}")
        expect(reply).to_contain_text(f"Reply at level {level}")
        expect(reply).to_contain_text("Rosa Member")
        expect(reply).to_have_class(re.compile(rf"\bdepth-{level}\b"))
        expect(reply).to_be_in_viewport()
        # In place: right after its parent's sub-thread, before the later comment.
        order = page.locator("li.comment").evaluate_all(
            "items => items.map(item => Number(item.dataset.commentId))"
        )
        assert order.index(new_id) == order.index(parent_id) + 1
        assert order.index(new_id) < order.index(later.id)
        assert reply.get_attribute("data-parent-id") == str(parent_id)
        parent_id = new_id


def test_permalink_to_a_comment_on_page_three_opens_page_three_at_it(
    app, page, article, make_comment
):
    app.config["COMMENTS_PER_PAGE"] = 2
    try:
        tops = [
            make_comment(thread=article.thread, body=f"Top-level comment {i}\n\n" + "Text. " * 80)
            for i in range(6)
        ]
        target = make_comment(parent=tops[4], body="The comment we link to.")
        page.goto(f"/comments/{target.id}")
        assert re.search(rf"/articles/implodes\?page=3#comment-{target.id}$", page.url)
        expect(page.get_by_text("Page 3 of 3")).to_be_visible()
        item = page.locator(f"#comment-{target.id}")
        expect(item).to_contain_text("The comment we link to.")
        expect(item).to_be_in_viewport()
        expect(page.get_by_text("Top-level comment 0")).to_have_count(0)
    finally:
        app.config["COMMENTS_PER_PAGE"] = 20


def test_folded_replies_load_in_place(app, page, article, make_comment):
    app.config.update(COMMENT_REPLIES_SHOWN=2, COMMENT_REPLIES_BATCH=3)
    try:
        top = make_comment(thread=article.thread, body="Root")
        replies = [make_comment(parent=top, body=f"Folded reply {i}") for i in range(6)]
        page.goto("/articles/implodes")
        expect(page.get_by_text("Folded reply 2")).to_have_count(0)
        page.get_by_role("link", name="4 more replies").click()
        expect(page.get_by_text("Folded reply 4")).to_be_visible()
        # Still the article page: the batch was fetched and put in place.
        assert page.url.endswith("/articles/implodes")
        page.get_by_role("link", name="1 more reply").click()
        expect(page.get_by_text("Folded reply 5")).to_be_visible()
        order = page.locator("li.comment").evaluate_all(
            "items => items.map(item => Number(item.dataset.commentId))"
        )
        assert order == [top.id] + [r.id for r in replies]
    finally:
        app.config.update(COMMENT_REPLIES_SHOWN=10, COMMENT_REPLIES_BATCH=50)
