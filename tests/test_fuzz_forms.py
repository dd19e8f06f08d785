"""Fuzzed forms: hypothesis sends every route every kind of bad value; nothing is a 500.

The routes come from app.url_map (every rule that takes POST, and every GET
with fuzzed query strings); the fields of each form are read from the page a
browser would get (as an admin, so every form shows), plus every field name
any form of the app declares. Values are unicode, control characters, huge,
empty, repeated (a list where one value is expected), numbers out of range,
unknown ids, or a plausible good value so that deeper code runs too. The
suite's TestConfig re-raises any unhandled exception, so a 500 fails the
test with its traceback; the status is checked as well.
"""

import io
import re
import urllib.parse
from html.parser import HTMLParser

import pytest
from flask_wtf import FlaskForm
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import create_app
from app.models import Role
from config import TestConfig
from tests.fixtures.servers import session_cookie

_URL_APP = create_app(TestConfig)
_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _rules(method: str):
    for rule in sorted(_URL_APP.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint != "static" and method in rule.methods:
            yield rule.rule


POST_RULES = list(_rules("POST"))
GET_RULES = list(_rules("GET"))


def _declared_field_names() -> list[str]:
    names: set[str] = set()
    stack = list(FlaskForm.__subclasses__())
    while stack:
        form = stack.pop()
        stack.extend(form.__subclasses__())
        for name, _ in getattr(form, "_unbound_fields", None) or []:
            names.add(name)
    # The account page prefixes its two forms.
    names |= {f"profile-{n}" for n in names} | {f"password-{n}" for n in names}
    return sorted(names | {"profile-submit", "password-submit", "notification", "id"})


DECLARED = _declared_field_names()

GOOD = {
    "reason": ["spam", "abuse", "other", "duplicate", "A fair reason."],
    "duration": ["1", "7", "custom"],
    "until": ["2031-01-01T10:00", "1999-01-01T00:00"],
    "successor": ["0"],
    "merged_into": ["0"],
    "outcome": ["adopted", "rejected", "merged"],
    "role": ["member", "moderator", "admin"],
    "email": ["someone@example.org"],
    "login": ["fuzzmember", "fuzzmember@example.org"],
    "username": ["fuzzother", "fuzzmember"],
    "threshold": ["5"],
    "since": ["2020-01-01"],
    "page": ["2"],
    "from": ["1"],
    "to": ["1"],
    "at": ["2020-01-01T12:00", "2020-01-01"],
    "sort": ["newest", "number"],
    "cosign_deadline": ["2031-01-01T10:00", "2020-01-01T10:00"],
    "submission_deadline": ["2030-12-01T10:00"],
    "published_at": ["2019-03-20T18:30"],
    "original_url": ["https://example.org/article"],
    "text": ["A document\n\nSubmitted by News on 2 April, 2020 - 09:05\n\nIts text.\n"],
    "state": ["open", "withdrawn"],
}

texts = st.text(max_size=60)
# NUL and friends inside otherwise ordinary text (PostgreSQL refuses NUL in text).
embedded = st.tuples(texts, st.sampled_from(["\x00", "\x1b", "\u202e", "\ufeff"]), texts).map(
    "".join
)
control = st.text(
    alphabet=st.characters(codec="utf-8", categories=["Cc", "Cf", "Co", "Zs", "Zl", "Mn"]),
    min_size=1,
    max_size=20,
)
huge = st.integers(min_value=1_000, max_value=120_000).map(lambda n: "ü" * n)
# Issue #17: digits of other scripts pass str.isdigit() (and some int()), look-alike
# letters of other scripts, and bidi controls, alone or inside text.
other_digits = st.one_of(
    st.sampled_from(["²", "٣", "１２", "۱۲", "¹⁰", "Ⅻ", "߃", "१२", "௧", "3²", "1٣", "²2147483648"]),
    st.text(alphabet=st.characters(categories=["Nd", "No", "Nl"]), min_size=1, max_size=6),
)
confusable = st.sampled_from(
    ["Mое Dеrаtоr", "MODERAT0RS", "Аdmin", "раураl", "ｍｏｅ", "rnoe", "a former member"]
)
bidi = st.tuples(
    texts,
    st.sampled_from(["\u202e", "\u2066", "\u2067", "\u2068", "\u2069", "\u200f", "\u061c"]),
    texts,
).map("".join)
# A file part where a text field is expected (sent as multipart).
FILE = "__file_part__"
file_part = st.sampled_from([b"", b"\x00\xff binary", "text ü".encode()]).map(
    lambda content: (FILE, content)
)
numbers = st.sampled_from(
    ["0", "-1", "1", "2147483647", "2147483648", "9" * 30, "1e9", "NaN", "0x10", " 3 "]
)
odd = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "null",
        "[]",
        "{}",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "%00",
        "\ud7ff\ue000",
        "Robert'); DROP TABLE users;--",
        "javascript:alert(1)",
        "//evil.example",
    ]
)


def value_for(name: str):
    base = name.split("-", 1)[-1]
    choices = [texts, embedded, control, huge, numbers, odd, other_digits, confusable, bidi]
    choices.append(file_part)
    if base in GOOD:
        choices = [st.sampled_from(GOOD[base])] * 3 + choices
    one = st.one_of(*choices)
    # Sometimes a list where one value is expected.
    return st.one_of(one, one, one, st.lists(one, min_size=2, max_size=3))


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag, attrs):
        if tag in ("input", "textarea", "select", "button"):
            name = dict(attrs).get("name")
            if name and name != "csrf_token":
                self.names.add(name)


@pytest.fixture
def fuzz_world(db, make_user, make_round, make_proposal, make_article, make_comment):
    from app.services import moderation as mod

    member = make_user("fuzzmember")
    other = make_user("fuzzother")
    moderator = make_user("fuzzmod", role=Role.moderator)
    admin = make_user("fuzzadmin", role=Role.admin)
    round_ = make_round()
    own = make_proposal(round=round_, author=member)
    theirs = make_proposal(round=round_, author=other)
    article = make_article()
    comment = make_comment(thread=article.thread, author=other, body="Fuzz me")
    reply = make_comment(parent=comment, author=member, body="Reply")
    mod.report_content(member, comment, "spam", "Spam")
    db.session.commit()
    return {
        "people": {"member": member, "moderator": moderator, "admin": admin},
        "ids": {
            "comment_id": [comment.id, reply.id],
            "proposal_id": [own.id, theirs.id],
            "thread_id": [article.thread_id, own.thread_id],
            "report_id": [1],
            "user_id": [member.id, other.id],
        },
        "strings": {
            "slug": [round_.slug, article.slug],
            "username": ["fuzzmember", "fuzzother"],
            "token": ["not-a-token"],
        },
    }


def path_values(world, rule: str):
    """A strategy of URLs for the rule: real ids, unknown ids, odd strings."""
    parts = []
    for converter, name in _PARAM.findall(rule):
        if converter == "int":
            known = world["ids"].get(name, [1])
            parts.append(
                st.one_of(
                    st.sampled_from(known),
                    st.sampled_from([0, 999_999, 2**31, 2**63, 10**30]),
                ).map(str)
            )
        else:
            known = world["strings"].get(name, ["x"])
            parts.append(
                st.one_of(st.sampled_from(known), texts.filter(bool)).map(
                    lambda v: urllib.parse.quote(v, safe="")
                )
            )

    def build(values):
        it = iter(values)
        return _PARAM.sub(lambda _m: next(it), rule)

    return st.tuples(*parts).map(build)


def form_fields(app, world, url) -> list[str]:
    """The field names of the forms on the page, as a visitor and as an admin see it."""
    names: set[str] = set()
    for who in ("visitor", "admin"):
        page = _client(app, world, who).get(url)
        if page.status_code == 200 and page.mimetype == "text/html":
            parser = _Fields()
            parser.feed(page.get_data(as_text=True))
            names |= parser.names
    return sorted(names)


FUZZ = settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)


def _client(app, world, who):
    client = app.test_client()
    if who != "visitor":
        client.set_cookie("session", session_cookie(app, world["people"][who]))
    return client


def _known_url(world, rule: str) -> str:
    def first(match):
        converter, name = match.groups()
        if converter == "int":
            return str(world["ids"].get(name, [1])[0])
        return urllib.parse.quote(world["strings"].get(name, ["x"])[0], safe="")

    return _PARAM.sub(first, rule)


GET_AND_POST = set(POST_RULES) & set(GET_RULES)


@pytest.mark.parametrize("rule", POST_RULES)
def test_fuzzed_posts_never_give_a_500(app, fuzz_world, rule):
    # The fields a browser sends: those on the page (seen as an admin), or else
    # every field any form of the app declares.
    names = []
    if rule in GET_AND_POST:
        names = form_fields(app, fuzz_world, _known_url(fuzz_world, rule))
    names = names or DECLARED

    @FUZZ
    @given(
        url=path_values(fuzz_world, rule),
        who=st.sampled_from(["visitor", "member", "moderator", "admin"]),
        data=_fields_strategy(names),
        encoding=st.sampled_from(["form", "form", "form", "multipart", "json", "junk"]),
    )
    def run(url, who, data, encoding):
        client = _client(app, fuzz_world, who)
        if encoding == "json":
            response = client.post(url, json=_without_files(data))
        elif encoding == "junk":
            response = client.post(
                url,
                data=b"\xff\xfe\x00garbage=%%%&&=",
                content_type="application/x-www-form-urlencoded",
            )
        elif encoding == "multipart" or _has_file(data):
            response = client.post(url, data=_with_files(data), content_type="multipart/form-data")
        else:
            response = client.post(url, data=data)
        assert response.status_code < 500, (url, who, data, response.status_code)

    run()


def _is_file(value) -> bool:
    return isinstance(value, tuple) and len(value) == 2 and value[0] == FILE


def _has_file(data: dict) -> bool:
    values = [v for value in data.values() for v in (value if isinstance(value, list) else [value])]
    return any(_is_file(v) for v in values)


def _with_files(data: dict) -> dict:
    """File markers as fresh file parts (a stream is read once per request)."""

    def one(value):
        return (io.BytesIO(value[1]), "upload.txt") if _is_file(value) else value

    return {k: [one(v) for v in value] if isinstance(value, list) else one(value)
            for k, value in data.items()}  # fmt: skip


def _without_files(data: dict) -> dict:
    def one(value):
        return value[1].decode("utf-8", "replace") if _is_file(value) else value

    return {k: [one(v) for v in value] if isinstance(value, list) else one(value)
            for k, value in data.items()}  # fmt: skip


def _fields_strategy(names):
    # Mostly the whole form (so the values reach the services), sometimes a part.
    present = st.one_of(
        st.just(list(names)),
        st.just(list(names)),
        st.lists(st.sampled_from(names), unique=True, max_size=len(names)),
    )
    extra = st.lists(st.sampled_from(DECLARED), unique=True, max_size=3)
    return st.tuples(present, extra).flatmap(
        lambda pe: st.fixed_dictionaries({n: value_for(n) for n in {*pe[0], *pe[1]}})
    )


QUERY_KEYS = ["page", "wpage", "sort", "state", "at", "from", "to", "start", "partial",
              "moderator", "action", "since", "until", "next", "thread"]  # fmt: skip


@pytest.mark.parametrize("rule", [r for r in GET_RULES if "<path:" not in r])
def test_fuzzed_query_strings_never_give_a_500(app, fuzz_world, rule):
    @settings(FUZZ, max_examples=6)
    @given(
        url=path_values(fuzz_world, rule),
        who=st.sampled_from(["visitor", "member", "admin"]),
        query=st.dictionaries(st.sampled_from(QUERY_KEYS), value_for("q"), max_size=4),
        as_json=st.booleans(),
    )
    def run(url, who, query, as_json):
        client = _client(app, fuzz_world, who)
        headers = {"Accept": "application/json"} if as_json else {}
        response = client.get(url, query_string=query, headers=headers)
        assert response.status_code < 500, (url, who, query, response.status_code)

    run()


# Each field alone gets each of these (issue #17 added other scripts' digits, a
# look-alike name, bidi isolates and a file part).
SWEEP = ("nul\x00here", "esc\x1b[31m", "\u202eevil", "²", "٣", "Mое Dеrаtоr", "\u2067x\u2069", FILE)


@pytest.mark.parametrize("who", ["visitor", "member", "admin"])
def test_nul_and_control_characters_in_every_field_and_path(app, fuzz_world, who):
    """A deterministic sweep: each field alone gets a NUL, the others a good value."""
    client = _client(app, fuzz_world, who)
    failures = []
    for rule in POST_RULES:
        url = _known_url(fuzz_world, rule)
        names = form_fields(app, fuzz_world, url) if rule in GET_AND_POST else ["body", "id"]
        good = {n: GOOD.get(n.split("-", 1)[-1], ["Fine text"])[0] for n in names}
        for name in names:
            for bad in SWEEP:
                if bad == FILE:
                    value = (io.BytesIO(b"\x00\xff file"), "upload.txt")
                    response = client.post(
                        url, data={**good, name: value}, content_type="multipart/form-data"
                    )
                else:
                    response = client.post(url, data={**good, name: bad})
                if response.status_code >= 500:
                    failures.append((url, name, repr(bad), response.status_code))
        if "<" in rule:
            odd_url = _PARAM.sub("%00", rule)
            if client.post(odd_url, data=good).status_code >= 500:
                failures.append((odd_url, "path", "%00", 500))
    for rule in GET_RULES:
        if "<" in rule and "<path:" not in rule:
            odd_url = _PARAM.sub("x%00y", rule)
            if client.get(odd_url).status_code >= 500:
                failures.append((odd_url, "path", "%00", 500))
        response = client.get(
            _known_url(fuzz_world, rule),
            query_string={"page": "1\x00", "at": "\x00", "moderator": "a\x00"},
        )
        if response.status_code >= 500:
            failures.append((rule, "query", "\\x00", response.status_code))
        for odd_value in ("²", "٣", "9999-12-31", "0001-01-01T00:00+01:00"):
            keys = ("page", "at", "start", "from", "to", "since", "until", "thread")
            response = client.get(
                _known_url(fuzz_world, rule), query_string=dict.fromkeys(keys, odd_value)
            )
            if response.status_code >= 500:
                failures.append((rule, "query", odd_value, response.status_code))
    assert failures == [], "\n".join(map(str, failures))


# Regressions the fuzzing found (500s on PostgreSQL, which refuses NUL in text).


def test_a_nul_in_the_sign_in_name_is_a_form_error(client):
    response = client.post("/login", data={"login": "bo\x00b", "password": "whatever1"})
    assert response.status_code == 400
    assert "control characters" in response.get_data(as_text=True)


@pytest.mark.parametrize("path", ["/rounds/x%00y", "/articles/x%00y", "/users/x%00y"])
def test_a_nul_in_an_address_is_404(client, path):
    assert client.get(path).status_code == 404
    assert client.post(f"{path}/new", data={"title": "t"}).status_code == 404
