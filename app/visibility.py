"""Who may see, name and link what: the one visibility rule.

A proposal hidden by a moderator, a hidden thread, and every comment of a
thread whose owner is hidden are seen, named and linked by active
moderators only. Everyone else meets a placeholder ("a hidden proposal")
wherever the thing would otherwise show: its own pages and JSON, its
thread's pages and reply forms, profiles, "in favour of" links, successor
choices, the moderation log, the queue and notifications. The model
predicates (`Proposal.is_visible_to`, `Thread.is_visible_to`) and the SQL
clauses below are this rule; nothing else decides it.
"""

import sqlalchemy as sa
from flask import current_app
from werkzeug.exceptions import HTTPException

HIDDEN_PROPOSAL = "a hidden proposal"
HIDDEN_THREAD = "a hidden thread"


def _signed_in(viewer) -> bool:
    return viewer is not None and bool(getattr(viewer, "is_authenticated", False))


def sees_hidden(viewer) -> bool:
    """Active moderators (and admins) see hidden things; a suspended one does not."""
    return _signed_in(viewer) and bool(viewer.is_moderator)


def can_see_proposal(viewer, proposal) -> bool:
    return proposal is not None and (not proposal.is_hidden or sees_hidden(viewer))


def can_see_thread(viewer, thread) -> bool:
    """A thread shows when it is not hidden and its owner (a proposal) is not hidden."""
    from .models.thread import ThreadState

    if thread is None:
        return False
    if sees_hidden(viewer):
        return True
    if thread.state == ThreadState.hidden:
        return False
    owner = thread.owner_proposal
    return owner is None or not owner.is_hidden


def proposal_name(viewer, proposal) -> str:
    """ "Proposal 7: Title" for those who may see it, "Proposal 7 (hidden)" otherwise."""
    if can_see_proposal(viewer, proposal):
        return f"{proposal.label}: {proposal.title}"
    return f"{proposal.label} (hidden)"


# --- SQL: the same rule in queries that list, count or name ------------------------


def visible_proposals(viewer, proposal=None) -> sa.ColumnElement[bool]:
    """SQL: proposals `viewer` may see (`proposal`: an alias of Proposal, if any)."""
    from .models import Proposal

    proposal = proposal if proposal is not None else Proposal
    return sa.true() if sees_hidden(viewer) else proposal.is_hidden.is_(False)


def visible_threads(viewer, thread=None) -> sa.ColumnElement[bool]:
    """SQL: threads `viewer` may see: not hidden, and not the thread of a hidden proposal."""
    from .models import Proposal, Thread, ThreadState

    thread = thread if thread is not None else Thread
    if sees_hidden(viewer):
        return sa.true()
    hidden_owner = (
        sa.select(Proposal.id)
        .where(Proposal.thread_id == thread.id, Proposal.is_hidden.is_(True))
        .exists()
    )
    return sa.and_(thread.state != ThreadState.hidden, ~hidden_owner)


def hidden_proposal_ids(viewer, ids) -> set[int]:
    """Which of these proposal ids `viewer` may not see (one query)."""
    from .extensions import db
    from .models import Proposal

    ids = {i for i in ids if i is not None}
    if not ids or sees_hidden(viewer):
        return set()
    return set(
        db.session.scalars(
            sa.select(Proposal.id).where(Proposal.id.in_(ids), Proposal.is_hidden.is_(True))
        )
    )


def hidden_thread_ids(viewer, ids) -> set[int]:
    """Which of these thread ids `viewer` may not see (one query)."""
    from .extensions import db
    from .models import Thread

    ids = {i for i in ids if i is not None}
    if not ids or sees_hidden(viewer):
        return set()
    shown = set(
        db.session.scalars(sa.select(Thread.id).where(Thread.id.in_(ids), visible_threads(viewer)))
    )
    return ids - shown


def hidden_comment_ids(viewer, ids) -> set[int]:
    """Which of these comment ids are in a thread `viewer` may not see (one query)."""
    from .extensions import db
    from .models import Comment, Thread

    ids = {i for i in ids if i is not None}
    if not ids or sees_hidden(viewer):
        return set()
    shown = set(
        db.session.scalars(
            sa.select(Comment.id)
            .join(Thread, Thread.id == Comment.thread_id)
            .where(Comment.id.in_(ids), visible_threads(viewer))
        )
    )
    return ids - shown


# --- Links stored as text (notifications) -------------------------------------------

_TARGET_ARGS = {"proposal_id": "proposal", "comment_id": "comment", "thread_id": "thread"}


def link_target(link: str | None) -> tuple[str, int] | None:
    """("proposal" | "comment" | "thread", id) that a site path names, if any."""
    if not link or not link.startswith("/"):
        return None
    path = link.split("#", 1)[0].split("?", 1)[0]
    try:
        _endpoint, args = current_app.url_map.bind("localhost").match(path, method="GET")
    except HTTPException:
        try:
            _endpoint, args = current_app.url_map.bind("localhost").match(path, method="POST")
        except HTTPException:
            return None
    for name, kind in _TARGET_ARGS.items():
        if name in args:
            return kind, args[name]
    return None


def hidden_links(viewer, links) -> set[str]:
    """Which of these site paths name something `viewer` may not see (three queries at most)."""
    targets = {link: link_target(link) for link in links if link}
    by_kind: dict[str, set[int]] = {"proposal": set(), "comment": set(), "thread": set()}
    for target in targets.values():
        if target:
            by_kind[target[0]].add(target[1])
    hidden = {
        "proposal": hidden_proposal_ids(viewer, by_kind["proposal"]),
        "comment": hidden_comment_ids(viewer, by_kind["comment"]),
        "thread": hidden_thread_ids(viewer, by_kind["thread"]),
    }
    return {link for link, t in targets.items() if t and t[1] in hidden[t[0]]}
