"""Outgoing mail: the outbox, the worker's delivery, and composing each mail.

Nothing here runs inside a request except `queue_*` (which add outbox rows
to the caller's transaction). `deliver_due` is what the worker runs
(app/tasks.py); docs/mail.md explains the guarantees.
"""

import logging
import smtplib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import urlsplit

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import Flask, current_app
from itsdangerous import BadSignature, URLSafeSerializer

from .database import write_transactions
from .extensions import db
from .models import (
    MailKind,
    Notification,
    OutboxMail,
    OutboxState,
    Proposal,
    Round,
    Thread,
    Topic,
    User,
)
from .timeutil import utcnow
from .urls import absolute, absolute_url, site_url

log = logging.getLogger(__name__)

QUEUED_FLAG = "plenary_mail_queued"


# --- Transport ----------------------------------------------------------------


def transmit(message: EmailMessage) -> None:
    """Hand one message to SMTP (MAIL_SERVER), or write it to the log when there is none."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        text = message.get_body(("plain",))
        current_app.logger.info(
            "Mail to %s: %s\n%s",
            message["To"],
            message["Subject"],
            text.get_content() if text is not None else "",
        )
        return
    with smtplib.SMTP(
        config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]
    ) as smtp:
        smtp.send_message(message)


# --- Queueing (inside the caller's transaction) --------------------------------


def mark_queued() -> None:
    """Ask for a worker run once this transaction commits."""
    db.session.info[QUEUED_FLAG] = True


def queue_mail(
    kind: MailKind,
    user: User | None = None,
    to_address: str | None = None,
    detail: str | None = None,
) -> None:
    """One account mail (sign-up, reset) in the outbox; the worker writes its text."""
    db.session.add(
        OutboxMail(
            key=f"{kind.value}:{uuid.uuid4().hex}",
            kind=kind,
            user_id=user.id if user is not None else None,
            # The address as it was at the event: if it has changed by the time
            # the worker sends, the mail (and its link) is for a sign-up that
            # was replaced, and is not sent.
            to_address=to_address or (user.email if user is not None else None),
            detail=detail,
            next_attempt_at=utcnow(),
        )
    )
    db.session.flush()
    mark_queued()


def _after_commit(session) -> None:
    if session.info.pop(QUEUED_FLAG, False):
        from .tasks import enqueue_delivery

        enqueue_delivery()


def _after_rollback(session) -> None:
    session.info.pop(QUEUED_FLAG, None)


def init_mail(app: Flask) -> None:
    if not sa.event.contains(so.Session, "after_commit", _after_commit):
        sa.event.listen(so.Session, "after_commit", _after_commit)
        sa.event.listen(so.Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
    from .mail_cli import mail_cli

    app.cli.add_command(mail_cli)


# --- Unsubscribe tokens -----------------------------------------------------------

ALL_TOPICS = "all"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="plenary-unsubscribe")


def unsubscribe_token(user_id: int, topic: str) -> str:
    return _serializer().dumps([user_id, topic])


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    """(user id, topic) from a token, or None if it was not made by this site."""
    try:
        data = _serializer().loads(token)
    except BadSignature:
        return None
    if (
        not isinstance(data, list)
        or len(data) != 2
        or not isinstance(data[0], int)
        or not (data[1] == ALL_TOPICS or data[1] in Topic.__members__)
    ):
        return None
    return data[0], data[1]


# --- Composing ---------------------------------------------------------------------


def _domain() -> str:
    return urlsplit(site_url()).hostname or "localhost"


def message_id(row: OutboxMail) -> str:
    """Derived from the row id: a mail sent again after a crash has the same Message-ID."""
    return f"<plenary.mail.{row.id}@{_domain()}>"


def _thread_id(kind: str, number: int) -> str:
    return f"<plenary.{kind}.{number}@{_domain()}>"


@dataclass
class Composed:
    to: str
    subject: str
    template: str
    context: dict
    unsubscribe_topic: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()


def _build(row: OutboxMail, composed: Composed, user: User | None) -> EmailMessage:
    config = current_app.config
    context = dict(composed.context, site_url=site_url(), user=user)
    unsubscribe = None
    if composed.unsubscribe_topic and user is not None:
        unsubscribe = absolute_url(
            "notifications.unsubscribe",
            token=unsubscribe_token(user.id, composed.unsubscribe_topic),
        )
        context["unsubscribe_url"] = unsubscribe
        context["preferences_url"] = absolute_url("notifications.preferences")
    message = EmailMessage()
    message["From"] = config["MAIL_FROM"]
    message["To"] = composed.to
    message["Subject"] = composed.subject
    message["Date"] = format_datetime(utcnow().replace(tzinfo=None).astimezone())
    message["Message-ID"] = message_id(row)
    if composed.in_reply_to:
        message["In-Reply-To"] = composed.in_reply_to
    if composed.references:
        message["References"] = " ".join(composed.references)
    if unsubscribe:
        # RFC 8058: a mail client may POST "List-Unsubscribe=One-Click" to this URL.
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(_render(f"mail/{composed.template}.txt", context))
    message.add_alternative(_render(f"mail/{composed.template}.html", context), subtype="html")
    return message


def _render(name: str, context: dict) -> str:
    # Straight from the Jinja environment: no request, so no context processors.
    return current_app.jinja_env.get_template(name).render(**context)


def _mailable(user: User | None, topic: str | None, now: datetime) -> bool:
    if user is None or not user.email_confirmed or not user.has_address or user.is_demo:
        return False
    # A suspended member is told only about what concerns their standing.
    return not (user.is_suspended(now) and topic != Topic.moderation)


def _compose_notification(row: OutboxMail, user: User, now: datetime) -> Composed | None:
    note = db.session.get(Notification, row.notification_id)
    if note is None or not _mailable(user, note.topic, now):
        return None
    references: list[str] = []
    in_reply_to = None
    if note.proposal_id:
        references.append(_thread_id("proposal", note.proposal_id))
    elif note.thread_id:
        references.append(_thread_id("thread", note.thread_id))
    if note.comment_id and note.topic in (Topic.reply, Topic.mention, Topic.thread_comment):
        references.append(_thread_id("comment", note.comment_id))
    if references:
        in_reply_to = references[-1]
    action = None
    if note.action_url:
        action = absolute_url("notifications.act", notification_id=note.id)
    return Composed(
        to=user.email,
        subject=_subject(note),
        template="notification",
        context={
            "note": note,
            "link": absolute(note.link) if note.link else None,
            "action_url": action,
            "topic_label": _topic_label(note.topic),
        },
        unsubscribe_topic=note.topic,
        in_reply_to=in_reply_to,
        references=tuple(references),
    )


SUBJECTS = {
    Topic.reply: "New reply to your comment",
    Topic.mention: "You were mentioned",
    Topic.successor_offer: "A proposal you support was withdrawn",
    Topic.coauthor_invite: "An invitation to co-author a proposal",
    Topic.moderation: "A moderator acted on your content",
    Topic.new_proposal: "A new proposal in a round you follow",
    Topic.thread_comment: "A new comment in a discussion you follow",
    Topic.proposal_update: "News of a proposal you follow",
}


def _subject(note: Notification) -> str:
    text = " ".join(note.message.split())
    short = text if len(text) <= 90 else text[:89].rstrip() + "…"
    return f"[Plenary] {short}" if short else f"[Plenary] {SUBJECTS.get(note.topic, 'News')}"


def _topic_label(topic: str) -> str:
    from .models.mail import TOPIC_LABELS

    try:
        return TOPIC_LABELS[Topic(topic)]
    except ValueError:
        return TOPIC_LABELS[Topic.other]


def digest_groups(notes: list[Notification]) -> list[dict]:
    """Notifications grouped by round, then proposal, then thread, in order."""
    rounds = {
        r.id: r
        for r in db.session.scalars(
            sa.select(Round).where(Round.id.in_({n.round_id for n in notes if n.round_id}))
        )
    }
    proposals = {
        p.id: p
        for p in db.session.scalars(
            sa.select(Proposal).where(
                Proposal.id.in_({n.proposal_id for n in notes if n.proposal_id})
            )
        )
    }
    threads = {
        t.id: t
        for t in db.session.scalars(
            sa.select(Thread).where(Thread.id.in_({n.thread_id for n in notes if n.thread_id}))
        )
    }
    groups: dict[tuple, dict] = {}
    for note in notes:
        round_ = rounds.get(note.round_id)
        proposal = proposals.get(note.proposal_id)
        thread = threads.get(note.thread_id) if proposal is None else None
        if round_ is not None:
            heading = f"Round: {round_.title}"
        elif thread is not None:
            heading = "Discussions"
        else:
            heading = "Other news"
        group = groups.setdefault((heading,), {"heading": heading, "items": {}})
        if proposal is not None:
            sub = f"{proposal.label}: {proposal.title}"
        elif thread is not None:
            sub = thread.title or f"Thread {thread.id}"
        else:
            sub = ""
        group["items"].setdefault(sub, []).append(
            {"note": note, "link": absolute(note.link) if note.link else None}
        )
    return [
        {"heading": g["heading"], "sections": list(g["items"].items())} for g in groups.values()
    ]


def _compose_digest(row: OutboxMail, user: User, now: datetime) -> Composed | None:
    if not user.email_confirmed or not user.has_address or user.is_demo:
        return None
    notes = db.session.scalars(
        sa.select(Notification)
        .where(Notification.user_id == user.id, Notification.digest_id == row.id)
        .order_by(Notification.id)
    ).all()
    if user.is_suspended(now):
        # Suspended since: only what concerns their standing is mailed.
        notes = [n for n in notes if n.topic == Topic.moderation]
    if not notes:
        return None
    return Composed(
        to=user.email,
        subject=f"[Plenary] Your daily digest: {len(notes)} "
        f"notification{'s' if len(notes) != 1 else ''}",
        template="digest",
        context={"groups": digest_groups(notes), "count": len(notes)},
        unsubscribe_topic=ALL_TOPICS,
    )


def _compose_account(row: OutboxMail, user: User | None) -> Composed | None:
    from .auth import mails

    if row.kind == MailKind.no_account:
        if not row.to_address:
            return None
        return Composed(row.to_address, *mails.no_account_text())
    if user is None or not row.to_address:
        return None
    # Mail to another address than the account's: written for that address.
    to_other = {
        MailKind.signup_confirm: mails.confirmation_text,
        MailKind.email_change: mails.email_change_text,
        MailKind.email_changed: mails.email_changed_text,
    }
    if row.kind in to_other:
        built = to_other[row.kind](user, row.to_address, row.detail)
    elif row.to_address != user.email:
        # The address changed since: the mail was for an address no longer theirs.
        return None
    else:
        builders = {
            MailKind.already_member: mails.already_member_text,
            MailKind.reset: mails.reset_text,
            MailKind.email_asked: lambda u: mails.email_asked_text(u, row.detail),
        }
        built = builders[row.kind](user)
    if built is None:
        return None
    # Sent to the account's own address: its one-click unsubscribe stops
    # every notification mail (what they ask for, such as a reset, still
    # comes). Mail to another address names no account to mute.
    topic = ALL_TOPICS if row.to_address == user.email else None
    return Composed(row.to_address, *built, unsubscribe_topic=topic)


def compose(row: OutboxMail, now: datetime | None = None) -> EmailMessage | None:
    """The message for an outbox row, or None when there is nothing to send any more."""
    now = now or utcnow()
    user = db.session.get(User, row.user_id) if row.user_id else None
    if row.kind == MailKind.notification:
        composed = _compose_notification(row, user, now) if user else None
    elif row.kind == MailKind.digest:
        composed = _compose_digest(row, user, now) if user else None
    else:
        composed = _compose_account(row, user)
    if composed is None:
        return None
    return _build(row, composed, user)


# --- Delivery (the worker) ------------------------------------------------------------


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    # Seconds until the next mail waiting for a retry is due (None: nothing waits).
    retry_in: float | None = None


def _backoff(attempts: int) -> timedelta:
    config = current_app.config
    seconds = min(config["MAIL_RETRY_BASE"] * 2 ** max(attempts - 1, 0), config["MAIL_RETRY_MAX"])
    return timedelta(seconds=seconds)


def _due(now: datetime):
    stale = now - timedelta(seconds=current_app.config["MAIL_CLAIM_TIMEOUT"])
    return sa.or_(
        sa.and_(OutboxMail.state == OutboxState.pending, OutboxMail.next_attempt_at <= now),
        sa.and_(OutboxMail.state == OutboxState.sending, OutboxMail.claimed_at <= stale),
    )


def _claim(row_id: int, now: datetime) -> bool:
    """Take one row for this worker: a conditional UPDATE, so two workers never share one."""
    db.session.rollback()
    # Short write transactions that take SQLite's write lock up front (and
    # so wait their turn behind the web workers instead of failing).
    with write_transactions():
        claimed = db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id == row_id, _due(now))
            .values(state=OutboxState.sending, claimed_at=now, attempts=OutboxMail.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
    return bool(claimed)


def _finish(row_id: int, state: OutboxState, **values) -> None:
    db.session.rollback()  # end the read of composing: what follows is a write
    with write_transactions():
        db.session.execute(
            sa.update(OutboxMail)
            .where(OutboxMail.id == row_id, OutboxMail.state == OutboxState.sending)
            .values(state=state, **values)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()


PERMANENT = (smtplib.SMTPRecipientsRefused, smtplib.SMTPSenderRefused)


def deliver_due(now=None, limit: int | None = None) -> DeliveryReport:
    """Send what is due, one row at a time: claim, send, mark sent (each committed)."""
    report = DeliveryReport()
    config = current_app.config
    batch = limit or config["MAIL_BATCH"]
    while True:
        moment = now or utcnow()
        ids = db.session.scalars(
            sa.select(OutboxMail.id).where(_due(moment)).order_by(OutboxMail.id).limit(batch)
        ).all()
        db.session.rollback()
        if not ids:
            break
        down = False
        for row_id in ids:
            moment = now or utcnow()
            if not _claim(row_id, moment):
                continue
            row = db.session.get(OutboxMail, row_id)
            try:
                message = compose(row, moment)
            except Exception as exc:  # noqa: BLE001 - one bad row must not stop the queue
                log.exception("Could not compose mail %s", row_id)
                _finish(row_id, OutboxState.failed, last_error=str(exc)[:500])
                report.failed += 1
                continue
            if message is None:
                _finish(row_id, OutboxState.skipped, sent_at=moment)
                report.skipped += 1
                continue
            attempts = row.attempts
            db.session.rollback()  # no transaction held open while SMTP talks
            try:
                transmit(message)
            except PERMANENT as exc:
                _finish(row_id, OutboxState.failed, last_error=repr(exc)[:500])
                report.failed += 1
                continue
            except (smtplib.SMTPException, OSError) as exc:
                if attempts >= config["MAIL_MAX_ATTEMPTS"]:
                    _finish(row_id, OutboxState.failed, last_error=repr(exc)[:500])
                    report.failed += 1
                    continue
                wait = _backoff(attempts)
                _finish(
                    row_id,
                    OutboxState.pending,
                    next_attempt_at=utcnow() + wait,
                    last_error=repr(exc)[:500],
                )
                log.warning("Mail %s not sent (%s); retry in %s", row_id, exc, wait)
                # The server is down or refusing: stop here and come back
                # after the backoff, rather than knock once for every mail.
                report.retry_in = wait.total_seconds()
                down = True
                break
            # The one window: SMTP has accepted and this UPDATE is not yet
            # committed. It is kept to this one statement (docs/mail.md).
            _finish(row_id, OutboxState.sent, sent_at=utcnow(), last_error=None)
            report.sent += 1
        if down or now is not None:
            break
    if report.retry_in is None:
        report.retry_in = _next_retry_in()
    return report


def _next_retry_in() -> float | None:
    now = utcnow()
    waiting = db.session.scalar(
        sa.select(sa.func.min(OutboxMail.next_attempt_at)).where(
            OutboxMail.state == OutboxState.pending
        )
    )
    claimed = db.session.scalar(
        sa.select(sa.func.min(OutboxMail.claimed_at)).where(OutboxMail.state == OutboxState.sending)
    )
    db.session.rollback()
    times = []
    if waiting is not None:
        times.append(max((waiting - now).total_seconds(), 0.5))
    if claimed is not None:
        due = claimed + timedelta(seconds=current_app.config["MAIL_CLAIM_TIMEOUT"])
        times.append(max((due - now).total_seconds(), 0.5))
    return min(times) if times else None


# --- The daily digest ----------------------------------------------------------------------


def queue_digests(now: datetime | None = None) -> int:
    """One digest outbox row per member with notifications waiting; returns how many.

    Each member's waiting notifications are tied to their digest row in the
    same transaction, so running it twice never mails them twice.
    """
    now = now or utcnow()
    waiting = db.session.execute(
        sa.select(Notification.user_id, sa.func.min(Notification.id), sa.func.max(Notification.id))
        .where(Notification.mail_state == "digest")
        .group_by(Notification.user_id)
    ).all()
    for user_id, first_id, last_id in waiting:
        row = OutboxMail(
            key=f"digest:{user_id}:{first_id}",
            kind=MailKind.digest,
            user_id=user_id,
            next_attempt_at=now,
            created_at=now,
        )
        db.session.add(row)
        db.session.flush()
        db.session.execute(
            sa.update(Notification)
            .where(
                Notification.user_id == user_id,
                Notification.mail_state == "digest",
                Notification.id <= last_id,
            )
            .values(mail_state="digested", digest_id=row.id)
            .execution_options(synchronize_session=False)
        )
    if waiting:
        mark_queued()
    return len(waiting)


__all__ = ["compose", "deliver_due", "queue_digests", "queue_mail", "transmit"]
