"""Moderation services: one log entry per action, nothing deleted, recusal, auto-hide."""

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.errors import InvalidState, PermissionDenied, ValidationError
from app.models import (
    Comment,
    CommentStatus,
    Cosignature,
    ModerationAction,
    Notification,
    Proposal,
    Report,
    ReportStatus,
    Role,
    Thread,
    ThreadState,
    User,
)
from app.services import moderation as mod
from app.timeutil import utcnow


def log_entries(db):
    return db.session.scalars(sa.select(ModerationAction).order_by(ModerationAction.id)).all()


def notifications_of(db, user):
    return db.session.scalars(
        sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
    ).all()


@pytest.fixture
def scene(db, cast, mod_article, mod_comment, mod_proposal):
    """An article thread with a comment by the author and a reply, and a proposal."""
    article = mod_article()
    comment = mod_comment(article.thread, author=cast.author, body="A rude remark.")
    reply = mod_comment(article.thread, author=cast.member, parent=comment, body="Please don't.")
    proposal = mod_proposal(cast.author, cosigners=[cast.member])
    return type(
        "Scene",
        (),
        {
            "article": article,
            "thread": article.thread,
            "comment": comment,
            "reply": reply,
            "proposal": proposal,
        },
    )


# Every action: exactly one log entry naming actor, target and reason -------------------


def _actions(cast, scene, mod_comment):
    """(name, callable, target_type, target_id, affected user) for every moderator action."""

    def pending_comment():
        return mod_comment(
            scene.thread, author_name="Guest", status=CommentStatus.pending, body="Hello there."
        )

    def report():
        return mod.report_content(cast.member, scene.comment, "spam", "Selling things")

    m = cast.moderator
    until = utcnow() + timedelta(days=2)
    return [
        (
            "approve_comment",
            lambda: mod.approve_comment(pending_comment(), m, "Fine."),
            "comment",
            None,
            None,
        ),
        (
            "hide_comment",
            lambda: mod.hide_comment(scene.comment, m, "Insults a member"),
            "comment",
            scene.comment.id,
            cast.author.id,
        ),
        (
            "restore_comment",
            lambda: (
                mod.hide_comment(scene.comment, cast.moderator2, "x"),
                mod.restore_comment(scene.comment, m, "It was fair"),
            ),
            "comment",
            scene.comment.id,
            cast.author.id,
        ),
        (
            "pin_comment",
            lambda: mod.pin_comment(scene.comment, m, "Useful summary"),
            "comment",
            scene.comment.id,
            cast.author.id,
        ),
        (
            "unpin_comment",
            lambda: (
                mod.pin_comment(scene.comment, cast.moderator2, "x"),
                mod.unpin_comment(scene.comment, m, "Outdated"),
            ),
            "comment",
            scene.comment.id,
            cast.author.id,
        ),
        (
            "move_subthread",
            lambda: mod.move_subthread(scene.comment, m, "Off-topic tangent"),
            "comment",
            scene.comment.id,
            cast.author.id,
        ),
        (
            "hide_proposal",
            lambda: mod.hide_proposal(scene.proposal, m, "Advertising"),
            "proposal",
            scene.proposal.id,
            cast.author.id,
        ),
        (
            "restore_proposal",
            lambda: (
                mod.hide_proposal(scene.proposal, cast.moderator2, "x"),
                mod.restore_proposal(scene.proposal, m, "Checked"),
            ),
            "proposal",
            scene.proposal.id,
            cast.author.id,
        ),
        (
            "lock_thread",
            lambda: mod.lock_thread(scene.thread, m, "Heated"),
            "thread",
            scene.thread.id,
            None,
        ),
        (
            "unlock_thread",
            lambda: (
                mod.lock_thread(scene.thread, cast.moderator2, "x"),
                mod.unlock_thread(scene.thread, m, "Calmer now"),
            ),
            "thread",
            scene.thread.id,
            None,
        ),
        (
            "suspend_member",
            lambda: mod.suspend_member(cast.author, m, until, "Abuse"),
            "user",
            cast.author.id,
            cast.author.id,
        ),
        (
            "lift_suspension",
            lambda: mod.lift_suspension(cast.suspended, m, "Served enough"),
            "user",
            cast.suspended.id,
            cast.suspended.id,
        ),
        (
            "resolve_report",
            lambda: mod.resolve_report(report(), m, "Right, handled"),
            "report",
            None,
            cast.author.id,
        ),
        (
            "dismiss_report",
            lambda: mod.dismiss_report(report(), m, "Not spam"),
            "report",
            None,
            cast.author.id,
        ),
        (
            "change_role",
            lambda: mod.change_role(cast.member, Role.moderator, cast.admin, "Trusted"),
            "user",
            cast.member.id,
            cast.member.id,
        ),
    ]


ACTION_NAMES = [
    "approve_comment", "hide_comment", "restore_comment", "pin_comment", "unpin_comment",
    "move_subthread", "hide_proposal", "restore_proposal", "lock_thread", "unlock_thread",
    "suspend_member", "lift_suspension", "resolve_report", "dismiss_report", "change_role",
]  # fmt: skip


def test_a_report_writes_one_anonymous_entry_and_tells_the_author(db, cast, scene):
    mod.report_content(cast.member, scene.comment, "off_topic", "Nothing to do with it")
    db.session.commit()
    [entry] = log_entries(db)
    assert (entry.action, entry.moderator_id, entry.target_type, entry.target_id) == (
        "report_content",
        None,
        "comment",
        scene.comment.id,
    )
    assert entry.affected_user_id == cast.author.id
    assert entry.reason == "Reported as off-topic."
    assert "Nothing to do with it" not in entry.reason  # the note stays with moderators
    [note] = notifications_of(db, cast.author)
    assert note.kind == "content_reported" and "off-topic" in note.message
    assert cast.member.display_name not in note.message


@pytest.mark.parametrize("name", ACTION_NAMES)
def test_every_action_writes_exactly_one_log_entry(db, cast, scene, mod_comment, name):
    actions = {a[0]: a for a in _actions(cast, scene, mod_comment)}
    _, run, target_type, target_id, affected = actions[name]
    before = len(log_entries(db))
    run()
    db.session.commit()
    # Set-up steps (the second moderator's, and reports made to be resolved)
    # are logged too; take the action's own entry.
    entries = [e for e in log_entries(db)[before:] if e.action != "report_content"]
    mine = [e for e in entries if e.action == name and e.moderator_id != cast.moderator2.id]
    assert len(mine) == 1, [(e.action, e.moderator_id) for e in entries]
    entry = mine[0]
    assert entries[-1] is entry
    extra = [e for e in entries if e is not entry and e.moderator_id != cast.moderator2.id]
    assert extra == []
    actor = cast.admin if name == "change_role" else cast.moderator
    assert entry.moderator_id == actor.id
    assert entry.target_type == target_type
    if target_id is not None:
        assert entry.target_id == target_id
    assert entry.reason and entry.reason != "x"
    if affected is not None:
        assert entry.affected_user_id == affected


def test_every_action_notifies_the_affected_member(db, cast, scene):
    mod.hide_comment(scene.comment, cast.moderator, "Insults a member")
    mod.suspend_member(cast.member, cast.moderator, utcnow() + timedelta(days=1), "Spam wave")
    db.session.commit()
    [note] = notifications_of(db, cast.author)
    assert note.kind == "comment_hidden" and "Insults a member" in note.message
    [note] = notifications_of(db, cast.member)
    assert note.kind == "suspended" and "Spam wave" in note.message
    assert notifications_of(db, cast.moderator) == []


def _row_ids(db):
    return {
        model.__tablename__: set(db.session.scalars(sa.select(model.id)))
        for model in (User, Proposal, Comment, Cosignature, Report, Thread)
    }


def test_no_row_disappears_across_every_action(db, cast, scene, mod_comment):
    before = _row_ids(db)
    for _name, run, *_ in _actions(cast, scene, mod_comment):
        # Each action on a fresh state of its target: undo what the previous did
        # through the services themselves, never by deleting.
        run()
        db.session.commit()
        for target in (scene.comment,):
            db.session.refresh(target)
        if scene.comment.status == CommentStatus.hidden:
            mod.restore_comment(scene.comment, cast.moderator2, "reset")
        if scene.comment.pinned:
            mod.unpin_comment(scene.comment, cast.moderator2, "reset")
        if scene.proposal.is_hidden:
            mod.restore_proposal(scene.proposal, cast.moderator2, "reset")
        if scene.thread.state == ThreadState.locked:
            mod.unlock_thread(scene.thread, cast.moderator2, "reset")
        db.session.commit()
    after = _row_ids(db)
    for table, ids in before.items():
        assert ids <= after[table], f"rows of {table} disappeared: {ids - after[table]}"
    performed = {e.action for e in log_entries(db)}
    assert set(ACTION_NAMES) <= performed


def test_reasons_are_required_and_bounded(db, cast, scene):
    with pytest.raises(ValidationError, match="Give a reason"):
        mod.hide_comment(scene.comment, cast.moderator, "   ")
    with pytest.raises(ValidationError, match="at most"):
        mod.hide_comment(scene.comment, cast.moderator, "x" * 501)
    with pytest.raises(ValidationError, match="control"):
        mod.hide_comment(scene.comment, cast.moderator, "bad\x00reason")
    assert log_entries(db) == []


def test_members_cannot_moderate(db, cast, scene):
    for actor in (cast.member, cast.author, cast.suspended):
        with pytest.raises(PermissionDenied):
            mod.hide_comment(scene.reply, actor, "no")
    suspended_mod = cast.moderator2
    suspended_mod.suspended_until = utcnow() + timedelta(days=1)
    with pytest.raises(PermissionDenied, match="suspended"):
        mod.hide_comment(scene.comment, suspended_mod, "no")


# Recusal ---------------------------------------------------------------------------


def test_moderator_cannot_hide_own_comment_but_another_can(db, cast, scene, mod_comment):
    own = mod_comment(scene.thread, author=cast.moderator, body="My own words.")
    with pytest.raises(PermissionDenied, match="their own content; another moderator"):
        mod.hide_comment(own, cast.moderator, "Changed my mind")
    mod.hide_comment(own, cast.moderator2, "Off-topic")
    assert own.status == CommentStatus.hidden
    assert own.hidden_by_id == cast.moderator2.id


def test_moderator_cannot_hide_own_proposal_but_another_can(db, cast, mod_proposal):
    own = mod_proposal(cast.moderator)
    with pytest.raises(PermissionDenied, match="own content"):
        mod.hide_proposal(own, cast.moderator, "x")
    mod.hide_proposal(own, cast.moderator2, "Duplicate spam")
    assert own.is_hidden


def test_suspension_refused_in_a_thread_the_moderator_joined(db, cast, scene, mod_comment):
    mod_comment(scene.thread, author=cast.moderator, parent=scene.reply, body="I disagree.")
    until = utcnow() + timedelta(days=1)
    with pytest.raises(PermissionDenied, match="take part in this thread"):
        mod.suspend_member(cast.author, cast.moderator, until, "Abuse", thread=scene.thread)
    assert cast.author.suspended_until is None
    mod.suspend_member(cast.author, cast.moderator2, until, "Abuse", thread=scene.thread)
    assert cast.author.is_suspended()
    [entry] = log_entries(db)
    assert entry.moderator_id == cast.moderator2.id
    assert f"over thread {scene.thread.id}" in entry.details


def test_suspension_refused_over_the_thread_of_own_proposal(db, cast, mod_proposal, mod_comment):
    proposal = mod_proposal(cast.moderator)
    mod_comment(proposal.thread, author=cast.member, body="Bad words.")
    with pytest.raises(PermissionDenied, match="take part"):
        mod.suspend_member(
            cast.member, cast.moderator, utcnow() + timedelta(days=1), "x", proposal.thread
        )


def test_moderators_cannot_suspend_staff_or_themselves(db, cast):
    until = utcnow() + timedelta(days=1)
    with pytest.raises(PermissionDenied, match="yourself"):
        mod.suspend_member(cast.moderator, cast.moderator, until, "x")
    with pytest.raises(PermissionDenied, match="Only an admin"):
        mod.suspend_member(cast.moderator2, cast.moderator, until, "x")
    mod.suspend_member(cast.moderator2, cast.admin, until, "Abused the role")
    assert cast.moderator2.is_suspended()


def test_moderator_cannot_decide_reports_on_own_comment(db, cast, scene, mod_comment):
    own = mod_comment(scene.thread, author=cast.moderator, body="Mine.")
    report = mod.report_content(cast.member, own, "abuse")
    with pytest.raises(PermissionDenied, match="own content"):
        mod.dismiss_report(report, cast.moderator, "Nothing wrong")
    mod.dismiss_report(report, cast.moderator2, "Nothing wrong")
    assert report.status == ReportStatus.dismissed


def test_moderator_cannot_move_a_subthread_they_wrote_in(db, cast, scene, mod_comment):
    mod_comment(scene.thread, author=cast.moderator, parent=scene.reply, body="Me too.")
    with pytest.raises(PermissionDenied, match="a comment in this sub-thread"):
        mod.move_subthread(scene.comment, cast.moderator, "Tangent")
    mod.move_subthread(scene.comment, cast.moderator2, "Tangent")


# Reports and auto-hide ----------------------------------------------------------------


def _reporters(make_user, n):
    return [make_user() for _ in range(n)]


def test_third_report_hides_the_comment_until_a_moderator_decides(db, cast, scene, make_user):
    first, second, third = _reporters(make_user, 3)
    mod.report_content(first, scene.comment, "abuse")
    mod.report_content(second, scene.comment, "spam")
    db.session.commit()
    assert scene.comment.status == CommentStatus.published
    # One entry per report, naming no reporter.
    reports = log_entries(db)
    assert [(e.action, e.moderator_id) for e in reports] == [("report_content", None)] * 2
    assert [e.reason for e in reports] == ["Reported as abuse.", "Reported as spam."]
    mod.report_content(third, scene.comment, "abuse", "Third time")
    db.session.commit()
    db.session.refresh(scene.comment)
    assert scene.comment.status == CommentStatus.hidden
    assert scene.comment.hidden_by_id is None
    assert "until a moderator decides" in scene.comment.hidden_reason
    # The third report's one entry is the automatic hiding.
    entry = log_entries(db)[-1]
    assert len(log_entries(db)) == 3
    assert (entry.action, entry.moderator_id, entry.target_id) == (
        "auto_hide_comment",
        None,
        scene.comment.id,
    )
    assert [n.kind for n in notifications_of(db, cast.author)] == [
        "content_reported",
        "content_reported",
        "comment_hidden",
    ]
    # The moderator decides: keeping it hidden resolves the three reports.
    mod.hide_comment(scene.comment, cast.moderator, "Abusive")
    db.session.commit()
    statuses = set(db.session.scalars(sa.select(Report.status)))
    assert statuses == {ReportStatus.resolved}
    assert scene.comment.hidden_by_id == cast.moderator.id


def test_auto_hide_follows_the_configured_count(app, db, cast, scene, make_user, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_TO_HIDE", 5)
    reporters = _reporters(make_user, 5)
    for reporter in reporters[:4]:
        mod.report_content(reporter, scene.comment, "spam")
    db.session.commit()
    assert scene.comment.status == CommentStatus.published
    mod.report_content(reporters[4], scene.comment, "spam")
    db.session.commit()
    assert scene.comment.status == CommentStatus.hidden


def test_auto_hide_at_one_report_when_configured(app, db, cast, scene, monkeypatch):
    monkeypatch.setitem(app.config, "REPORTS_TO_HIDE", 1)
    mod.report_content(cast.member, scene.comment, "abuse")
    db.session.commit()
    assert scene.comment.status == CommentStatus.hidden


def test_dismissing_reports_brings_an_auto_hidden_comment_back(db, cast, scene, make_user):
    reports = [mod.report_content(u, scene.comment, "spam") for u in _reporters(make_user, 3)]
    db.session.commit()
    assert scene.comment.status == CommentStatus.hidden
    mod.dismiss_report(reports[0], cast.moderator, "Not spam: a quote")
    db.session.commit()
    assert scene.comment.status == CommentStatus.published
    assert scene.comment.hidden_reason is None
    # Exactly one entry for the dismissal, after the reports and the automatic hide.
    assert [e.action for e in log_entries(db)] == [
        "report_content",
        "report_content",
        "auto_hide_comment",
        "dismiss_report",
    ]


def test_restore_dismisses_open_reports(db, cast, scene, make_user):
    for u in _reporters(make_user, 3):
        mod.report_content(u, scene.comment, "spam")
    mod.restore_comment(scene.comment, cast.moderator, "Fair criticism")
    db.session.commit()
    assert set(db.session.scalars(sa.select(Report.status))) == {ReportStatus.dismissed}
    assert scene.comment.status == CommentStatus.published


def test_second_open_report_is_refused_by_the_database(db, cast, scene):
    mod.report_content(cast.member, scene.comment, "spam")
    db.session.commit()
    # The constraint itself, not a check in Python.
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            db.session.add(
                Report(reporter_id=cast.member.id, comment_id=scene.comment.id, reason="abuse")
            )
    db.session.rollback()
    # The service turns it into a polite refusal and keeps the transaction usable.
    with pytest.raises(InvalidState, match="already reported this comment"):
        mod.report_content(cast.member, scene.comment, "abuse", "again")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Report)) == 1
    db.session.commit()


def test_a_closed_report_allows_a_new_one(db, cast, scene):
    first = mod.report_content(cast.member, scene.proposal, "spam")
    mod.dismiss_report(first, cast.moderator, "Not spam")
    second = mod.report_content(cast.member, scene.proposal, "off_topic")
    db.session.commit()
    assert second.id != first.id and second.status == ReportStatus.open


def test_report_rules(db, cast, scene):
    with pytest.raises(PermissionDenied, match="own comment"):
        mod.report_content(cast.author, scene.comment, "spam")
    with pytest.raises(PermissionDenied, match="suspended"):
        mod.report_content(cast.suspended, scene.comment, "spam")
    with pytest.raises(ValidationError, match="reason from the list"):
        mod.report_content(cast.member, scene.comment, "boring")
    with pytest.raises(ValidationError, match="at most"):
        mod.report_content(cast.member, scene.comment, "other", "x" * 2001)


# Approve, pin, lock, suspend ------------------------------------------------------------


def test_approving_a_guest_comment_counts_it_in(db, cast, scene, mod_comment):
    before = scene.thread.comment_count
    pending = mod_comment(scene.thread, author_name="Visitor", status=CommentStatus.pending)
    db.session.refresh(scene.thread)
    assert scene.thread.comment_count == before
    mod.approve_comment(pending, cast.moderator, "Fine")
    db.session.commit()
    db.session.refresh(scene.thread)
    assert pending.status == CommentStatus.published
    assert scene.thread.comment_count == before + 1


def test_first_post_review_is_cleared_by_approval(db, cast, scene, mod_comment, make_user):
    newcomer = make_user()
    first = mod_comment(scene.thread, author=newcomer, needs_review=True)
    mod.approve_comment(first, cast.moderator, "Welcome")
    assert not first.needs_review and first.status == CommentStatus.published
    with pytest.raises(InvalidState, match="not waiting"):
        mod.approve_comment(first, cast.moderator2, "Again")


def test_pin_only_top_level(db, cast, scene):
    with pytest.raises(PermissionDenied, match="top-level"):
        mod.pin_comment(scene.reply, cast.moderator, "x")
    mod.pin_comment(scene.comment, cast.moderator, "Summary")
    assert scene.comment.pinned


def test_lock_and_unlock(db, cast, scene):
    mod.lock_thread(scene.thread, cast.moderator, "Cooling off")
    assert scene.thread.state == ThreadState.locked
    assert scene.thread.state_reason == "Cooling off"
    with pytest.raises(PermissionDenied, match="Only an open thread"):
        mod.lock_thread(scene.thread, cast.moderator2, "x")
    mod.unlock_thread(scene.thread, cast.moderator2, "Calm")
    assert scene.thread.state == ThreadState.open


def test_lock_own_proposal_thread_refused(db, cast, mod_proposal):
    proposal = mod_proposal(cast.moderator)
    with pytest.raises(PermissionDenied, match="own proposal"):
        mod.lock_thread(proposal.thread, cast.moderator, "x")
    mod.lock_thread(proposal.thread, cast.moderator2, "Flame war")


def test_suspension_ends_sessions_and_can_be_lifted(db, cast):
    version = cast.member.session_version
    until = utcnow() + timedelta(days=7)
    mod.suspend_member(cast.member, cast.moderator, until, "Spam")
    db.session.commit()
    assert cast.member.session_version == version + 1
    assert cast.member.is_suspended()
    assert cast.member.suspension_reason == "Spam"
    with pytest.raises(ValidationError, match="future"):
        mod.suspend_member(cast.author, cast.moderator, utcnow() - timedelta(hours=1), "x")
    mod.lift_suspension(cast.member, cast.moderator2, "Apologised")
    assert not cast.member.is_suspended()
    with pytest.raises(PermissionDenied, match="not suspended"):
        mod.lift_suspension(cast.member, cast.moderator, "x")


def test_change_role_is_admin_only_and_logged(db, cast):
    with pytest.raises(PermissionDenied, match="Only an admin"):
        mod.change_role(cast.member, Role.moderator, cast.moderator, "x")
    with pytest.raises(PermissionDenied, match="own role"):
        mod.change_role(cast.admin, Role.member, cast.admin, "x")
    mod.change_role(cast.member, "moderator", cast.admin, "Trusted member")
    [entry] = log_entries(db)
    assert entry.details == "member -> moderator"
    assert cast.member.role == Role.moderator


# Moving a sub-thread -----------------------------------------------------------------------


def test_move_subthread_recomputes_paths_and_keeps_counts(db, cast, mod_article, mod_comment):
    article = mod_article()
    thread = article.thread
    first = mod_comment(thread, author=cast.member, body="First")
    second = mod_comment(thread, author=cast.member, body="Second")
    branch = mod_comment(thread, author=cast.author, parent=second, body="Branch")
    leaf1 = mod_comment(thread, author=cast.member, parent=branch, body="Leaf 1")
    leaf2 = mod_comment(thread, author=cast.member, parent=leaf1, body="Leaf 2")
    sibling = mod_comment(thread, author=cast.member, parent=second, body="Sibling")
    db.session.refresh(thread)
    assert thread.comment_count == 6
    old_branch_path = branch.path

    new_thread = mod.move_subthread(branch, cast.moderator, "Its own topic", "Leaves")
    db.session.commit()
    for obj in (thread, new_thread, first, second, branch, leaf1, leaf2, sibling):
        db.session.refresh(obj)

    assert new_thread.title == "Leaves"
    assert (branch.thread_id, branch.parent_id, branch.depth, branch.path, branch.root_id) == (
        new_thread.id, None, 0, "000001", branch.id,
    )  # fmt: skip
    assert (leaf1.thread_id, leaf1.depth, leaf1.path, leaf1.root_id, leaf1.parent_id) == (
        new_thread.id, 1, "000001.000001", branch.id, branch.id,
    )  # fmt: skip
    assert (leaf2.depth, leaf2.path, leaf2.root_id) == (2, "000001.000001.000001", branch.id)
    assert new_thread.comment_count == 3 and new_thread.top_level_count == 1

    placeholder = db.session.scalar(
        sa.select(Comment).where(Comment.thread_id == thread.id, Comment.path == old_branch_path)
    )
    assert placeholder.moved_to_thread_id == new_thread.id
    assert placeholder.parent_id == second.id and placeholder.root_id == second.root_id
    # 6 comments - 3 moved + the placeholder; ancestors' counts follow.
    assert thread.comment_count == 4 and thread.top_level_count == 2
    assert second.descendant_count == 2  # placeholder + sibling
    assert sibling.thread_id == thread.id and first.thread_id == thread.id

    # Counters equal a fresh count on both threads.
    for t in (thread, new_thread):
        real = db.session.scalar(
            sa.select(sa.func.count()).where(
                Comment.thread_id == t.id, Comment.status != CommentStatus.pending
            )
        )
        assert t.comment_count == real
    # A new reply in the new thread gets a fresh path after the moved ones.
    from app.services.comments import add_comment

    top = add_comment(new_thread, cast.member, "A new top-level comment")
    assert top.path == "000002"
    # The placeholder cannot be acted on as a comment.
    with pytest.raises(PermissionDenied, match="placeholder"):
        mod.hide_comment(placeholder, cast.moderator, "x")


def test_move_top_level_subthread(db, cast, mod_article, mod_comment):
    article = mod_article()
    top = mod_comment(article.thread, author=cast.author, body="Top")
    mod_comment(article.thread, author=cast.member, parent=top, body="Reply")
    new_thread = mod.move_subthread(top, cast.moderator, "Split")
    db.session.commit()
    db.session.refresh(article.thread)
    placeholder = db.session.scalar(
        sa.select(Comment).where(Comment.thread_id == article.thread_id)
    )
    assert placeholder.root_id == placeholder.id and placeholder.depth == 0
    assert article.thread.comment_count == 1 and article.thread.top_level_count == 1
    assert new_thread.comment_count == 2
    assert new_thread.title.startswith("Moved: Top")
