"""Notifications: written by other services, read on /notifications, mailed by the worker.

Every notification is written with its mail in the same transaction: the
members whose preference for the notification's topic is "immediate" get an
outbox row (delivered by the worker, app/mail.py), "digest" ones are marked
for the daily digest. Both are set-based (INSERT ... SELECT, UPDATE ...
WHERE user_id IN (SELECT ...)), so telling 10,000 co-signers is a handful of
statements, not 10,000 round trips.
"""

import functools
import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import (
    CoauthorStatus,
    Cosignature,
    Delivery,
    Follow,
    FollowTarget,
    MailKind,
    Notification,
    NotificationPreference,
    OutboxMail,
    OutboxState,
    Proposal,
    ProposalCoauthor,
    Round,
    Thread,
    Topic,
    User,
)
from ..models.mail import DEFAULT_DELIVERY
from ..models.user import username_key
from ..timeutil import utcnow
from ..visibility import hidden_links, hidden_proposal_ids

HIDDEN_NOTIFICATION = "A notification about something a moderator has hidden since."
# Notifications whose point is telling a member that their own content was
# moderated: they stay as written (the member is told why).
ABOUT_OWN_MODERATION = frozenset({"proposal_hidden", "comment_hidden", "comment_moved"})


@dataclass(frozen=True)
class ShownNotification:
    """A notification as its member may see it now: the page and its JSON show this."""

    id: int
    kind: str
    message: str
    link: str | None
    action_url: str | None
    action_label: str | None
    created_at: datetime
    read_at: datetime | None

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "kind": self.kind,
            "message": self.message,
            "link": self.link,
            "action_url": self.action_url,
            "action_label": self.action_label,
            "read": self.read_at is not None,
        }


def shown_notifications(items, viewer) -> list[ShownNotification]:
    """Notifications as `viewer` may see them now (app.visibility, one query per kind).

    The message was written when the event happened; if what it names (or
    the successor its offer co-signs) has been hidden since, it is replaced
    by a placeholder and loses its link and offer.
    """
    hidden = hidden_links(viewer, [u for n in items for u in (n.link, n.action_url) if u])
    hidden_about = hidden_proposal_ids(viewer, {n.about_proposal_id for n in items})
    shown = []
    for n in items:
        if n.kind not in ABOUT_OWN_MODERATION and (
            n.link in hidden or n.action_url in hidden or n.about_proposal_id in hidden_about
        ):
            shown.append(
                ShownNotification(
                    n.id, n.kind, HIDDEN_NOTIFICATION, None, None, None, n.created_at, n.read_at
                )
            )
        else:
            shown.append(
                ShownNotification(
                    n.id, n.kind, n.message, n.link, n.action_url, n.action_label,
                    n.created_at, n.read_at,
                )
            )  # fmt: skip
    return shown


MODERATION_KINDS = {
    "comment_approved",
    "comment_hidden",
    "comment_moved",
    "comment_pinned",
    "comment_restored",
    "comment_unpinned",
    "proposal_hidden",
    "proposal_restored",
    "suspended",
    "suspension_lifted",
    "role_changed",
    "thread_locked",
    "thread_unlocked",
    "thread_hidden",
}
TOPIC_OF_KIND = {
    "reply": Topic.reply,
    "mention": Topic.mention,
    "new_proposal": Topic.new_proposal,
    "thread_comment": Topic.thread_comment,
    "proposal_edited": Topic.proposal_update,
    "proposal_withdrawn": Topic.proposal_update,
    "proposal_decided": Topic.proposal_update,
    "supported_proposal_hidden": Topic.proposal_update,
    "coauthor_invite": Topic.coauthor_invite,
}


def topic_for(kind: str, action_url: str | None = None) -> Topic:
    """The preference topic of a notification kind (a one-click successor offer is its own)."""
    if action_url and kind in ("proposal_withdrawn", "proposal_decided"):
        return Topic.successor_offer
    if kind in MODERATION_KINDS:
        return Topic.moderation
    return TOPIC_OF_KIND.get(kind, Topic.other)


# --- Writing notifications and their mail -----------------------------------------------


def _columns(kind, message, topic, now, event_key, **fields) -> dict:
    return {
        "kind": kind,
        "message": message[:1000],
        "topic": topic.value,
        "created_at": now,
        "event_key": event_key,
        **fields,
    }


def _delivery_of(topic: Topic):
    """SQL: the delivery each member (users.id) chose for `topic`, or its default."""
    chosen = (
        sa.select(NotificationPreference.delivery)
        .where(
            NotificationPreference.user_id == User.id,
            NotificationPreference.topic == topic.value,
        )
        .scalar_subquery()
    )
    return sa.func.coalesce(chosen, DEFAULT_DELIVERY[topic].value)


# The moment an event's statements compare with and write (:now): every
# statement below is built once per shape and run with bound values
# (building one cost more than running it, on every comment posted).
NOW = sa.bindparam("now", type_=sa.DateTime)


@functools.cache
def _mail_state(topic: Topic):
    """SQL (over users): "queued", "digest" or NULL for one member and topic, at :now.

    NULL when the member chose "never", has no confirmed address, is a demo
    member, or is suspended (then only moderation of their own content is mailed).
    """
    delivery = _delivery_of(topic)
    # Demo members (flask seed --demo) are invented: their addresses get no mail.
    mailable = [User.email_confirmed_at.is_not(None), User.is_demo.is_(False)]
    if topic != Topic.moderation:
        # A suspended member is not mailed about what they cannot act on.
        mailable.append(sa.or_(User.suspended_until.is_(None), User.suspended_until <= NOW))
    return sa.case(
        (sa.and_(*mailable, delivery == Delivery.immediate.value), "queued"),
        (sa.and_(*mailable, delivery == Delivery.digest.value), "digest"),
        else_=None,
    )


@functools.cache
def _mark_mail_stmt(topic: Topic) -> sa.Update:
    """Each notification of the event :the_event gets its member's mail_state."""
    # The tables' own statements (not the ORM's bulk forms): values are bound by name.
    return (
        sa.update(Notification.__table__)
        .where(Notification.event_key == sa.bindparam("the_event"), Notification.user_id == User.id)
        .values(mail_state=_mail_state(topic))
    )


@functools.cache
def _outbox_stmt() -> sa.Insert:
    """An outbox row for each notification of the event :the_event queued for mail."""
    return sa.insert(OutboxMail.__table__).from_select(
        ["key", "kind", "user_id", "notification_id", "state", "attempts", "next_attempt_at",
         "created_at"],
        sa.select(
            sa.literal("n:", sa.String) + sa.cast(Notification.id, sa.String),
            sa.literal(MailKind.notification.value, sa.String),
            Notification.user_id,
            Notification.id,
            sa.literal(OutboxState.pending.value, sa.String),
            sa.literal(0, sa.Integer),
            NOW,
            NOW,
        ).where(
            Notification.event_key == sa.bindparam("the_event"),
            Notification.mail_state == "queued",
        ),
    )  # fmt: skip


def _queue_mail(event_key: str, topic: Topic, now: datetime, marked: bool = False) -> None:
    """The event's mail, in the caller's transaction: outbox rows, or marks for the digest.

    `marked`: the INSERT already wrote each notification's mail_state.
    """
    params = {"the_event": event_key, "now": now}
    if not marked:
        db.session.execute(_mark_mail_stmt(topic), params)
    if db.session.execute(_outbox_stmt(), params).rowcount:
        from ..mail import mark_queued

        mark_queued()


@functools.cache
def _bound_columns(names: tuple[str, ...]) -> tuple:
    """Notification columns `names` as values bound by name (:c_kind ...) in a
    SELECT list, each typed for its column: a CAST tells PostgreSQL the type of
    a NULL; a datetime is bound as is (SQLite would read CAST(... AS DATETIME)
    as a number)."""
    table = Notification.__table__
    bound = []
    for name in names:
        type_ = table.c[name].type
        value = sa.bindparam(f"c_{name}", type_=type_)
        bound.append(value if isinstance(type_, sa.DateTime) else sa.cast(value, type_))
    return tuple(bound)


def notify_many(
    user_ids,
    kind: str,
    message: str,
    *,
    topic: Topic | None = None,
    exclude: int | None = None,
    **fields,
) -> int:
    """The same notification for many members; returns how many.

    `user_ids` is a list of ids or a one-column SELECT of them (written with
    INSERT ... SELECT, never read into Python). `fields` are Notification
    columns (link, action_url, action_label, round_id, proposal_id, thread_id,
    comment_id).
    """
    now = utcnow()
    topic = topic or topic_for(kind, fields.get("action_url"))
    event_key = uuid.uuid4().hex
    columns = _columns(kind, message, topic, now, event_key, **fields)
    if isinstance(user_ids, sa.Select):
        chosen = user_ids.subquery()
        uid = list(chosen.c)[0]
        # Joined to users, so each row is written with its mail_state at once.
        select = sa.select(uid, *_bound_columns(tuple(columns)), _mail_state(topic)).select_from(
            chosen.join(User, User.id == uid)
        )
        if exclude is not None:
            select = select.where(uid != exclude)
        params = {"now": now, **{f"c_{name}": value for name, value in columns.items()}}
        count = db.session.execute(
            sa.insert(Notification.__table__).from_select(
                ["user_id", *columns, "mail_state"], select
            ),
            params,
        ).rowcount
        marked = True
    else:
        rows = [
            {"user_id": uid, **columns}
            for uid in dict.fromkeys(user_ids)
            if uid is not None and uid != exclude
        ]
        if rows:
            db.session.execute(sa.insert(Notification), rows)
        count, marked = len(rows), False
    if count:
        _queue_mail(event_key, topic, now, marked)
    return count


def notify(
    user: User | int,
    kind: str,
    message: str,
    link: str | None = None,
    action_url: str | None = None,
    action_label: str | None = None,
    **fields,
) -> Notification | None:
    """Tell one member that something happened (optionally with a one-click offer)."""
    user_id = user if isinstance(user, int) else user.id
    notify_many(
        [user_id],
        kind,
        message,
        link=link,
        action_url=action_url,
        action_label=action_label,
        **fields,
    )
    return db.session.scalar(
        sa.select(Notification)
        .where(Notification.user_id == user_id, Notification.kind == kind)
        .order_by(Notification.id.desc())
        .limit(1)
    )


def unread_count(user: User) -> int:
    """Counted now (the page header reads `User.unread_notifications`, loaded with the member)."""
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(user: User, notification_ids=None) -> int:
    """Mark the member's notifications read (all, or just these ids)."""
    stmt = (
        sa.update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    if notification_ids is not None:
        stmt = stmt.where(Notification.id.in_(list(notification_ids)))
    changed = db.session.execute(stmt).rowcount
    if user in db.session:
        # The badge loaded with the member's row is counted again if asked.
        db.session.expire(user, ["unread_notifications"])
    return changed


def get_own_notification(user: User, notification_id: int) -> Notification:
    note = db.session.get(Notification, notification_id)
    if note is None or note.user_id != user.id:
        raise NotFound("There is no such notification.")
    return note


# --- Who is told: following -----------------------------------------------------------------


def _unfollowed(target: FollowTarget, target_id: int):
    return sa.select(Follow.user_id).where(
        Follow.target == target, Follow.target_id == target_id, Follow.following.is_(False)
    )


def _followers(target: FollowTarget, target_id: int):
    return sa.select(Follow.user_id.label("user_id")).where(
        Follow.target == target, Follow.target_id == target_id, Follow.following.is_(True)
    )


def _supporter_selects(proposal_id: int) -> list:
    return [
        sa.select(Proposal.author_id.label("user_id")).where(Proposal.id == proposal_id),
        sa.select(ProposalCoauthor.user_id).where(
            ProposalCoauthor.proposal_id == proposal_id,
            ProposalCoauthor.status == CoauthorStatus.accepted,
        ),
        sa.select(Cosignature.user_id).where(
            Cosignature.proposal_id == proposal_id, Cosignature.removed_at.is_(None)
        ),
    ]


def proposal_supporters(proposal_id: int):
    """SQL: the author, accepted co-authors and active co-signers of a proposal."""
    return sa.union(*_supporter_selects(proposal_id))


def proposal_audience(proposal_id: int):
    """SQL: who is told about a proposal: its supporters and followers, less who unfollowed.

    Taking part (writing, co-authoring, co-signing) follows a proposal without
    a row; an unfollow row takes the member out.
    """
    everyone = sa.union(
        *_supporter_selects(proposal_id), _followers(FollowTarget.proposal, proposal_id)
    ).subquery()
    return sa.select(everyone.c.user_id).where(
        everyone.c.user_id.not_in(_unfollowed(FollowTarget.proposal, proposal_id))
    )


def audience(target: FollowTarget, target_id: int):
    """SQL: the followers of a round or thread (and a proposal's whole audience)."""
    if target == FollowTarget.proposal:
        return proposal_audience(target_id)
    return sa.select(Follow.user_id).where(
        Follow.target == target, Follow.target_id == target_id, Follow.following.is_(True)
    )


@functools.cache
def _follow_row_select() -> sa.Select:
    return sa.select(Follow.id).where(
        Follow.user_id == sa.bindparam("user_id"),
        Follow.target == sa.bindparam("target"),
        Follow.target_id == sa.bindparam("target_id"),
    )


def auto_follow(user: User | int | None, target: FollowTarget, target_id: int) -> None:
    """Taking part follows, unless the member unfollowed before."""
    user_id = user if isinstance(user, int) or user is None else user.id
    if user_id is None:
        return
    exists = db.session.scalar(
        _follow_row_select(), {"user_id": user_id, "target": target, "target_id": target_id}
    )
    if exists:
        return
    try:
        with db.session.begin_nested():
            db.session.add(
                Follow(user_id=user_id, target=target, target_id=target_id, created_at=utcnow())
            )
    except IntegrityError:
        pass  # a concurrent request followed first


TARGET_MODELS = {
    FollowTarget.proposal: Proposal,
    FollowTarget.thread: Thread,
    FollowTarget.round: Round,
}


def follow_target(target, target_id: int):
    """The proposal, thread or round named, or NotFound (ValidationError for a bad kind)."""
    try:
        target = FollowTarget(target)
    except ValueError as exc:
        raise ValidationError("Follow a proposal, a thread or a round.") from exc
    obj = db.session.get(TARGET_MODELS[target], target_id)
    if obj is None:
        raise NotFound("There is nothing to follow there.")
    return target, obj


def _following(target: FollowTarget, user_id, target_id):
    """Does the member follow this? An explicit follow or unfollow row decides;
    without one, taking part in a proposal follows it (its author, an accepted
    co-author, an active co-signer)."""
    explicit = (
        sa.select(Follow.following)
        .where(Follow.user_id == user_id, Follow.target == target, Follow.target_id == target_id)
        .scalar_subquery()
    )
    if target != FollowTarget.proposal:
        return sa.func.coalesce(explicit, sa.false())
    takes_part = sa.or_(
        sa.exists().where(Proposal.id == target_id, Proposal.author_id == user_id),
        sa.exists().where(
            ProposalCoauthor.proposal_id == target_id,
            ProposalCoauthor.user_id == user_id,
            ProposalCoauthor.status == CoauthorStatus.accepted,
        ),
        sa.exists().where(
            Cosignature.proposal_id == target_id,
            Cosignature.user_id == user_id,
            Cosignature.removed_at.is_(None),
        ),
    )
    return sa.func.coalesce(explicit, takes_part)


@functools.cache
def _following_select(targets: tuple[FollowTarget, ...]) -> sa.Select:
    """One statement, one column per target: the member's :user_id, the targets' :t0, :t1..."""
    user_id = sa.bindparam("user_id")
    return sa.select(
        *(
            _following(target, user_id, sa.bindparam(f"t{i}")).label(f"f{i}")
            for i, target in enumerate(targets)
        )
    )


def following_states(user, targets) -> dict[tuple[FollowTarget, int], bool]:
    """The follow buttons' states of a page, for this member, in one statement
    ({(target, target_id): following}; all False for a visitor)."""
    targets = [(FollowTarget(t), target_id) for t, target_id in targets]
    if user is None or not getattr(user, "is_authenticated", False) or not targets:
        return {key: False for key in targets}
    params = {"user_id": user.id, **{f"t{i}": tid for i, (_, tid) in enumerate(targets)}}
    row = db.session.execute(_following_select(tuple(t for t, _ in targets)), params).one()
    return {key: bool(value) for key, value in zip(targets, row, strict=True)}


def is_following(user, target: FollowTarget, target_id: int) -> bool:
    """The follow button's state for this member (False for a visitor)."""
    return following_states(user, [(target, target_id)])[(FollowTarget(target), target_id)]


def set_following(user: User, target, target_id: int, following: bool) -> bool:
    """Follow or unfollow a proposal, thread or round (the member's explicit choice)."""
    target, obj = follow_target(target, target_id)
    if not _can_see(user, target, obj):
        raise NotFound("There is nothing to follow there.")
    row = db.session.scalar(
        sa.select(Follow).where(
            Follow.user_id == user.id, Follow.target == target, Follow.target_id == target_id
        )
    )
    if row is None:
        db.session.add(
            Follow(
                user_id=user.id,
                target=target,
                target_id=target_id,
                following=following,
                created_at=utcnow(),
            )
        )
    else:
        row.following = following
    db.session.flush()
    return following


def _can_see(user, target: FollowTarget, obj) -> bool:
    if target == FollowTarget.proposal:
        return obj.is_visible_to(user)
    if target == FollowTarget.thread:
        return obj.is_visible_to(user)
    return True


# --- Mentions ---------------------------------------------------------------------------------

# "@name" not preceded by a word character, "." or "@" (so mail addresses are not mentions).
MENTION_RE = re.compile(r"(?<![\w.@/])@([A-Za-z0-9][A-Za-z0-9_.-]{0,31})")
MAX_MENTIONS = 20


def mentioned_names(text: str | None) -> list[str]:
    names = []
    for match in MENTION_RE.finditer(text or ""):
        name = match.group(1).rstrip(".-")
        if name and name not in names:
            names.append(name)
    return names[:MAX_MENTIONS]


def mentioned_members(text: str | None) -> list[User]:
    keys = [username_key(n) for n in mentioned_names(text)]
    if not keys:
        return []
    return list(
        db.session.scalars(
            sa.select(User).where(User.username_key.in_(keys), User.email_confirmed_at.is_not(None))
        )
    )


# --- Preferences ---------------------------------------------------------------------------------


def preferences(user: User) -> dict[Topic, Delivery]:
    chosen = dict(
        db.session.execute(
            sa.select(NotificationPreference.topic, NotificationPreference.delivery).where(
                NotificationPreference.user_id == user.id
            )
        ).all()
    )
    return {topic: Delivery(chosen.get(topic, DEFAULT_DELIVERY[topic])) for topic in Topic}


def set_preference(user_id: int, topic, delivery) -> None:
    """Choose how one topic is delivered (immediate, digest, never)."""
    try:
        topic, delivery = Topic(topic), Delivery(delivery)
    except ValueError as exc:
        raise ValidationError("Choose email at once, in the daily digest, or never.") from exc
    row = db.session.get(NotificationPreference, (user_id, topic))
    if row is None:
        db.session.add(NotificationPreference(user_id=user_id, topic=topic, delivery=delivery))
    else:
        row.delivery = delivery
    db.session.flush()


def set_preferences(user: User, choices: dict) -> None:
    for topic, delivery in choices.items():
        set_preference(user.id, topic, delivery)


def unsubscribe(user_id: int, topic: str) -> User | None:
    """No more mail for one topic ("all": for every topic); in-app notifications stay."""
    user = db.session.get(User, user_id)
    if user is None:
        return None
    topics = list(Topic) if topic == "all" else [Topic(topic)]
    for each in topics:
        set_preference(user.id, each, Delivery.never)
    return user
