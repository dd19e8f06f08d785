"""Schemathesis against /api/v1/openapi.json, in-process, on a small seeded site.

First every operation is called on the seeded rows it names (so each
success answer is checked, writes included); then Schemathesis generates
requests for every operation of the document (valid input, then invalid
input; a bounded number of examples each). Each request goes once with a
read token and once with a write token. No answer may be a server error,
and every answer must match what the document says of its status.
The seeded rows take the first ids (tables are emptied between tests),
so generated ids find real rows as well as missing ones.
"""

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from app.extensions import db as _db
from app.models import Role
from app.services import comments as comment_svc
from app.services import moderation as moderation_svc
from app.services import proposals as svc
from app.services import tokens as token_svc

# Examples per operation: small, so both databases' runs stay well inside CI's time.
MAX_EXAMPLES = 12
NEGATIVE_EXAMPLES = 4
CHECKS = [not_a_server_error, response_schema_conformance]
P = "/api/v1"


@pytest.fixture
def seeded(db, make_user, make_round, make_proposal, make_article, cosign_as):
    author = make_user("author")
    member = make_user("member")
    moderator = make_user("moderator", role=Role.moderator)
    round_ = make_round(title="Round one", slug="round-one")
    first = make_proposal(round=round_, author=author, title="First")
    second = make_proposal(round=round_, author=member, title="Second")
    third = make_proposal(round=round_, author=author, title="Third")
    fourth = make_proposal(round=round_, author=member, title="Fourth")
    cosign_as(first, member)
    svc.withdraw_proposal(second, member, "duplicate", "Same as the first.", successor=first)
    article = make_article(title="An article", slug="an-article")
    top = comment_svc.add_comment(article.thread, author, "Top comment")
    comment_svc.add_comment(article.thread, member, "A reply", parent=top)
    hidden = comment_svc.add_comment(article.thread, author, "Rude words")
    moderation_svc.hide_comment(hidden, moderator, "Rude")
    db.session.commit()
    secrets = {
        scope: token_svc.create_token(user, f"schemathesis {scope}", scope)[1]
        for scope, user in (("read", moderator), ("write", member))
    }
    db.session.commit()
    return {
        "secrets": secrets,
        "ids": {
            "first": first.id,
            "third": third.id,
            "fourth": fourth.id,
            "thread": article.thread_id,
            "top": top.id,
        },
    }


def _operations(app) -> dict:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    loaded = schemathesis.openapi.from_dict(spec)
    operations = [result.ok() for result in loaded.get_all_operations()]
    return {f"{op.method.upper()} {op.path}": op for op in operations}


def _call(app, case, secret: str):
    response = case.call(app=app, headers={"Authorization": f"Bearer {secret}"})
    # A refusal rolls back; the test's session must not keep a stale snapshot.
    _db.session.rollback()
    case.validate_response(response, checks=CHECKS)
    return response


def _known_cases(ids: dict) -> list[tuple[str, dict]]:
    """(operation, case data) on the seeded rows, in an order where each can succeed."""
    first, third, fourth = ids["first"], ids["third"], ids["fourth"]
    thread, top = ids["thread"], ids["top"]
    slug = {"slug": "round-one"}
    return [
        (f"GET {P}/rounds", {"query": {"limit": 1}}),
        (f"GET {P}/threads", {"query": {"limit": 2}}),
        (f"GET {P}/members", {"query": {"limit": 2}}),
        (f"GET {P}/rounds/{{slug}}", {"path_parameters": slug}),
        (f"GET {P}/rounds/{{slug}}/proposals", {"path_parameters": slug}),
        (
            f"GET {P}/rounds/{{slug}}/proposals",
            {"path_parameters": slug, "query": {"sort": "supporters", "state": "open"}},
        ),
        (
            f"POST {P}/rounds/{{slug}}/proposals",
            {"path_parameters": slug, "body": {"title": "From the API", "body": "Text."}},
        ),
        (f"GET {P}/proposals/{{proposal_id}}", {"path_parameters": {"proposal_id": first}}),
        (
            f"PATCH {P}/proposals/{{proposal_id}}",
            {"path_parameters": {"proposal_id": fourth}, "body": {"body": "Better text."}},
        ),
        (f"POST {P}/proposals/{{proposal_id}}/cosign", {"path_parameters": {"proposal_id": third}}),
        (
            f"POST {P}/proposals/{{proposal_id}}/uncosign",
            {"path_parameters": {"proposal_id": first}},
        ),
        (
            f"GET {P}/proposals/{{proposal_id}}/versions",
            {"path_parameters": {"proposal_id": fourth}},
        ),
        (
            f"GET {P}/proposals/{{proposal_id}}/versions/{{number}}",
            {"path_parameters": {"proposal_id": fourth, "number": 2}},
        ),
        (
            f"GET {P}/proposals/{{proposal_id}}/supporters",
            {"path_parameters": {"proposal_id": third}, "query": {"at": "2999-01-01"}},
        ),
        (
            f"POST {P}/proposals/{{proposal_id}}/report",
            {"path_parameters": {"proposal_id": first}, "body": {"reason": "spam"}},
        ),
        (
            f"POST {P}/proposals/{{proposal_id}}/withdraw",
            {
                "path_parameters": {"proposal_id": fourth},
                "body": {
                    "reason": "merged",
                    "explanation": "Into the first.",
                    "successor_id": first,
                },
            },
        ),
        (f"GET {P}/threads/{{thread_id}}", {"path_parameters": {"thread_id": thread}}),
        (f"GET {P}/threads/{{thread_id}}/comments", {"path_parameters": {"thread_id": thread}}),
        (
            f"POST {P}/threads/{{thread_id}}/comments",
            {"path_parameters": {"thread_id": thread}, "body": {"body": "Hello", "parent_id": top}},
        ),
        (f"GET {P}/comments/{{comment_id}}", {"path_parameters": {"comment_id": top}}),
        (
            f"POST {P}/comments/{{comment_id}}/replies",
            {"path_parameters": {"comment_id": top}, "body": {"body": "Agreed."}},
        ),
        (
            f"POST {P}/comments/{{comment_id}}/report",
            {"path_parameters": {"comment_id": top}, "body": {"reason": "other", "note": "Hm"}},
        ),
        (f"GET {P}/articles", {}),
        (f"GET {P}/articles/{{slug}}", {"path_parameters": {"slug": "an-article"}}),
        (f"GET {P}/members/{{username}}", {"path_parameters": {"username": "author"}}),
        (f"GET {P}/notifications", {"query": {"limit": 2}}),
        (f"GET {P}/moderation/log", {"query": {"action": "hide_comment"}}),
    ]


def _fuzz(app, operation, mode, examples: int, secrets: dict, statuses: set) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        for scope in ("read", "write"):
            statuses.add(_call(app, case, secrets[scope]).status_code)

    run()


def test_api_answers_match_the_document_and_never_fail(app, seeded):
    operations = _operations(app)
    secrets = seeded["secrets"]

    # Every operation succeeds on the rows it names, and answers as documented.
    known = _known_cases(seeded["ids"])
    assert {name for name, _ in known} == set(operations), "an operation has no known case"
    for name, data in known:
        case = operations[name].Case(**data)
        read = _call(app, case, secrets["read"])
        if name.startswith("GET"):
            assert read.status_code == 200, (name, read.text[:300])
            continue
        assert read.status_code == 403, (name, read.text[:300])  # a read token cannot write
        written = _call(app, case, secrets["write"])
        assert written.status_code in (200, 201), (name, written.text[:300])

    # Then generated input, valid and invalid, for every operation.
    for operation in operations.values():
        statuses: set[int] = set()
        _fuzz(app, operation, GenerationMode.POSITIVE, MAX_EXAMPLES, secrets, statuses)
        try:
            _fuzz(app, operation, GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES, secrets, statuses)
        except Unsatisfiable:
            # Nothing to break: the only input is an integer id in the path
            # (a non-number there does not match the route at all).
            assert not operation.body and not operation.query
        assert statuses, operation.path
