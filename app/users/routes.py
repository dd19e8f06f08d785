"""Member profiles: /users/<username>, their proposals and comments."""

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import abort, jsonify, render_template
from flask_login import current_user

from ..errors import wants_json
from ..extensions import db
from ..models import Comment, CommentStatus, Proposal, Thread, User
from ..models import moderation as rules
from ..models.user import username_key
from ..moderation.forms import ReasonForm, SuspendForm
from ..moderation.queries import thread_contexts
from ..serializers import CommentSchema, MemberSchema, ProposalSchema
from ..urls import comment_url, proposal_url
from ..visibility import sees_hidden, visible_proposals, visible_threads
from ..web import page_arg
from . import bp

PER_PAGE = 20


def _visible_proposals(member: User, viewer):
    stmt = sa.select(Proposal).where(Proposal.author_id == member.id, visible_proposals(viewer))
    return stmt.order_by(Proposal.created_at.desc(), Proposal.id.desc()).options(
        so.selectinload(Proposal.round)
    )


def _visible_comments(member: User, viewer):
    stmt = sa.select(Comment).where(Comment.author_id == member.id)
    if not sees_hidden(viewer):
        # Members see what the threads show them: published comments in
        # threads they may see (not hidden, not a hidden proposal's).
        stmt = stmt.join(Thread, Thread.id == Comment.thread_id).where(
            Comment.status == CommentStatus.published, visible_threads(viewer)
        )
    return stmt.order_by(Comment.created_at.desc(), Comment.id.desc())


@bp.route("/users/<username>")
def profile(username: str):
    member = db.session.scalar(sa.select(User).where(User.username_key == username_key(username)))
    if member is None or not member.email_confirmed or member.deleted_at is not None:
        # A sign-up waiting for its address to be confirmed is no member yet.
        abort(404)
    viewer = current_user
    proposals = db.paginate(
        _visible_proposals(member, viewer),
        page=page_arg("proposals_page"),
        per_page=PER_PAGE,
        error_out=False,
    )
    comments = db.paginate(
        _visible_comments(member, viewer),
        page=page_arg("comments_page"),
        per_page=PER_PAGE,
        error_out=False,
    )
    contexts = thread_contexts({c.thread_id for c in comments.items}, viewer)
    if wants_json():
        return jsonify(
            **MemberSchema().dump(member),
            proposals={
                "total": proposals.total,
                "page": proposals.page,
                "items": [
                    # "round" and "supporters": the names this page used before the API's.
                    {**item, "round": p.round.slug, "supporters": p.supporter_count}
                    for p, item in zip(
                        proposals.items,
                        ProposalSchema(many=True).dump(proposals.items),
                        strict=True,
                    )
                ],
            },
            comments={
                "total": comments.total,
                "page": comments.page,
                "items": CommentSchema(many=True).dump(comments.items),
            },
        )
    sees_suspension = rules.can_moderate(viewer) or (
        viewer.is_authenticated and viewer.id == member.id
    )
    return render_template(
        "users/profile.html",
        member=member,
        proposals=proposals,
        comments=comments,
        contexts=contexts,
        sees_suspension=sees_suspension,
        suspend_form=SuspendForm(formdata=None),
        lift_form=ReasonForm(formdata=None),
        comment_url=comment_url,
        proposal_url=proposal_url,
    )
