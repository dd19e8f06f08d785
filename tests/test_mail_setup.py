"""The mail's set-up: SITE_URL in production, links built without a request,
the enqueue after commit, the schedule of the digest, `flask mail`."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app
from app.models import MailKind, OutboxMail, OutboxState
from app.tasks import daily_digest, huey
from app.urls import absolute_url, path_for
from config import Config, ProductionConfig

ROOT = Path(__file__).resolve().parent.parent
SECRET = "a-long-random-production-secret-for-tests"


@pytest.mark.parametrize("site_url", [None, "", "plenary.example.org", "javascript:alert(1)"])
def test_production_refuses_to_start_without_a_site_url(site_url):
    with pytest.raises(SystemExit) as info:
        create_app(ProductionConfig, overrides={"SECRET_KEY": SECRET, "SITE_URL": site_url})
    assert "SITE_URL" in str(info.value)


def test_production_start_without_site_url_exits_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SITE_URL"}
    env.update(
        PLENARY_ENV="production", SECRET_KEY=SECRET, DATABASE_URL=f"sqlite:///{tmp_path}/p.db"
    )
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refuses to start in production without SITE_URL" in result.stderr


def test_absolute_links_come_from_site_url_outside_any_request(app):
    assert path_for("proposals.show", proposal_id=7) == "/proposals/7"
    assert absolute_url("proposals.show", proposal_id=7) == "http://plenary.test/proposals/7"
    with app.test_request_context("/", base_url="http://evil.example"):
        assert absolute_url("auth.login") == "http://plenary.test/login"


def test_a_commit_that_queued_mail_asks_the_worker_and_a_rollback_does_not(app, db, make_user):
    from app import mail

    user = make_user()
    huey.flush()
    mail.queue_mail(MailKind.reset, user)
    db.session.rollback()
    assert huey.pending_count() == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMail)) == 0
    mail.queue_mail(MailKind.reset, user)
    db.session.commit()
    assert huey.pending_count() == 1
    [task] = huey.pending()
    assert task.name.endswith("deliver_mail")
    huey.flush()


def test_the_digest_is_scheduled_once_a_day_at_the_configured_hour():
    hour = Config.DIGEST_HOUR
    assert daily_digest.s().validate_datetime(datetime(2026, 12, 1, hour, 0))
    assert not daily_digest.s().validate_datetime(datetime(2026, 12, 1, hour, 1))
    assert not daily_digest.s().validate_datetime(datetime(2026, 12, 1, (hour + 1) % 24, 0))


def test_flask_mail_digest_queues_and_sends_by_hand(app, db, make_user, make_article):
    from app.mail import deliver_due
    from app.models import FollowTarget
    from app.services import comments as comment_svc
    from app.services import notifications as notes

    reader, writer = make_user("reader"), make_user("writer")
    thread = make_article().thread
    notes.set_following(reader, FollowTarget.thread, thread.id, True)
    comment_svc.add_comment(thread, writer, "News for the digest.")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["mail", "digest"])
    assert result.exit_code == 0, result.output
    assert "1 digest(s) queued." in result.output
    result = runner.invoke(args=["mail", "status"])
    assert "pending: 1" in result.output
    app.config["MAIL_SERVER"] = ""
    deliver_due()
    db.session.expire_all()
    assert db.session.scalar(
        sa.select(OutboxMail.state).where(OutboxMail.kind == MailKind.digest)
    ) == OutboxState.sent
    assert "0 digest(s) queued." in runner.invoke(args=["mail", "digest"]).output
