"""Issue #17 class 5: numbers, ids and dates from a request go through one parser.

ASCII digits only, range-checked (`app.params`): digits of other scripts,
superscripts and far dates are a 400/404 or the default, never a 500.
"""

import io
from datetime import datetime

import pytest

from app.errors import ValidationError
from app.models import Role
from app.params import MOMENT_MAX, parse_id, parse_int, parse_moment
from tests.fixtures.proposals import stored_count

ODD_NUMBERS = [
    "²",
    "٣",
    "１２",
    "۱",
    "1²",
    "¹⁰",
    "Ⅻ",
    "1e3",
    "0x10",
    "1_000",
    "+1",
    "-1",
    " ",
    "1.0",
    str(2**31),
    str(2**63),
    "9" * 40,
]


@pytest.mark.parametrize("raw", ODD_NUMBERS)
def test_parse_int_takes_ascii_digits_in_range_only(raw):
    assert parse_id(raw) is None
    assert parse_int(raw) is None or raw.strip().isascii()


@pytest.mark.parametrize(
    "raw, value", [("12", 12), (" 7 ", 7), ("0", None), (str(2**31 - 1), 2**31 - 1)]
)
def test_parse_id_accepts_plain_numbers(raw, value):
    assert parse_id(raw) == value


@pytest.mark.parametrize(
    "raw",
    [
        "9999-12-31",
        "9999-12-31T23:59-05:00",
        "0001-01-01T00:00+01:00",
        "0001-01-01",
        "1-01-01",
        "２０１９-03-26",
        "2019-03-26T12:00+24:00",
        "2019-13-01",
        "x" * 100,
        "\x00",
    ],
)
def test_parse_moment_refuses_far_odd_or_foreign_dates(raw):
    with pytest.raises(ValidationError):
        parse_moment(raw)


def test_parse_moment_reads_dates_and_offsets():
    assert parse_moment("2019-03-26") == datetime(2019, 3, 26, 23, 59, 59, 999999)
    assert parse_moment("2019-03-26T12:00+01:00") == datetime(2019, 3, 26, 11, 0)
    assert parse_moment("2019-03-26T12:00Z") == datetime(2019, 3, 26, 12, 0)
    assert parse_moment("8999-12-31") < MOMENT_MAX


@pytest.fixture
def scene(client, auth, make_user, make_proposal, make_comment, db):
    moderator = make_user("moddy", role=Role.moderator)
    author = make_user("author")
    proposal = make_proposal(author=author)
    comment = make_comment(thread=proposal.thread, author=author)
    return moderator, proposal, comment


@pytest.mark.parametrize("raw", ["²", "٣", "１", "¹", str(2**63), "-1", "1e3"])
def test_odd_numbers_in_query_strings_are_never_a_500(client, auth, scene, raw):
    moderator, proposal, comment = scene
    auth.login(moderator)
    urls = [
        f"/proposals/{proposal.id}/versions?from={raw}&to={raw}",
        f"/proposals/{proposal.id}/supporters?at={raw}",
        f"/rounds/{proposal.round.slug}?page={raw}&wpage={raw}",
        f"/articles?page={raw}",
        f"/threads/{proposal.thread.id}?page={raw}",
        f"/comments/{comment.id}/replies?start={raw}",
        f"/notifications?page={raw}",
        f"/moderation/log?page={raw}",
        f"/moderation/users/{proposal.author.id}/suspend?thread={raw}",
        f"/users/author?proposals_page={raw}&comments_page={raw}",
    ]
    for url in urls:
        status = client.get(url).status_code
        assert status in (200, 302, 400, 404), (url, status)
        json_status = client.get(url, headers={"Accept": "application/json"}).status_code
        assert json_status in (200, 302, 400, 404), (url, json_status)


@pytest.mark.parametrize("digit", ["٣", "３", "３٣"])
def test_ids_in_paths_match_ascii_digits_only(client, scene, digit):
    _, proposal, _ = scene
    assert client.get(f"/proposals/{proposal.id}").status_code == 200
    assert client.get(f"/proposals/{digit}").status_code == 404
    assert client.get(f"/comments/{digit}").status_code == 404


@pytest.mark.parametrize(
    "at", ["9999-12-31", "9999-12-31T23:59-05:00", "0001-01-01T00:00+01:00", "٢٠١٩-03-26"]
)
def test_far_dates_on_the_supporters_page_are_a_400(client, scene, at):
    _, proposal, _ = scene
    response = client.get(f"/proposals/{proposal.id}/supporters", query_string={"at": at})
    assert response.status_code == 400
    assert "date" in response.get_data(as_text=True)


@pytest.mark.parametrize("raw", ["²", "٣", "¹²"])
def test_an_odd_notification_id_on_cosign_still_cosigns_once(
    client, auth, db, make_user, scene, raw
):
    _, proposal, _ = scene
    auth.login(make_user())
    response = client.post(f"/proposals/{proposal.id}/cosign", data={"notification": raw})
    assert response.status_code == 302
    assert stored_count(db, proposal.id) == 2
    response = client.post("/notifications/read", data={"id": raw})
    assert response.status_code == 302


@pytest.mark.parametrize(
    "since, until", [("9999-12-31", "9999-12-31"), ("0001-01-01", "0001-01-01"), ("٢٠١٩-01-01", "")]
)
def test_far_dates_in_the_log_filter_are_a_form_error(client, auth, make_user, since, until):
    auth.login(make_user())
    response = client.get("/moderation/log", query_string={"since": since, "until": until})
    assert response.status_code == 400
    json = client.get(
        "/moderation/log",
        query_string={"since": since, "until": until},
        headers={"Accept": "application/json"},
    )
    assert json.status_code == 400


@pytest.mark.parametrize("until", ["9999-12-31T23:59", "0001-01-01T00:00", "٢٠٣٠-01-01T00:00"])
def test_a_far_suspension_end_is_a_form_error(client, auth, db, make_user, scene, until):
    moderator, _, _ = scene
    member = make_user()
    auth.login(moderator)
    response = client.post(
        f"/moderation/users/{member.id}/suspend",
        data={"duration": "custom", "until": until, "reason": "Testing far dates."},
    )
    assert response.status_code == 400
    assert until in response.get_data(as_text=True) or "digits" in response.get_data(as_text=True)
    db.session.refresh(member)
    assert member.suspended_until is None


@pytest.mark.parametrize("threshold", ["²", "٣", "１０", str(2**63)])
def test_odd_thresholds_in_the_round_form_are_a_form_error(client, auth, make_user, threshold):
    auth.login(make_user("admin", role=Role.admin))
    response = client.post(
        "/rounds/new",
        data={"title": "A round", "description": "About.", "threshold": threshold},
    )
    assert response.status_code == 400
    assert "A round" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path, fields",
    [
        ("/signup", ["username", "display_name", "email", "password"]),
        ("/login", ["login", "password"]),
        ("/reset", ["email"]),
        ("/threads/{thread}/comments", ["body", "parent_id"]),
        ("/comments/{comment}/reply", ["body"]),
        ("/proposals/{proposal}/edit", ["title", "body"]),
        ("/moderation/report/comment/{comment}", ["reason", "note"]),
    ],
)
def test_a_file_part_in_a_text_field_is_a_form_error(client, auth, scene, path, fields):
    moderator, proposal, comment = scene
    if not path.startswith(("/signup", "/login", "/reset")):
        auth.login(proposal.author)
    url = path.format(thread=proposal.thread.id, comment=comment.id, proposal=proposal.id)
    for field in fields:
        data = {name: "typed text" for name in fields if name != field}
        data[field] = (io.BytesIO(b"\x00\xff file bytes"), "evil.txt")
        response = client.post(url, data=data, content_type="multipart/form-data")
        assert response.status_code in (200, 302, 400, 403, 409), (url, field, response.status_code)
