"""The seeded site the accessibility, keyboard and no-JavaScript journeys walk.

`flask seed --demo` through the real CLI (the seed article and the demo round),
then what the demo leaves out so that every kind of page has something on it:
people who can sign in (demo accounts cannot), a thread long enough for a
second page with a reply, a report in the queue, a notification.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from app.extensions import db
from app.models import Article, Comment, Proposal, ProposalState, Report, Role, User
from app.models.user import username_key
from app.seeding.demo import DEMO_SLUG
from app.services import moderation as mod
from app.services.comments import insert_comment
from app.services.notifications import notify
from app.timeutil import utcnow
from tests.conftest import default_password_hash

FOLDED_REPLIES = 12
EXTRA_COMMENTS = 24  # with the seeded one, more than COMMENTS_PER_PAGE (20): two pages


@dataclass
class Site:
    member: User
    author: User
    moderator: User
    admin: User
    article: Article
    open_proposal: Proposal
    withdrawn_proposal: Proposal
    leader: Proposal
    first_comment: Comment
    reply: Comment
    page2_comment: Comment
    reported: Comment
    spare: Comment  # a guest's comment nobody reported
    report: Report


def _person(username: str, display_name: str, role: Role = Role.member) -> User:
    user = User(
        username=username,
        username_key=username_key(username),
        display_name=display_name,
        email=f"{username}@example.org",
        role=role,
        password_hash=default_password_hash(),
        email_confirmed_at=utcnow(),
    )
    db.session.add(user)
    return user


def seed_site(app) -> Site:
    """Seed through the CLI, then add people, comments, a report and a notification."""
    result = app.test_cli_runner().invoke(args=["seed", "--demo"])
    assert result.exit_code == 0, result.output
    member = _person("mira_member", "Mira Member")
    moderator = _person("mo_moderator", "Mo Moderator", Role.moderator)
    admin = _person("ada_admin", "Ada Admin", Role.admin)
    db.session.flush()

    round_id = db.session.scalar(sa.text("SELECT id FROM rounds WHERE slug = :s"), {"s": DEMO_SLUG})
    proposals = {
        p.number: p
        for p in db.session.scalars(sa.select(Proposal).where(Proposal.round_id == round_id))
    }
    leader = max(proposals.values(), key=lambda p: p.supporter_count)
    open_proposal = next(
        p for n, p in sorted(proposals.items()) if p.state == ProposalState.open and p is not leader
    )
    withdrawn = next(p for n, p in sorted(proposals.items()) if p.state == ProposalState.withdrawn)
    author = open_proposal.author
    author.password_hash = default_password_hash()  # a demo account, made usable

    article = db.session.scalars(sa.select(Article).order_by(Article.id)).first()
    thread = article.thread
    first = db.session.scalars(
        sa.select(Comment).where(Comment.thread_id == thread.id).order_by(Comment.path)
    ).first()
    reply = insert_comment(
        thread, first, body="A reply, to show the nesting.", author=moderator, is_verified=True
    )
    for i in range(1, FOLDED_REPLIES + 1):  # more than COMMENT_REPLIES_SHOWN (10): a fold
        insert_comment(
            thread,
            first,
            body=f"Reply {i} to the first comment.",
            author_name=f"Reader {i}",
            is_verified=False,
        )
    comments = [
        insert_comment(
            thread,
            None,
            body=f"Comment {i}: a *point* about the [article](https://example.org/{i}).",
            author=admin if i % 3 == 0 else None,
            author_name=None if i % 3 == 0 else f"Reader {i}",
            is_verified=i % 3 == 0,
        )
        for i in range(1, EXTRA_COMMENTS + 1)
    ]
    db.session.flush()
    reported = comments[1]  # a guest's comment: anyone may report it
    report = mod.report_content(member, reported, "spam", "Looks like an advert.")
    notify(
        member,
        "proposal_withdrawn",
        f"{withdrawn.label} was withdrawn.",
        link=f"/proposals/{withdrawn.id}",
    )
    db.session.commit()
    return Site(
        member=member,
        author=author,
        moderator=moderator,
        admin=admin,
        article=article,
        open_proposal=open_proposal,
        withdrawn_proposal=withdrawn,
        leader=leader,
        first_comment=first,
        reply=reply,
        page2_comment=comments[-1],
        reported=reported,
        spare=comments[4],
        report=report,
    )
