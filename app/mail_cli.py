"""`flask mail ...`: the digest by hand, and the outbox at a glance."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from .database import write_transactions
from .extensions import db

mail_cli = AppGroup("mail", help="The mail outbox: digest, send, status.")


@mail_cli.command("digest")
@click.option("--send", is_flag=True, help="Also send them from this process (no worker).")
def digest_command(send: bool) -> None:
    """Queue today's digest now (what the scheduled task does at DIGEST_HOUR)."""
    from .mail import deliver_due, queue_digests

    with write_transactions():
        count = queue_digests()
        db.session.commit()
    click.echo(f"{count} digest(s) queued.")
    if send:
        report = deliver_due()
        click.echo(f"{report.sent} sent, {report.failed} failed, {report.skipped} skipped.")


@mail_cli.command("send")
def send_command() -> None:
    """Send what is due from this process (the worker does this on its own)."""
    from .mail import deliver_due

    report = deliver_due()
    click.echo(f"{report.sent} sent, {report.failed} failed, {report.skipped} skipped.")


@mail_cli.command("status")
def status_command() -> None:
    """How many outbox rows are in each state."""
    from .models import OutboxMail

    rows = db.session.execute(
        sa.select(OutboxMail.state, sa.func.count()).group_by(OutboxMail.state)
    ).all()
    for state, count in rows:
        click.echo(f"{state}: {count}")
