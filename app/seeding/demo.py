"""`flask seed --demo`: a demonstration round that mirrors the seed case.

After the ISO's convention in late February 2019 and the Steering
Committee's letter of 15 March, members posted 28 proposals in 11 days;
many were withdrawn, several in favour of another, and the most widely
backed one had 113 supporters on 26 March. This module replays such a
round through the services (with historical timestamps), so every count,
event and notification obeys the same rules as the live site.

The members are invented and marked `is_demo`; their password is the hash
of a random secret nobody knows (hashed once: scrypt is slow on purpose).
Running it again changes nothing.
"""

import random
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from ..extensions import db
from ..models import Cosignature, Proposal, ProposalState, Round, User
from ..models.user import PASSWORD_METHOD, username_key
from ..services import proposals as svc

DEMO_SLUG = "way-forward-2019"
DEMO_TITLE = "The way forward after the 2019 convention"
DEMO_DESCRIPTION = """\
A **demonstration round** that mirrors the case told in the seed article
“US socialist organisation implodes”: after the convention in late February
2019 and the Steering Committee's letter to members of 15 March, members
posted 28 proposals on the way forward in 11 days. Many were withdrawn, several
in favour of another, and the most widely backed one had 113 supporters on
26 March 2019.

The members, titles and texts here are invented, except the text of the
leading proposal, which the article quotes. The round stays open so that you
can try co-signing, withdrawing and following a successor.
"""

LEADING_NUMBER = 7
LEADING_TITLE = "Develop a process for dissolving the ISO"
LEADING_BODY = """\
Develop a process for dissolving the ISO. Maintain the website and SW [Socialist Worker] \
online as a forum for discussion for the time being.

Branches that wish to remain together should do so and may rename their locals as they see \
fit. Any working group or caucus (POC [people of colour], trans, survivors, teachers, Latin \
America, etc.) that wishes to continue working may do so under their own name as we go forward.

Everyone is encouraged to pursue activism, labor work and outward activities, whatever form \
that takes in their local situation.
"""
LEADING_SUPPORTERS = 113

CONVENTION = datetime(2019, 2, 24, 18, 0)
LETTER = datetime(2019, 3, 15, 9, 0)
# 11 days after the letter: the day the article counts 28 proposals.
COUNT_DAY = datetime(2019, 3, 26, 12, 0)

FIRST_NAMES = [
    "Ada", "Bram", "Carmen", "Dev", "Elena", "Farid", "Greta", "Hugo", "Imani", "Jonah",
    "Keiko", "Luis", "Maren", "Nadia", "Omar", "Priya", "Quinn", "Rosa", "Sami", "Tova",
]  # fmt: skip
LAST_NAMES = [
    "Abara", "Bellamy", "Castell", "Dunmore", "Esteves", "Farrow", "Galindo", "Holt",
    "Ivers", "Jaramillo", "Kovac", "Lindqvist", "Marsh", "Nakai", "Okafor", "Pereira",
    "Quarles", "Rooney", "Solberg", "Thackeray",
]  # fmt: skip
MEMBER_COUNT = 160

# number: (title, state, successor number, co-signers given, withdrawal reason)
# Invented titles; 9 stay open, 19 are withdrawn (8 of them in favour of another).
PLAN: dict[int, tuple[str, str, int | None, int, str | None]] = {
    1: ("Dissolve the ISO at once", "withdrawn", 3, 14, "duplicate"),
    2: ("Wind down over three months and keep the branches", "withdrawn", 7, 22, "merged"),
    3: ("Dissolve the ISO immediately and return dues", "open", None, 64, None),
    4: ("Suspend all activity until the investigation reports", "withdrawn", None, 8, "superseded"),
    5: ("Keep Socialist Worker online as an open forum", "withdrawn", 7, 19, "merged"),
    6: ("Hold an emergency convention in April", "withdrawn", None, 11, "no_longer_needed"),
    7: (LEADING_TITLE, "open", None, LEADING_SUPPORTERS - 1, None),
    8: ("Elect an interim committee from the branches", "withdrawn", None, 6, "other"),
    9: ("Let caucuses continue under their own names", "withdrawn", 7, 13, "merged"),
    10: ("Close the national office by the end of March", "withdrawn", 3, 5, "duplicate"),
    11: ("Publish all minutes of the 2013 Steering Committee", "withdrawn", None, 17, "other"),
    12: ("Refound the organisation on new principles", "open", None, 21, None),
    13: ("Encourage members to keep organising locally", "withdrawn", 7, 9, "duplicate"),
    14: ("Dissolve after a national conference", "withdrawn", 18, 7, "merged"),
    15: ("Set up an independent commission on the 2013 case", "open", None, 38, None),
    16: ("Transfer the branch funds to local campaigns", "withdrawn", None, 4, "superseded"),
    17: ("Ask the #MeToo commission to lead the investigation", "withdrawn", 15, 10, "merged"),
    18: ("Hold a national conference in the summer, then decide", "open", None, 47, None),
    19: ("Rename the organisation and continue", "withdrawn", None, 3, "no_longer_needed"),
    20: ("Maintain the website for discussion for now", "withdrawn", 7, 12, "duplicate"),
    21: ("Hand the Socialist Worker archive to an independent trust", "open", None, 17, None),
    22: ("Ballot every member before dissolving", "withdrawn", 18, 8, "merged"),
    23: ("Apologise publicly to the survivors", "withdrawn", None, 15, "superseded"),
    24: ("Open the accounts before any dissolution", "open", None, 29, None),
    25: ("Merge the branches into a looser network", "withdrawn", None, 6, "other"),
    26: ("Let the caucuses lead the transition", "open", None, 12, None),
    27: ("Keep paying the staff until the summer", "withdrawn", None, 4, "no_longer_needed"),
    28: ("Build regional networks of former branches", "open", None, 9, None),
}

EXPLANATIONS = {
    "duplicate": "Another proposal says the same; let us put our names behind one text.",
    "merged": "We agreed with its authors to back one joint text instead.",
    "superseded": "Events have overtaken this proposal.",
    "no_longer_needed": "The Steering Committee has since done what this asked.",
    "other": "After discussion in our branch we no longer think this is the right course.",
}


@dataclass
class DemoReport:
    created: bool = False
    members: int = 0
    members_reused: int = 0
    proposals: int = 0
    withdrawn: int = 0
    in_favour: int = 0
    cosignatures: int = 0
    leading: Proposal | None = None
    round: Round | None = None
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        if not self.created:
            return [
                f"Demo round “{DEMO_TITLE}” is already there (/rounds/{DEMO_SLUG}): "
                "nothing changed."
            ]
        lead = self.leading
        return [
            f"Demo round “{DEMO_TITLE}” created at /rounds/{DEMO_SLUG}.",
            f"  {self.members} demo members created"
            + (f" ({self.members_reused} already there, reused)" if self.members_reused else "")
            + ", all marked as demo accounts with unusable passwords.",
            f"  {self.proposals} proposals over 11 days (15-26 March 2019), "
            f"{self.withdrawn} withdrawn, {self.in_favour} of them in favour of another.",
            f"  {self.cosignatures} co-signatures, each with its event in the history.",
            f"  Leading: {lead.label} “{lead.title}” with {lead.supporter_count} supporters "
            f"(/proposals/{lead.id}).",
        ]


def _demo_members(report: DemoReport) -> list[User]:
    # One hash for every demo account: a random secret nobody knows.
    password_hash = generate_password_hash(secrets.token_urlsafe(32), method=PASSWORD_METHOD)
    wanted = []
    for i in range(MEMBER_COUNT):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES) + i) % len(LAST_NAMES)]
        wanted.append((f"demo.{first}.{last}".lower(), f"{first} {last}"))
    existing = {
        u.username_key: u
        for u in db.session.scalars(
            sa.select(User).where(User.username_key.in_([username_key(n) for n, _ in wanted]))
        )
    }
    members = []
    for i, (username, display_name) in enumerate(wanted):
        user = existing.get(username_key(username))
        if user is None:
            user = User(
                username=username,
                username_key=username_key(username),
                display_name=display_name,
                email=f"{username}@demo.invalid",
                password_hash=password_hash,
                is_demo=True,
                created_at=CONVENTION - timedelta(days=30) + timedelta(hours=7 * i),
                password_changed_at=CONVENTION - timedelta(days=30),
                email_confirmed_at=CONVENTION - timedelta(days=30),
            )
            db.session.add(user)
            report.members += 1
        else:
            report.members_reused += 1
        members.append(user)
    db.session.flush()
    return members


def _schedule(rng: random.Random) -> dict[int, dict]:
    """When each proposal is posted, and withdrawn: 28 over the 11 days after the letter."""
    span = (COUNT_DAY - timedelta(hours=3)) - LETTER
    times: dict[int, dict] = {}
    for number in PLAN:
        at = LETTER + span * ((number - 1) / len(PLAN)) + timedelta(minutes=rng.randint(5, 200))
        times[number] = {"created": at}
    for number, (_title, state, successor, _n, _reason) in PLAN.items():
        if state != "withdrawn":
            continue
        start = times[number]["created"]
        if successor is not None:
            start = max(start, times[successor]["created"])
        remaining = (COUNT_DAY - timedelta(hours=1)) - start
        times[number]["withdrawn"] = start + remaining * rng.uniform(0.45, 0.9)
    return times


def _body(number: int, title: str) -> str:
    if number == LEADING_NUMBER:
        return LEADING_BODY
    return (
        f"{title}.\n\n"
        "After the convention and the Steering Committee's letter of 15 March, we propose "
        "this as the way forward. We ask every member to read it, discuss it in their branch "
        "and co-sign it if they agree.\n\n"
        "*A demonstration text: the members and wording are invented.*"
    )


def seed_demo() -> DemoReport:
    """Create the demonstration round once; a second run changes nothing and says so."""
    report = DemoReport()
    if db.session.scalar(sa.select(Round.id).where(Round.slug == DEMO_SLUG)) is not None:
        return report
    # Reproducible invented data, not security: a seeded PRNG is the point.
    rng = random.Random(20190326)  # nosec
    members = _demo_members(report)
    round_ = Round(
        slug=DEMO_SLUG,
        title=DEMO_TITLE,
        description=DEMO_DESCRIPTION,
        is_demo=True,
        created_at=LETTER,
    )
    db.session.add(round_)
    db.session.flush()
    times = _schedule(rng)

    # The author of each proposal, then who co-signs it and when.
    authors = {n: members[(n * 37) % len(members)] for n in PLAN}
    actions: list[tuple[datetime, int, str, int, object]] = []
    for number, (_title, state, _succ, signers, _reason) in PLAN.items():
        created = times[number]["created"]
        end = times[number].get("withdrawn", COUNT_DAY - timedelta(minutes=30))
        pool = [m for m in members if m.id != authors[number].id]
        extra = 1 if number == LEADING_NUMBER else 0  # one signs, then changes their mind
        chosen = rng.sample(pool, signers + extra)
        for member in chosen:
            at = created + (end - created) * (rng.random() ** 1.6) + timedelta(seconds=30)
            actions.append((min(at, end - timedelta(seconds=30)), 1, "cosign", number, member))
        if extra:
            # Signed early on, removed the co-signature on the last morning.
            actions[-1] = (created + (end - created) * 0.3, 1, "cosign", number, chosen[-1])
            actions.append((end - timedelta(minutes=45), 2, "uncosign", number, chosen[-1]))
        actions.append((created, 0, "submit", number, authors[number]))
        if state == "withdrawn":
            actions.append((times[number]["withdrawn"], 3, "withdraw", number, authors[number]))
    actions.sort(key=lambda a: (a[0], a[1], a[3]))

    proposals: dict[int, Proposal] = {}
    # Proposals are posted in number order; the sort above keeps that order.
    for at, _order, kind, number, member in actions:
        title, _state, successor, _n, reason = PLAN[number]
        if kind == "submit":
            proposals[number] = svc.submit_proposal(
                round_, member, title, _body(number, title), now=at
            )
        elif kind == "cosign":
            svc.cosign(proposals[number], member, now=at)
            report.cosignatures += 1
        elif kind == "uncosign":
            svc.uncosign(proposals[number], member, now=at)
            report.cosignatures -= 1
        elif kind == "withdraw":
            svc.withdraw_proposal(
                proposals[number],
                member,
                reason,
                EXPLANATIONS[reason],
                successor=proposals[successor] if successor else None,
                now=at,
            )
            report.withdrawn += 1
            report.in_favour += successor is not None
    report.proposals = len(proposals)
    report.leading = proposals[LEADING_NUMBER]
    report.round = round_
    _check(report)
    report.created = True
    db.session.commit()
    return report


def _check(report: DemoReport) -> None:
    """The demo must say what the article says; refuse to commit anything else."""
    lead = report.leading
    active = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Cosignature)
        .where(Cosignature.proposal_id == lead.id, Cosignature.removed_at.is_(None))
    )
    withdrawn = sum(1 for plan in PLAN.values() if plan[1] == "withdrawn")
    problems = []
    if report.proposals != len(PLAN) or report.withdrawn != withdrawn:
        problems.append(f"{report.proposals} proposals, {report.withdrawn} withdrawn")
    if not lead.supporter_count == active + 1 == LEADING_SUPPORTERS:
        problems.append(f"leading count {lead.supporter_count}, {active} active co-signatures")
    if lead.state != ProposalState.open or lead.number != LEADING_NUMBER:
        problems.append(f"leading proposal is {lead.label}, {lead.state.value}")
    if problems:
        db.session.rollback()
        raise RuntimeError("The demo round came out wrong: " + "; ".join(problems))
