"""A thread's lines as fragments: Russian dolls, each keyed on what it shows.

The outermost doll is a page's lines (thread_lines), kept under the
thread's row version, which any change to its comments or to their
authors' names moves (app/models/triggers.py), and under what the lines'
predicates ask of the viewer: signed in or not, suspended or not, and which
of the thread's comments are theirs and still editable. Readers who took no
part in a thread share its pages; on a hit no comment is read at all.

The inner doll (_comment.html) is a comment's header and text: the same for
every viewer but moderators (who see hidden text and deleted authors). The
outer doll (_entry.html) is the whole line: the inner doll and the links the
viewer may follow, keyed on the answers of the model predicates
(`can_reply`, `can_edit`, ...), so viewers with the same permissions share
it. A moderator's lines carry their own menu (CSRF tokens): the inner dolls
are shared, the lines rendered for them.
"""

import functools

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user
from markupsafe import Markup

from ..extensions import db
from ..fragments import cached, render_shared
from ..models import Comment
from ..models.moderation import can_report
from . import bp

COMMENT_TEMPLATE = "articles/_comment.html"
ENTRY_TEMPLATE = "articles/_entry.html"
LINES_TEMPLATE = "articles/_lines.html"


@functools.cache
def _own_comments_select() -> sa.Select:
    return sa.select(Comment.id, Comment.created_at).where(
        Comment.thread_id == sa.bindparam("thread_id"),
        Comment.author_id == sa.bindparam("user_id"),
    )


def _viewer_facts(view) -> tuple:
    """What the lines' predicates (can_reply, can_edit, ...) ask of the viewer."""
    user = current_user
    if not user.is_authenticated:
        return ("visitor",)
    own = db.session.execute(
        _own_comments_select(), {"thread_id": view.thread.id, "user_id": user.id}
    ).all()
    deadline = view.now - view.edit_window  # written after it: still editable
    return (
        user.id if own else "member",
        user.can_write(view.now),
        tuple((comment_id, created_at >= deadline) for comment_id, created_at in own),
    )


def _render_lines(view) -> Markup:
    template = current_app.jinja_env.get_template(LINES_TEMPLATE)
    # Our own template's output, escaped as it was rendered.
    return Markup(template.render(view=view))  # nosec B704


@bp.app_template_global()
def thread_lines(view) -> Markup:
    """A page's lines, whole from the cache where viewers see them alike.

    A moderator's lines carry their own menu, and a batch of replies is
    small: both are made from the line fragments each time.
    """
    if view.is_moderator or view.page_key is None:
        return _render_lines(view)
    thread = view.thread
    key = (
        thread.id,
        thread.row_version,
        *view.page_key,
        _viewer_facts(view),
        tuple(sorted(view.own_pending_ids)),
        request.full_path,
    )
    return cached("thread-lines", key, lambda: _render_lines(view))


def _inner_key(view, entry) -> tuple:
    c = entry.comment
    return (
        c.id,
        c.created_at,
        c.row_version,
        # The author's row: a new name, or a deleted account, shows at once.
        view.author_of(c),
        view.username_of(c),
        view.is_moderator,
        entry.own_pending,
        entry.replying_to_id,
        entry.replying_to_name,
    )


def _inner(view, entry, key: tuple) -> Markup:
    c = entry.comment
    return render_shared(
        COMMENT_TEMPLATE,
        [entry],
        key=lambda e: key,
        context=lambda e: {
            "c": c,
            "name": view.author_of(c),
            "username": view.username_of(c),
            "moderator": view.is_moderator,
            "own_pending": e.own_pending,
            "replying_to_id": e.replying_to_id,
            "replying_to_name": e.replying_to_name,
        },
    )[0]


def _may(view, entry, user) -> dict:
    c = entry.comment
    return {
        "reply": c.can_reply(user),
        "edit": c.can_edit(user, view.now, view.edit_window),
        "delete": c.can_delete(user),
        "report": can_report(user, c),
    }


@bp.app_template_global()
def comment_entries(view) -> dict[int, Markup]:
    """Each comment line of a ThreadView, by comment id."""
    entries = [e for e in view.entries if not e.is_fold]
    user = current_user._get_current_object()
    here = request.full_path
    moderator = view.is_moderator
    may = {e.comment.id: _may(view, e, user) for e in entries}
    inner_keys = {e.comment.id: _inner_key(view, e) for e in entries}

    def context(e) -> dict:
        return {
            "c": e.comment,
            "entry": e,
            "name": view.author_of(e.comment),
            "inner": _inner(view, e, inner_keys[e.comment.id]),
            "may": may[e.comment.id],
            "here": here,
            "moderator": moderator,
        }

    if moderator:
        # The request's template context (current_user, csrf_token) made once.
        base: dict = {}
        current_app.update_template_context(base)
        template = current_app.jinja_env.get_template(ENTRY_TEMPLATE)
        # Our own template's output, escaped as it was rendered.
        lines = [Markup(template.render(**base, **context(e))) for e in entries]  # nosec B704
    else:
        lines = render_shared(
            ENTRY_TEMPLATE,
            entries,
            key=lambda e: (
                *inner_keys[e.comment.id],
                e.indent,
                tuple(may[e.comment.id].values()),
                here,
            ),
            context=context,
        )
    return {e.comment.id: line for e, line in zip(entries, lines, strict=True)}
