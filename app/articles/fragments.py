"""The comment fragment: a comment's header and text, shared by its viewers."""

from markupsafe import Markup

from ..fragments import render_shared
from . import bp

COMMENT_TEMPLATE = "articles/_comment.html"


def _key(entry, moderator: bool) -> tuple:
    c = entry.comment
    return (
        c.id,
        c.created_at,
        c.row_version,
        entry.comment.display_name,  # the author's row: a rename shows at once
        moderator,
        entry.own_pending,
        entry.replying_to_id,
        entry.replying_to_name,
    )


@bp.app_template_global()
def comment_fragments(view) -> dict[int, Markup]:
    """The shared part of each comment entry of a ThreadView, by comment id."""
    entries = [e for e in view.entries if not e.is_fold]
    moderator = view.is_moderator
    html = render_shared(
        COMMENT_TEMPLATE,
        entries,
        key=lambda e: _key(e, moderator),
        context=lambda e: {
            "c": e.comment,
            "name": e.comment.display_name,
            "moderator": moderator,
            "own_pending": e.own_pending,
            "replying_to_id": e.replying_to_id,
            "replying_to_name": e.replying_to_name,
        },
    )
    return {e.comment.id: part for e, part in zip(entries, html, strict=True)}
