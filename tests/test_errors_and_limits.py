"""Error pages in the site's look, and rate limits on the account forms."""

import pytest
from werkzeug.exceptions import BadRequest

from app.errors import InvalidState, PermissionDenied
from tests.conftest import make_test_app


@pytest.fixture
def failing_app(_app, database_url):
    """An app with routes that fail in each way (registered before first request)."""
    app = make_test_app(database_url, PROPAGATE_EXCEPTIONS=False)

    @app.route("/_fail/<kind>")
    def fail(kind):
        if kind == "400":
            raise BadRequest("The request did not make sense.")
        if kind == "403":
            raise PermissionDenied("Only the author can do that.")
        if kind == "409":
            raise InvalidState("This proposal was withdrawn meanwhile.")
        raise RuntimeError("boom: a bug")

    with app.app_context():
        yield app


@pytest.mark.parametrize(
    "path, status, text",
    [
        ("/_fail/400", 400, "The request did not make sense."),
        ("/_fail/403", 403, "Only the author can do that."),
        ("/_fail/409", 409, "This proposal was withdrawn meanwhile."),
        ("/_fail/500", 500, "Something went wrong"),
        ("/no/such/page", 404, "There is nothing at this address"),
    ],
)
def test_error_pages_use_the_site_layout(failing_app, path, status, text):
    response = failing_app.test_client().get(path)
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert text in body
    assert '<a class="skip-link"' in body  # the site's own layout
    assert "Traceback" not in body and "boom" not in body


def test_error_pages_answer_json_when_asked(failing_app):
    response = failing_app.test_client().get("/_fail/403", headers={"Accept": "application/json"})
    assert response.status_code == 403
    assert response.get_json() == {
        "error": "Not allowed",
        "message": "Only the author can do that.",
        "status": 403,
    }


def test_method_not_allowed_has_an_allow_header(client):
    response = client.delete("/login")
    assert response.status_code == 405
    assert "POST" in response.headers["Allow"]


@pytest.mark.parametrize(
    "path, data, limit_key",
    [
        ("/login", {"login": "nobody", "password": "wrong password"}, "RATELIMIT_LOGIN"),
        ("/signup", {"username": ""}, "RATELIMIT_SIGNUP"),
        ("/reset", {"email": "nobody@example.org"}, "RATELIMIT_RESET"),
    ],
)
def test_account_forms_are_rate_limited(limited_app, path, data, limit_key):
    limited_app.config[limit_key] = "3 per minute"
    client = limited_app.test_client()
    statuses = [client.post(path, data=data).status_code for _ in range(4)]
    assert 429 not in statuses[:3]
    assert statuses[3] == 429
    page = client.post(path, data=data)
    assert page.status_code == 429
    assert "You are doing that too often" in page.get_data(as_text=True)
    # Reading the form is not limited.
    assert client.get(path).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/proposals/99999999999999999999",
        "/proposals/2147483648",
        "/comments/99999999999999999999",
        "/comments/99999999999999999999/replies",
        "/threads/99999999999999999999",
    ],
)
def test_ids_beyond_what_the_database_holds_are_404(client, path):
    assert client.get(path).status_code == 404


def test_absurd_page_numbers_fall_back_to_the_first_page(client, make_round):
    round_ = make_round()
    for page in ("999999999999999999999", "-3", "abc", "0"):
        response = client.get(f"/rounds/{round_.slug}?page={page}&wpage={page}")
        assert response.status_code == 200, page
