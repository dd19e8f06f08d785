"""`flask check [--fix]`: it finds planted drift in every counter and order path, and repairs it."""

import pytest
import sqlalchemy as sa

from app.checks import run_checks
from app.models import Comment, CommentStatus, Proposal, Role, Round, Thread
from app.services import moderation as moderation_svc
from app.services import proposals as proposal_svc


@pytest.fixture
def world(db, make_user, make_round, make_proposal, cosign_as, make_article, make_comment):
    """Rows made by the services: co-signs, a co-author, a tree with pending, hidden, moved."""
    author, coauthor = make_user("author"), make_user("coauthor")
    signers = [make_user() for _ in range(4)]
    moderator = make_user("checker_mod", role=Role.moderator)
    round_ = make_round()
    proposal = make_proposal(round=round_, author=author)
    make_proposal(round=round_)
    cosign_as(proposal, *signers)
    proposal_svc.uncosign(proposal, signers[0])
    proposal_svc.invite_coauthor(proposal, author, coauthor)
    proposal_svc.answer_coauthor_invite(proposal, coauthor, True)
    db.session.commit()

    thread = make_article().thread
    top = make_comment(thread=thread, author=signers[1], body="Top")
    reply = make_comment(parent=top, author=signers[2], body="Reply")
    deep = make_comment(parent=reply, author=signers[3], body="Deep")
    make_comment(parent=deep, body="Deeper")
    make_comment(parent=reply, body="Waiting", status=CommentStatus.pending)
    second = make_comment(thread=thread, author=signers[2], body="Second top")
    moved = make_comment(parent=second, author=signers[3], body="To be moved")
    make_comment(parent=moved, body="Moves along")
    moderation_svc.hide_comment(deep, moderator, "Off-topic")
    moderation_svc.move_subthread(moved, moderator, "Its own topic")
    db.session.commit()

    class World:
        pass

    w = World()
    w.proposal, w.round, w.thread = proposal, round_, thread
    w.top, w.reply, w.deep, w.second = top, reply, deep, second
    return w


def test_rows_made_by_the_services_show_no_drift(world):
    report = run_checks()
    assert report.problems == [], report.lines()
    assert report.checked["comments"] >= 9 and report.checked["proposals"] == 2
    assert "No drift" in report.lines()[-1]


def _set(db, model, row_id, **values):
    db.session.execute(sa.update(model).where(model.id == row_id).values(**values))
    db.session.commit()


DRIFTS = [
    ("proposals", "supporter_count", lambda w: (Proposal, w.proposal.id, 40)),
    ("rounds", "last_number", lambda w: (Round, w.round.id, 1)),
    ("threads", "comment_count", lambda w: (Thread, w.thread.id, 2)),
    ("threads", "top_level_count", lambda w: (Thread, w.thread.id, 9)),
    ("threads", "reply_seq", lambda w: (Thread, w.thread.id, 0)),
    ("comments", "descendant_count", lambda w: (Comment, w.top.id, 0)),
    ("comments", "reply_seq", lambda w: (Comment, w.reply.id, 1)),
    ("comments", "depth", lambda w: (Comment, w.deep.id, 5)),
    ("comments", "root_id", lambda w: (Comment, w.deep.id, w.second.id)),
]


@pytest.mark.parametrize(
    ("table", "column", "plant"), DRIFTS, ids=[f"{t}.{c}" for t, c, _ in DRIFTS]
)
def test_a_planted_drift_is_found_then_fixed(db, world, table, column, plant):
    model, row_id, bad = plant(world)
    good = db.session.scalar(sa.select(getattr(model, column)).where(model.id == row_id))
    _set(db, model, row_id, **{column: bad})

    report = run_checks()
    found = [(p.table, p.row_id, p.column, p.stored, p.expected) for p in report.problems]
    assert found == [(table, row_id, column, bad, good)], report.lines()

    fixed = run_checks(fix=True)
    assert fixed.fixed == 1
    assert db.session.scalar(sa.select(getattr(model, column)).where(model.id == row_id)) == good
    assert run_checks().problems == []


def test_a_broken_order_path_is_rebuilt_from_the_parent(db, world):
    deeper = db.session.scalar(sa.select(Comment).where(Comment.body == "Deeper"))
    good_deep, good_deeper = world.deep.path, deeper.path
    # A reply whose path no longer sits under its parent's (its own segment kept).
    broken = "000009" + good_deep[6:]
    _set(db, Comment, world.deep.id, path=broken)
    report = run_checks()
    assert [(p.row_id, p.column, p.stored, p.expected) for p in report.problems] == [
        (world.deep.id, "path", broken, good_deep)
    ]

    run_checks(fix=True)
    db.session.expire_all()
    assert db.session.get(Comment, world.deep.id).path == good_deep
    assert db.session.get(Comment, deeper.id).path == good_deeper
    assert run_checks().problems == []


def test_a_parent_in_another_thread_is_reported_not_guessed(db, world, make_article, make_comment):
    stray = make_comment(thread=make_article().thread, body="Elsewhere")
    _set(db, Comment, stray.id, parent_id=world.top.id)
    report = run_checks()
    assert [(p.row_id, p.column, p.fixable) for p in report.problems] == [
        (stray.id, "parent_id", False)
    ]
    assert "cannot be fixed automatically" in report.lines()[1]


def test_flask_check_command_reports_and_repairs(app, db, world):
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["check"])
    assert clean.exit_code == 0, clean.output
    assert "No drift" in clean.output

    _set(db, Proposal, world.proposal.id, supporter_count=7)
    _set(db, Comment, world.top.id, descendant_count=99)
    found = runner.invoke(args=["check"])
    assert found.exit_code == 1
    assert f"proposals {world.proposal.id}: supporter_count is 7, should be 5" in found.output
    assert f"comments {world.top.id}: descendant_count is 99, should be" in found.output
    assert "flask check --fix" in found.output

    repaired = runner.invoke(args=["check", "--fix"])
    assert repaired.exit_code == 0, repaired.output
    assert "Fixed 2 of 2 problem(s)." in repaired.output
    assert runner.invoke(args=["check"]).exit_code == 0


def test_the_seeded_documents_and_demo_round_show_no_drift(app, db):
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    report = run_checks()
    assert report.problems == [], report.lines()[:20]
    assert report.checked["comments"] > 0 and report.checked["proposals"] == 28


def test_a_missing_touch_trigger_is_found_then_reinstalled(app, db, world):
    """A batch migration or an interrupted bulk load can drop a trigger: cached
    pages would then go stale, so the check reports it and --fix puts it back."""
    from app.models.triggers import TRIGGER_NAMES, drop_touch_triggers, missing_triggers

    drop_touch_triggers(db.session.connection())
    db.session.commit()
    runner = app.test_cli_runner()
    found = runner.invoke(args=["check"])
    assert found.exit_code == 1
    for name in TRIGGER_NAMES[db.engine.dialect.name]:
        assert f"triggers 0: {name} is 'missing'" in found.output
    repaired = runner.invoke(args=["check", "--fix"])
    assert repaired.exit_code == 0, repaired.output
    assert missing_triggers(db.session.connection()) == set()
    assert runner.invoke(args=["check"]).exit_code == 0
