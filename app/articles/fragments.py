"""A thread's lines as fragments: Russian dolls, each keyed on what it shows.

The inner doll (_comment.html) is a comment's header and text: the same for
every viewer but moderators (who see hidden text and deleted authors). The
outer doll (_entry.html) is the whole line: the inner doll and the links the
viewer may follow, keyed on the answers of the model predicates
(`can_reply`, `can_edit`, ...), so viewers with the same permissions share
it. A moderator's lines carry their own menu (CSRF tokens): the inner dolls
are shared, the lines rendered for them.
"""

from flask import current_app, request
from flask_login import current_user
from markupsafe import Markup

from ..fragments import render_shared
from ..models.moderation import can_report
from . import bp

COMMENT_TEMPLATE = "articles/_comment.html"
ENTRY_TEMPLATE = "articles/_entry.html"


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
