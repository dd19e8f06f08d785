"""Random comment trees rendered through the real article page (hypothesis)."""

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.models import Article, CommentStatus, Thread
from app.services.comments import insert_comment

STATUSES = [
    CommentStatus.published,
    CommentStatus.published,
    CommentStatus.published,
    CommentStatus.hidden,
    CommentStatus.deleted,
    CommentStatus.pending,
]

# Each comment: (which earlier comment it replies to, 0 = top level, its final status).
trees = st.lists(
    st.tuples(st.integers(min_value=0, max_value=40), st.sampled_from(STATUSES)),
    min_size=1,
    max_size=30,
)

ITEM = re.compile(r'<li class="comment [^"]*"\s+id="comment-(\d+)"')


FOLD = re.compile(r'<li class="comment-fold[^"]*">.*?data-fragment-url="([^"]+)".*?</li>', re.S)


def _unfold(client, html: str) -> str:
    """Replace every "N more replies" with the replies it loads, as threads.js does."""
    while match := FOLD.search(html):
        url = match.group(1).replace("&amp;", "&")
        fragment = client.get(url).get_data(as_text=True)
        html = html[: match.start()] + fragment + html[match.end() :]
    return html


def _render_all_pages(client, slug) -> str:
    html = client.get(f"/articles/{slug}").get_data(as_text=True)
    pages = int(re.search(r"Page \d+ of (\d+)", html).group(1)) if "Page 1 of" in html else 1
    chunks = [_unfold(client, html)]
    for page in range(2, pages + 1):
        page_html = client.get(f"/articles/{slug}?page={page}").get_data(as_text=True)
        chunks.append(_unfold(client, page_html))
    return "".join(chunks)


def _split_items(html: str) -> list[tuple[int, str]]:
    """(comment id, its markup) for every rendered comment, in page order."""
    matches = list(ITEM.finditer(html))
    items = []
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(html)
        items.append((int(match.group(1)), html[match.start() : end]))
    return items


_serial = iter(range(1, 10**9))


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(tree=trees)
def test_rendered_thread_shows_every_visible_comment_once_in_order(app, db, tree):
    # Small pages and folds, so most trees span pages and fold their sub-threads.
    app.config.update(COMMENTS_PER_PAGE=4, COMMENT_REPLIES_SHOWN=3, COMMENT_REPLIES_BATCH=2)
    try:
        n = next(_serial)
        thread = Thread(title=f"Tree {n}")
        db.session.add(thread)
        db.session.flush()
        article = Article(title=f"Tree {n}", slug=f"tree-{n}", body="b", thread_id=thread.id)
        db.session.add(article)
        db.session.flush()
        made = []
        for index, (parent_choice, _status) in enumerate(tree):
            parent = made[parent_choice - 1] if 0 < parent_choice <= len(made) else None
            made.append(
                insert_comment(
                    thread,
                    parent,
                    body=f"body-{n}-{index}-text",
                    author_name=f"Name {index}",
                    is_verified=False,
                )
            )
        # Statuses change after the replies exist (a moderator hides, an author deletes).
        # Only a comment nobody answered can still be pending: replies need a
        # published parent, and only guests' top-level comments wait for approval.
        answered = {c.parent_id for c in made}
        for comment, (_parent, status) in zip(made, tree, strict=True):
            if status == CommentStatus.pending and comment.id in answered:
                status = CommentStatus.published
            comment.status = status
            if status == CommentStatus.hidden:
                comment.hidden_reason = f"reason-{comment.id}"
        db.session.commit()

        items = _split_items(_render_all_pages(app.test_client(), article.slug))
        order = [cid for cid, _ in items]
        by_id = {c.id: c for c in made}
        visible = {c.id for c in made if c.status != CommentStatus.pending}

        # Every visible comment exactly once; pending ones not at all (a visitor reads).
        assert sorted(order) == sorted(visible)
        position = {cid: i for i, cid in enumerate(order)}
        for cid, markup in items:
            comment = by_id[cid]
            # After its parent (when the parent shows).
            if comment.parent_id in position:
                assert position[comment.parent_id] < position[cid]
            # Placeholders keep their place, without their text.
            if comment.status == CommentStatus.hidden:
                assert f"Comment hidden by a moderator: reason-{cid}" in markup
                assert comment.body not in markup
            elif comment.status == CommentStatus.deleted:
                assert "Comment deleted by its author" in markup
                assert comment.body not in markup
            else:
                assert comment.body in markup
        # Replies of hidden and deleted comments stay.
        for comment in made:
            if comment.parent_id is not None and comment.status != CommentStatus.pending:
                assert comment.id in position
        # Siblings oldest first.
        siblings: dict = {}
        for cid in order:
            siblings.setdefault(by_id[cid].parent_id, []).append(cid)
        for group in siblings.values():
            created = sorted(group, key=lambda c: (by_id[c].created_at, by_id[c].path))
            assert group == created
        # Whole sub-threads stay together: a comment's replies follow it before
        # the next comment that is not its descendant.
        for cid in order:
            path = by_id[cid].path
            descendants = [position[d] for d in order if by_id[d].path.startswith(path + ".")]
            if descendants:
                assert max(descendants) - position[cid] == len(descendants)
    finally:
        app.config.update(COMMENTS_PER_PAGE=20, COMMENT_REPLIES_SHOWN=10, COMMENT_REPLIES_BATCH=50)
