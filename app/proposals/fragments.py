"""Proposal fragments: a proposal's line in its round's table, and its supporters list."""

from flask_login import current_user
from markupsafe import Markup

from ..fragments import render_shared
from ..names import who
from ..services import proposals as svc
from . import bp

ROW_TEMPLATE = "proposals/_row.html"


@bp.app_template_global()
def proposal_rows(proposals, round_, withdrawn: bool, leader: int) -> list[Markup]:
    """Each proposal's table row, shared by the viewers who see it alike."""

    def successor(p):
        return (p.successor.id, p.successor.label) if p.successor_id is not None else (None, None)

    def values(p) -> dict:
        successor_id, successor_label = successor(p)
        return {
            "p": p,
            "visible": p.is_visible_to(current_user),
            "author_name": who(p.author),
            "round": round_,
            "leader": leader,
            "withdrawn": withdrawn,
            "successor_id": successor_id,
            "successor_label": successor_label,
        }

    def key(p) -> tuple:
        author = p.author  # what who() shows of them
        return (
            p.id,
            p.created_at,
            p.row_version,
            p.is_visible_to(current_user),
            author.display_name,
            author.username,
            author.deleted_at is None,
            round_.threshold,
            leader,
            withdrawn,
            p.successor_id,
        )

    return render_shared(ROW_TEMPLATE, proposals, key=key, context=values)


def supporters_list(proposal) -> Markup:
    """The names of the first supporters, a fragment kept until the proposal's row moves.

    Co-signing, un-signing, a co-author's answer and a supporter's new
    display name all move it (app/models/triggers.py); the list is read
    only when the fragment is made.
    """
    return render_shared(
        "proposals/_supporters.html",
        [proposal],
        key=lambda p: (p.id, p.created_at, p.row_version),
        context=lambda p: {
            "proposal": p,
            "supporters": svc.current_supporters(p, svc.SUPPORTERS_SHOWN),
            "shown_limit": svc.SUPPORTERS_SHOWN,
        },
    )[0]
