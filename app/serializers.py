"""One serializer per resource: the pages' JSON twins and the API (/api/v1) dump through these.

Each schema applies the one visibility rule (app.visibility and the model
predicates) for its viewer: the member the request acts for (a session on
the pages, a token on the API; None for a visitor) unless one is given.
A hidden proposal keeps its number, state and count and loses its text and
names; a comment shows its author and text as its thread page would.

Moments are UTC and written as ISO 8601 with a "Z"; links are site paths
built by app.urls' named links (as paths).
"""

from datetime import datetime

from marshmallow import Schema, fields, post_dump

from .models.thread import CommentStatus
from .names import FORMER_MEMBER
from .urls import (
    article_url,
    comment_url,
    path_for,
    profile_url,
    proposal_url,
    round_url,
    thread_url,
)
from .visibility import can_see_proposal, sees_hidden
from .web import request_viewer

_UNSET = object()


def iso(value: datetime | None) -> str | None:
    """A stored (naive UTC) moment as ISO 8601 with "Z"."""
    return value.isoformat() + "Z" if value else None


class UtcDateTime(fields.DateTime):
    """A naive UTC datetime written with "Z" (RFC 3339, as OpenAPI's date-time asks)."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


class ViewerSchema(Schema):
    """A schema that knows whom it serializes for (the request's member by default)."""

    def __init__(self, *args, viewer=_UNSET, **kwargs):
        super().__init__(*args, **kwargs)
        self._viewer = viewer

    @property
    def viewer(self):
        return request_viewer() if self._viewer is _UNSET else self._viewer


# --- Members ------------------------------------------------------------------------


class MemberSchema(ViewerSchema):
    """A member: @username and display name; a deleted account is "a former member"."""

    username = fields.Method("get_username", metadata={"type": ["string", "null"]})
    display_name = fields.Method("get_display_name", metadata={"type": "string"})
    role = fields.Method("get_role", metadata={"type": ["string", "null"]})
    joined = fields.Method("get_joined", metadata={"type": ["string", "null"]})
    url = fields.Method("get_url", metadata={"type": ["string", "null"]})

    def get_username(self, user):
        return None if user.deleted_at is not None else user.username

    def get_display_name(self, user):
        return FORMER_MEMBER if user.deleted_at is not None else user.display_name

    def get_role(self, user):
        return None if user.deleted_at is not None else user.role.value

    def get_joined(self, user):
        return None if user.deleted_at is not None else iso(user.created_at)

    def get_url(self, user):
        if user.deleted_at is not None:
            return None
        return profile_url(user.username, build=path_for)


def person(user) -> dict | None:
    """A member as other resources name them (username and display name)."""
    if user is None:
        return None
    return MemberSchema(only=("username", "display_name")).dump(user)


class PersonField(fields.Field):
    """A nested member, as {username, display_name}."""

    def _serialize(self, value, attr, obj, **kwargs):
        return person(value)


PERSON_DOC = {
    "type": "object",
    "properties": {
        "username": {"type": ["string", "null"]},
        "display_name": {"type": "string"},
    },
}


# --- Rounds -------------------------------------------------------------------------


class RoundSchema(ViewerSchema):
    slug = fields.String()
    title = fields.String()
    description = fields.String()
    state = fields.Function(lambda r: r.state.value, metadata={"type": "string"})
    submission_deadline = UtcDateTime(allow_none=True)
    cosign_deadline = UtcDateTime(allow_none=True)
    threshold = fields.Integer(allow_none=True)
    url = fields.Function(lambda r: round_url(r.slug, build=path_for), metadata={"type": "string"})
    # Proposals by state and in all ("total"), when the caller counted them.
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), dump_default=None)

    def __init__(self, *args, counts: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self._counts = counts

    @post_dump(pass_original=True)
    def _add_counts(self, data, round_, **kwargs):
        data.pop("counts", None)
        if self._counts is not None:
            data["counts"] = self._counts.get(round_.id, {})
        return data


# --- Proposals ----------------------------------------------------------------------

# What a viewer who may not see a proposal still learns of it.
HIDDEN_PROPOSAL_FIELDS = (
    "id",
    "number",
    "state",
    "supporter_count",
    "created_at",
    "url",
    "round",
    "hidden",
    "hidden_reason",
)


class ProposalSchema(ViewerSchema):
    """A proposal as listed (a round's page, a profile, the API's lists)."""

    id = fields.Integer()
    number = fields.Integer()
    state = fields.Function(lambda p: p.state.value, metadata={"type": "string"})
    supporter_count = fields.Integer()
    created_at = UtcDateTime()
    url = fields.Function(lambda p: proposal_url(p.id, build=path_for), metadata={"type": "string"})
    round_slug = fields.Function(lambda p: p.round.slug, metadata={"type": "string"})
    title = fields.String()
    author = PersonField(metadata=PERSON_DOC)
    # The successor's number and id ("withdrawn in favour of Proposal 7"), if visible.
    successor = fields.Method("get_successor", metadata={"type": ["integer", "null"]})
    successor_id = fields.Method("get_successor_id", metadata={"type": ["integer", "null"]})
    hidden = fields.Boolean(attribute="is_hidden")
    hidden_reason = fields.String(allow_none=True)

    def _visible_successor(self, proposal):
        successor = proposal.successor if proposal.successor_id else None
        return successor if can_see_proposal(self.viewer, successor) else None

    def get_successor(self, proposal):
        successor = self._visible_successor(proposal)
        return successor.number if successor else None

    def get_successor_id(self, proposal):
        successor = self._visible_successor(proposal)
        return successor.id if successor else None

    @post_dump(pass_original=True)
    def _apply_visibility(self, data, proposal, **kwargs):
        if not can_see_proposal(self.viewer, proposal):
            return {k: v for k, v in data.items() if k in HIDDEN_PROPOSAL_FIELDS}
        if not proposal.is_hidden:
            data["hidden_reason"] = None
        return data


class WithdrawalSchema(Schema):
    at = UtcDateTime(attribute="withdrawn_at")
    reason = fields.Function(lambda p: p.withdrawal_reason.value, metadata={"type": "string"})
    explanation = fields.String(attribute="withdrawal_explanation", allow_none=True)


class ProposalDetailSchema(ProposalSchema):
    """A proposal in full (its page, the API's read)."""

    round = fields.Method("get_round", metadata={"type": "object"})
    body = fields.String()
    version = fields.Integer()
    updated_at = UtcDateTime()
    coauthors = fields.Method("get_coauthors", metadata={"type": "array", "items": PERSON_DOC})
    withdrawal = fields.Method("get_withdrawal", metadata={"type": ["object", "null"]})
    decision_note = fields.String(allow_none=True)
    cosignature_count = fields.Integer()
    thread_id = fields.Integer()

    def get_round(self, proposal):
        return RoundSchema(viewer=self.viewer).dump(proposal.round)

    def get_coauthors(self, proposal):
        return [person(c.user) for c in proposal.accepted_coauthors()]

    def get_withdrawal(self, proposal):
        if not proposal.withdrawal_reason:
            return None
        return WithdrawalSchema().dump(proposal)


class VersionSchema(Schema):
    number = fields.Integer()
    title = fields.String()
    body = fields.String()
    at = UtcDateTime(attribute="created_at")


class SupporterSchema(Schema):
    """A co-signer (name and when they signed); dumped from (user, signed_at)."""

    username = fields.Method("get_username", metadata={"type": ["string", "null"]})
    display_name = fields.Method("get_display_name", metadata={"type": "string"})
    signed_at = fields.Method("get_signed_at", metadata={"type": "string"})

    def get_username(self, item):
        return person(item[0])["username"]

    def get_display_name(self, item):
        return person(item[0])["display_name"]

    def get_signed_at(self, item):
        return iso(item[1])


# --- Threads and comments -------------------------------------------------------------


class ThreadSchema(ViewerSchema):
    """A thread; only ever dumped for a viewer who may see it (Thread.is_visible_to)."""

    id = fields.Integer()
    state = fields.Function(lambda t: t.state.value, metadata={"type": "string"})
    title = fields.String(allow_none=True)
    comment_count = fields.Integer()
    url = fields.Function(lambda t: thread_url(t.id, build=path_for), metadata={"type": "string"})


class CommentSchema(ViewerSchema):
    """A comment as its thread page shows it to the viewer (placeholders keep no text)."""

    id = fields.Integer()
    thread_id = fields.Integer()
    parent_id = fields.Integer(allow_none=True)
    depth = fields.Integer()
    author = fields.Method("get_author", metadata={"type": ["string", "null"]})
    username = fields.Method("get_username", metadata={"type": ["string", "null"]})
    verified = fields.Method("get_verified", metadata={"type": ["boolean", "null"]})
    status = fields.Function(lambda c: c.status.value, metadata={"type": "string"})
    pinned = fields.Boolean()
    body = fields.Method("get_body", metadata={"type": ["string", "null"]})
    hidden_reason = fields.Method("get_hidden_reason", metadata={"type": ["string", "null"]})
    created_at = UtcDateTime()
    edited_at = UtcDateTime(allow_none=True)
    moved_to_thread_id = fields.Integer(allow_none=True)
    url = fields.Function(lambda c: comment_url(c.id, build=path_for), metadata={"type": "string"})

    def _moderator(self) -> bool:
        return sees_hidden(self.viewer)

    def get_author(self, comment):
        from .services.threads import shown_author

        return shown_author(comment, self._moderator())

    def get_username(self, comment):
        if self.get_author(comment) is None or comment.author is None:
            return None
        return None if comment.author.deleted_at is not None else comment.author.username

    def get_verified(self, comment):
        return comment.is_verified if self.get_author(comment) is not None else None

    def get_body(self, comment):
        return comment.body if comment.shows_text_to(self.viewer) else None

    def get_hidden_reason(self, comment):
        return comment.hidden_reason if comment.status == CommentStatus.hidden else None


# --- Articles -------------------------------------------------------------------------


class ArticleSchema(ViewerSchema):
    id = fields.Integer()
    slug = fields.String()
    title = fields.String()
    source = fields.String(allow_none=True)
    author = fields.String(attribute="author_name", allow_none=True)
    submitted_by = fields.String(allow_none=True)
    published_at = UtcDateTime(allow_none=True)
    original_url = fields.String(allow_none=True)
    # Lists leave the text out (None); an article's own page and read carry it.
    body = fields.Method("get_body", metadata={"type": ["string", "null"]})
    allow_guest_comments = fields.Boolean()
    thread_id = fields.Integer()
    comment_count = fields.Function(lambda a: a.thread.comment_count, metadata={"type": "integer"})
    url = fields.Function(
        lambda a: article_url(a.slug, build=path_for), metadata={"type": "string"}
    )

    def __init__(self, *args, brief: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self._brief = brief

    def get_body(self, article):
        return None if self._brief else article.body


# --- Notifications and the moderation log --------------------------------------------


class NotificationSchema(Schema):
    """A notification as its member may see it now (services.notifications.shown_notifications)."""

    id = fields.Integer()
    kind = fields.String()
    message = fields.String()
    link = fields.String(allow_none=True)
    action_url = fields.String(allow_none=True)
    action_label = fields.String(allow_none=True)
    read = fields.Function(lambda n: n.read_at is not None, metadata={"type": "boolean"})
    created_at = UtcDateTime()


class ModerationLogEntrySchema(Schema):
    """One line of the public moderation log, its target named as the viewer may see it.

    Dumped from a moderation.queries.LogLine (the entry and its target's label).
    """

    id = fields.Function(lambda line: line.entry.id, metadata={"type": "integer"})
    at = fields.Function(lambda line: iso(line.entry.created_at), metadata={"type": "string"})
    moderator = fields.Function(
        lambda line: line.entry.moderator.username if line.entry.moderator else None,
        metadata={"type": ["string", "null"]},
    )
    action = fields.Function(lambda line: line.entry.action, metadata={"type": "string"})
    target_type = fields.Function(lambda line: line.entry.target_type, metadata={"type": "string"})
    target_id = fields.Function(lambda line: line.entry.target_id, metadata={"type": "integer"})
    target = fields.String(attribute="target_label", allow_none=True)
    reason = fields.Function(lambda line: line.entry.reason, metadata={"type": "string"})
    details = fields.Function(
        lambda line: line.entry.details, metadata={"type": ["string", "null"]}
    )
