"""Moderation pages: wiring of reports, the queue, actions, the log, profiles and roles."""

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.models import Comment, CommentStatus, ModerationAction, Report, Role, ThreadState
from app.services import moderation as mod
from app.timeutil import utcnow


@pytest.fixture
def scene(db, cast, mod_article, mod_comment, mod_proposal):
    article = mod_article(title="The way forward")
    comment = mod_comment(article.thread, author=cast.author, body="You are all idiots.")
    reply = mod_comment(article.thread, author=cast.member, parent=comment, body="Calm down.")
    proposal = mod_proposal(cast.author)
    return type(
        "Scene",
        (),
        {"article": article, "thread": article.thread, "comment": comment, "reply": reply,
         "proposal": proposal},
    )  # fmt: skip


def _count(db, model, *where):
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


# Reports ----------------------------------------------------------------------------


def test_member_reports_a_comment(client, auth, db, cast, scene):
    auth.login(cast.member)
    url = f"/moderation/report/comment/{scene.comment.id}"
    page = client.get(url)
    assert page.status_code == 200
    assert b"You are all idiots." in page.data and b"Spam" in page.data
    response = client.post(url, data={"reason": "abuse", "note": "Name-calling", "next": "/x"})
    assert response.status_code == 302 and response.headers["Location"] == "/x"
    report = db.session.scalar(sa.select(Report))
    assert (report.reporter_id, report.comment_id, report.reason.value, report.note) == (
        cast.member.id,
        scene.comment.id,
        "abuse",
        "Name-calling",
    )


def test_duplicate_report_is_refused_politely(client, auth, db, cast, scene):
    auth.login(cast.member)
    url = f"/moderation/report/comment/{scene.comment.id}"
    client.post(url, data={"reason": "abuse"})
    again = client.post(url, data={"reason": "spam", "note": "Still rude"})
    assert again.status_code == 409
    assert b"already reported this comment" in again.data
    assert b"Still rude" in again.data  # what the member typed is kept
    assert _count(db, Report) == 1


def test_report_form_errors_keep_the_input(client, auth, cast, scene):
    auth.login(cast.member)
    url = f"/moderation/report/proposal/{scene.proposal.id}"
    response = client.post(url, data={"note": "No reason chosen"})
    assert response.status_code == 400
    assert b"Choose a reason" in response.data and b"No reason chosen" in response.data
    bad = client.post(url, data={"reason": "boring"})
    assert bad.status_code == 400


@pytest.mark.parametrize("who, status", [("author", 403), ("suspended", 403), (None, 302)])
def test_who_cannot_report(client, auth, cast, scene, who, status):
    if who:
        auth.login(getattr(cast, who))
    response = client.post(
        f"/moderation/report/comment/{scene.comment.id}", data={"reason": "spam"}
    )
    assert response.status_code == status
    if status == 302:
        assert "/login" in response.headers["Location"]


def test_unknown_targets_are_404(client, auth, cast):
    auth.login(cast.moderator)
    for url in (
        "/moderation/report/comment/999",
        "/moderation/report/proposal/999",
        "/moderation/comments/999/hide",
        "/moderation/proposals/999/hide",
        "/moderation/threads/999/lock",
        "/moderation/reports/999/dismiss",
        "/moderation/users/999/suspend",
    ):
        assert client.post(url, data={"reason": "x"}).status_code == 404, url


# Queue and actions ---------------------------------------------------------------------------


def test_queue_shows_reports_pending_and_first_posts_oldest_first(
    client, auth, db, cast, scene, mod_comment, make_user
):
    mod.report_content(cast.member, scene.comment, "abuse", "Insults")
    guest = mod_comment(scene.thread, author_name="Visitor Val", status=CommentStatus.pending)
    newcomer = make_user("newbie")
    first_post = mod_comment(scene.thread, author=newcomer, needs_review=True, body="Hi all")
    db.session.commit()
    auth.login(cast.moderator)
    response = client.get("/moderation/queue")
    assert response.status_code == 200
    html = response.data.decode()
    assert "Insults" in html and "You are all idiots." in html
    assert "Visitor Val" in html and "(not verified)" in html
    assert "Hi all" in html
    assert html.index("Reports") < html.index(guest.body) < html.index("Hi all")
    assert f"/moderation/comments/{scene.comment.id}/hide" in html
    assert f"/moderation/comments/{guest.id}/approve" in html
    assert f"/moderation/comments/{first_post.id}/approve" in html
    data = client.get("/moderation/queue", headers={"Accept": "application/json"}).get_json()
    assert data["counts"] == {"reports": 1, "pending": 1, "first_posts": 1}


def test_queue_query_count_is_fixed(client, auth, db, cast, scene, mod_comment, make_user,
                                    query_counter):  # fmt: skip
    def fill(n):
        for _ in range(n):
            reporter = make_user()
            target = mod_comment(scene.thread, author=make_user(), body="Spam spam")
            mod.report_content(reporter, target, "spam")
            mod_comment(scene.thread, author_name="Guest", status=CommentStatus.pending)
            mod_comment(scene.thread, author=make_user(), needs_review=True)
        db.session.commit()

    auth.login(cast.moderator)
    fill(2)
    with query_counter() as small:
        assert client.get("/moderation/queue").status_code == 200
    fill(10)
    with query_counter() as big:
        assert client.get("/moderation/queue").status_code == 200
    assert big.count == small.count


def test_queue_is_for_moderators(client, auth, cast):
    assert client.get("/moderation/queue").status_code == 302
    auth.login(cast.member)
    assert client.get("/moderation/queue").status_code == 403


def test_hide_from_the_queue_with_a_reason(client, auth, db, cast, scene):
    auth.login(cast.moderator)
    url = f"/moderation/comments/{scene.comment.id}/hide"
    assert client.get(url).status_code == 200  # the confirm page
    missing = client.post(url, data={"reason": "  "})
    assert missing.status_code == 400 and b"Give a reason" in missing.data
    response = client.post(url, data={"reason": "Insults", "next": "/moderation/queue"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/moderation/queue"
    db.session.refresh(scene.comment)
    assert scene.comment.status == CommentStatus.hidden
    assert scene.comment.hidden_reason == "Insults"
    again = client.post(url, data={"reason": "Twice"})
    assert again.status_code == 403 and b"nothing to hide" in again.data


def test_open_redirect_is_refused_after_an_action(client, auth, db, cast, scene):
    auth.login(cast.moderator)
    response = client.post(
        f"/moderation/threads/{scene.thread.id}/lock",
        data={"reason": "Heated", "next": "//evil.example/"},
    )
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]
    db.session.refresh(scene.thread)
    assert scene.thread.state == ThreadState.locked


def test_recusal_message_is_shown(client, auth, db, cast, scene, mod_comment):
    own = mod_comment(scene.thread, author=cast.moderator, body="Mine")
    auth.login(cast.moderator)
    response = client.post(f"/moderation/comments/{own.id}/hide", data={"reason": "x"})
    assert response.status_code == 403
    assert b"another moderator has to decide" in response.data
    response = client.post(
        f"/moderation/users/{cast.author.id}/suspend",
        data={"reason": "x", "duration": "7", "thread_id": str(scene.thread.id)},
    )
    assert response.status_code == 403 and b"take part in this thread" in response.data


def test_suspend_from_a_thread_and_lift(client, auth, db, cast, scene):
    auth.login(cast.moderator)
    page = client.get(f"/moderation/users/{cast.author.id}/suspend?thread={scene.thread.id}")
    assert page.status_code == 200 and b"The way forward" in page.data
    response = client.post(
        f"/moderation/users/{cast.author.id}/suspend",
        data={"reason": "Insults", "duration": "3", "thread_id": str(scene.thread.id)},
    )
    assert response.status_code == 302
    db.session.refresh(cast.author)
    assert cast.author.is_suspended()
    assert timedelta(days=2, hours=23) < cast.author.suspended_until - utcnow() <= timedelta(days=3)
    custom = client.post(
        f"/moderation/users/{cast.member.id}/suspend",
        data={"reason": "Spam", "duration": "custom", "until": ""},
    )
    assert custom.status_code == 400 and b"Give the date and time" in custom.data
    lifted = client.post(f"/moderation/users/{cast.author.id}/lift", data={"reason": "Sorry"})
    assert lifted.status_code == 302
    db.session.refresh(cast.author)
    assert not cast.author.is_suspended()


@pytest.mark.parametrize("thread_id", ["9223372036854775808", "2147483648", "-1", "x1", "0"])
def test_suspend_over_a_thread_id_no_column_holds_is_404(client, auth, cast, thread_id):
    """Hypothesis found 2**63 gave a 500 on SQLite (the driver's overflow)."""
    auth.login(cast.moderator)
    url = f"/moderation/users/{cast.author.id}/suspend"
    assert client.get(f"{url}?thread={thread_id}").status_code == 404
    posted = client.post(url, data={"reason": "spam", "duration": "1", "thread_id": thread_id})
    assert posted.status_code == 404


def test_suspended_member_sees_why_and_until_when(client, auth, cast):
    auth.login(cast.suspended)
    html = client.get("/").data.decode()
    assert "suspended until" in html and "Repeated abuse" in html
    assert cast.suspended.suspended_until.strftime("%d %b %Y") in html


# Inline controls ------------------------------------------------------------------------------


def test_thread_shows_controls_by_role(client, auth, db, cast, scene, mod_comment):
    own = mod_comment(scene.thread, author=cast.moderator, body="Moderator's own words")
    url = f"/articles/{scene.article.slug}"
    visitor = client.get(url).data.decode()
    assert "/moderation/report/comment/" not in visitor

    auth.login(cast.member)
    html = client.get(url).data.decode()
    assert f"/moderation/report/comment/{scene.comment.id}" in html
    assert f"/moderation/report/comment/{scene.reply.id}" not in html  # their own
    assert "/moderation/comments/" not in html
    auth.logout()

    auth.login(cast.moderator)
    html = client.get(url).data.decode()
    assert f"/moderation/comments/{scene.comment.id}/hide" in html
    assert f"/moderation/comments/{scene.comment.id}/pin" in html
    assert f"/moderation/comments/{scene.reply.id}/pin" not in html  # replies are not pinned
    assert f"/moderation/comments/{own.id}/hide" not in html  # recusal
    assert f"/moderation/threads/{scene.thread.id}/lock" in html
    # The moderator commented here, so no suspension over this thread.
    assert f"/moderation/users/{cast.author.id}/suspend" not in html
    auth.logout()

    auth.login(cast.moderator2)
    html = client.get(url).data.decode()
    assert f"/moderation/users/{cast.author.id}/suspend?thread={scene.thread.id}" in html
    assert f"/moderation/comments/{own.id}/hide" in html


def test_thread_query_count_does_not_grow_with_controls(
    client, auth, db, cast, scene, mod_comment, make_user, query_counter
):
    auth.login(cast.moderator)
    url = f"/articles/{scene.article.slug}"
    client.get(url)
    db.session.commit()  # both measured requests start from an expired session
    with query_counter() as small:
        client.get(url)
    for _ in range(8):
        mod_comment(scene.thread, author=make_user(), body="More")
    with query_counter() as big:
        client.get(url)
    assert big.count == small.count


# The log ------------------------------------------------------------------------------------


def _fill_log(db, cast, scene):
    mod.hide_comment(scene.comment, cast.moderator, "Insults")
    mod.lock_thread(scene.thread, cast.moderator2, "Heated")
    mod.suspend_member(cast.author, cast.moderator2, utcnow() + timedelta(days=1), "Abuse")
    db.session.commit()


def test_log_is_readable_by_members_not_visitors(client, auth, db, cast, scene):
    _fill_log(db, cast, scene)
    assert client.get("/moderation/log").status_code == 302
    auth.login(cast.suspended)  # suspended members still read
    html = client.get("/moderation/log").data.decode()
    assert "Moe Derator" in html and "hid a comment" in html and "Insults" in html
    assert "Mona Second" in html and "locked a thread" in html
    assert "until " in html  # the suspension's end
    # A page number no database takes is refused with the form, not a 500.
    assert client.get(f"/moderation/log?page={2**63}").status_code == 400
    assert client.get("/moderation/log?page=2").status_code == 200


def test_log_filters(client, auth, db, cast, scene):
    _fill_log(db, cast, scene)
    auth.login(cast.member)
    by_moe = client.get("/moderation/log?moderator=MOE").data.decode()
    assert "Insults" in by_moe and "Heated" not in by_moe
    locks = client.get("/moderation/log?action=lock_thread").data.decode()
    assert "Heated" in locks and "Insults" not in locks
    today = utcnow().date().isoformat()
    assert b"Insults" in client.get(f"/moderation/log?since={today}&until={today}").data
    assert b"Insults" not in client.get("/moderation/log?until=2000-01-01").data
    bad = client.get("/moderation/log?since=yesterday")
    assert bad.status_code == 400 and b"yesterday" in bad.data
    unknown = client.get("/moderation/log?action=delete_everything")
    assert unknown.status_code == 400


def test_log_paginates_with_fixed_queries(client, auth, db, cast, scene, query_counter):
    auth.login(cast.member)
    for i in range(60):
        db.session.add(
            ModerationAction(
                moderator_id=cast.moderator.id,
                action="hide_comment",
                target_type="comment",
                target_id=scene.comment.id,
                affected_user_id=cast.author.id,
                reason=f"Reason {i:02d}",
            )
        )
    db.session.commit()
    with query_counter() as first:
        page1 = client.get("/moderation/log").data.decode()
    db.session.commit()  # both measured requests start from an expired session
    with query_counter() as second:
        page2 = client.get("/moderation/log?page=2").data.decode()
    assert page1.count('<tr id="log-') == 50 and page2.count('<tr id="log-') == 10
    assert first.count == second.count
    data = client.get("/moderation/log?page=2", headers={"Accept": "application/json"}).get_json()
    assert data["total"] == 60 and len(data["entries"]) == 10


# Profiles and roles ------------------------------------------------------------------------------


def test_profile_lists_contributions_with_fixed_queries(
    client, db, cast, scene, mod_comment, mod_proposal, query_counter
):
    url = f"/users/{cast.author.username}"
    with query_counter() as small:
        html = client.get(url).data.decode()
    assert "You are all idiots." in html and scene.proposal.title in html
    for _ in range(25):
        mod_comment(scene.thread, author=cast.author, body="Another")
        mod_proposal(cast.author)
    with query_counter() as big:
        response = client.get(url)
    assert response.status_code == 200
    assert big.count == small.count
    assert b"Older comments" in response.data and b"Older proposals" in response.data
    assert client.get(url + "?comments_page=2&proposals_page=2").status_code == 200
    assert client.get("/users/nobody-here").status_code == 404


def test_profile_hides_hidden_content_from_members(client, auth, db, cast, scene):
    mod.hide_comment(scene.comment, cast.moderator, "Insults")
    mod.hide_proposal(scene.proposal, cast.moderator, "Spam")
    db.session.commit()
    url = f"/users/{cast.author.username}"
    public = client.get(url).data.decode()
    assert "You are all idiots." not in public and scene.proposal.title not in public
    auth.login(cast.moderator2)
    html = client.get(url).data.decode()
    assert "You are all idiots." in html and "hidden" in html
    assert f"/moderation/users/{cast.author.id}/suspend" in html


def test_roles_page_is_admin_only_and_logs(client, auth, db, cast):
    auth.login(cast.moderator)
    assert client.get("/moderation/roles").status_code == 403
    auth.logout()
    auth.login(cast.admin)
    assert client.get("/moderation/roles").status_code == 200
    response = client.post(
        "/moderation/roles", data={"username": "mia", "role": "moderator", "reason": "Trusted"}
    )
    assert response.status_code == 302
    db.session.refresh(cast.member)
    assert cast.member.role == Role.moderator
    entry = db.session.scalar(sa.select(ModerationAction))
    assert (entry.action, entry.details, entry.reason) == (
        "change_role",
        "member -> moderator",
        "Trusted",
    )
    missing = client.post(
        "/moderation/roles", data={"username": "ghost", "role": "admin", "reason": "x"}
    )
    assert missing.status_code == 400 and b"no member with that username" in missing.data


def test_move_subthread_page_and_link(client, auth, db, cast, scene):
    auth.login(cast.moderator2)
    url = f"/moderation/comments/{scene.comment.id}/move"
    assert client.get(url).status_code == 200
    response = client.post(url, data={"reason": "Tangent", "title": "Name-calling"})
    assert response.status_code == 302
    placeholder = db.session.scalar(
        sa.select(Comment).where(
            Comment.thread_id == scene.thread.id, Comment.moved_to_thread_id.is_not(None)
        )
    )
    html = client.get(f"/articles/{scene.article.slug}").data.decode()
    assert f"/threads/{placeholder.moved_to_thread_id}" in html
    moved = client.get(f"/threads/{placeholder.moved_to_thread_id}").data.decode()
    assert "You are all idiots." in moved and "Calm down." in moved


def test_proposal_page_shows_controls_by_role(client, auth, db, cast, scene):
    url = f"/proposals/{scene.proposal.id}"
    report = f"/moderation/report/proposal/{scene.proposal.id}"
    hide = f"/moderation/proposals/{scene.proposal.id}/hide"
    auth.login(cast.author)
    html = client.get(url).data.decode()
    assert report not in html and hide not in html
    auth.logout()
    auth.login(cast.member)
    html = client.get(url).data.decode()
    assert report in html and hide not in html
    auth.logout()
    auth.login(cast.moderator)
    html = client.get(url).data.decode()
    assert hide in html
    assert f"/moderation/users/{cast.author.id}/suspend?thread={scene.proposal.thread_id}" in html
    client.post(hide, data={"reason": "Advertising"})
    auth.logout()
    auth.login(cast.member)
    html = client.get(url).data.decode()
    assert "Advertising" in html and scene.proposal.title not in html


def test_thread_contexts_name_each_thread_as_the_viewer_may_see_it_in_one_statement(
    app, db, make_user, mod_article, mod_proposal, query_counter
):
    """An article's thread, a proposal's, a hidden proposal's, a hidden thread and a
    thread of its own (a moved sub-thread): named and linked for a visitor, a member
    and a moderator, each in one statement (it took four)."""
    from app.models import Thread, ThreadState
    from app.moderation.queries import thread_contexts

    author = make_user()
    article = mod_article(title="On threads")
    shown = mod_proposal(author, title="Shown proposal")
    hidden = mod_proposal(author, title="Hidden proposal")
    hidden.is_hidden = True
    locked_away = mod_article(title="Hidden thread's article")
    locked_away.thread.state = ThreadState.hidden
    own = Thread(title="A moved conversation")
    db.session.add(own)
    db.session.commit()
    ids = [article.thread_id, shown.thread_id, hidden.thread_id, locked_away.thread_id, own.id]
    expected = {
        "visitor": ["article", "proposal", "hidden", "hidden", "thread"],
        "member": ["article", "proposal", "hidden", "hidden", "thread"],
        "moderator": ["article", "proposal", "proposal", "article", "thread"],
    }
    viewers = {
        "visitor": None,
        "member": make_user(),
        "moderator": make_user(role=Role.moderator),
    }
    for name, viewer in viewers.items():
        db.session.expire_all()
        if viewer is not None:
            db.session.refresh(viewer)  # the viewer is loaded, as in a request
        with app.test_request_context("/"), query_counter() as counted:
            contexts = thread_contexts(ids, viewer)
        assert counted.count == 1, (name, counted.statements)
        assert [contexts[i].kind for i in ids] == expected[name], name
        for thread_id in ids:
            context = contexts[thread_id]
            if context.kind == "hidden":
                assert context.url is None and "Hidden" not in context.title
        if name == "moderator":
            assert contexts[hidden.thread_id].title == f"Proposal {hidden.number}: Hidden proposal"
            assert contexts[own.id].title == "A moved conversation"
            assert contexts[article.thread_id].url == "/articles/" + article.slug


def test_report_links_return_to_the_page_they_are_on(client, auth, make_user, make_proposal):
    """A proposal's Report link (and a moderator's Suspend link) brings the member
    back to the page they reported from: each page its own, in one worker."""
    first = make_proposal()
    second = make_proposal(round=first.round, title="Another proposal")
    auth.login(make_user())
    for proposal in (first, second, first):
        html = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
        report = re.search(rf'report/proposal/{proposal.id}\?next=([^"]*)"', html)
        assert report is not None and report[1] == f"/proposals/{proposal.id}?"
