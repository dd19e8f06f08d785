"""CSRF on every form, security headers, production start-up checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter

from app import create_app
from app.extensions import db as _db
from config import ProductionConfig
from tests.conftest import make_test_app

ROOT = Path(__file__).resolve().parent.parent
SAFE = {"GET", "HEAD", "OPTIONS"}


@pytest.fixture
def csrf_app(_app, database_url):
    app = make_test_app(database_url, WTF_CSRF_ENABLED=True)
    with app.app_context():
        yield app
        _db.session.remove()


def _example_url(app, rule: Rule) -> str:
    values = {}
    for name in rule.arguments:
        converter = rule._converters[name]
        values[name] = 1 if isinstance(converter, NumberConverter) else "x"
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def unsafe_rules(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        methods = (rule.methods or set()) - SAFE
        if methods:
            yield rule, sorted(methods)


def test_there_are_unsafe_routes_to_check(csrf_app):
    endpoints = {rule.endpoint for rule, _ in unsafe_rules(csrf_app)}
    assert {"auth.login", "auth.signup", "auth.logout", "auth.reset_request"} <= endpoints


# RFC 8058 one-click unsubscribe: a mail client POSTs without a session or a
# form, so the signed token in the URL is the proof (tests/test_mail_delivery.py).
CSRF_EXEMPT = {"notifications.unsubscribe"}


def test_every_unsafe_route_refuses_a_request_without_csrf_token(csrf_app, make_user):
    client = csrf_app.test_client()
    # Signed in as an admin, so that no route answers 302/403 before CSRF is checked.
    from app.models import Role

    admin = make_user("csrfadmin", role=Role.admin)
    with client.session_transaction() as session:
        session["_user_id"] = admin.get_id()
        session["_fresh"] = True
    checked = []
    for rule, methods in unsafe_rules(csrf_app):
        if rule.endpoint in CSRF_EXEMPT:
            continue
        url = _example_url(csrf_app, rule)
        for method in methods:
            response = client.open(url, method=method, data={"anything": "1"})
            if rule.endpoint.startswith("api."):
                # The API takes no CSRF token because it never reads the session cookie:
                # the signed-in admin's cookie is no authentication there.
                assert response.status_code == 401, (rule.rule, method, response.status_code)
                checked.append((rule.rule, method))
                continue
            assert response.status_code == 400, (rule.rule, method, response.status_code)
            assert "CSRF" in response.get_data(as_text=True), rule.rule
            checked.append((rule.rule, method))
    assert len(checked) >= 4


def test_a_valid_csrf_token_is_accepted(csrf_app, make_user):
    make_user("tokenuser")
    client = csrf_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post(
        "/login",
        data={"login": "tokenuser", "password": "correct horse battery", "csrf_token": token},
    )
    assert response.status_code == 302


@pytest.mark.parametrize("path", ["/", "/login", "/signup", "/does-not-exist"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_no_inline_script_in_pages(client):
    for path in ("/", "/login", "/signup", "/reset"):
        text = client.get(path).get_data(as_text=True)
        for chunk in text.split("<script")[1:]:
            assert chunk.lstrip().startswith("src="), path


def test_body_over_max_content_length_is_413(app, client):
    big = "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)
    response = client.post("/login", data={"login": big, "password": "x"})
    assert response.status_code == 413


@pytest.mark.parametrize("secret", [None, "", "dev-insecure-change-me", "short"])
def test_production_refuses_a_missing_or_default_secret(secret):
    with pytest.raises(SystemExit) as info:
        create_app(ProductionConfig, overrides={"SECRET_KEY": secret})
    assert "SECRET_KEY" in str(info.value)


def test_production_start_without_secret_exits_with_a_clear_message(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "SECRET_KEY"}
    env.update(PLENARY_ENV="production", DATABASE_URL=f"sqlite:///{tmp_path}/p.db")
    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "refuses to start in production without a real SECRET_KEY" in result.stderr


def test_production_cookies_are_secure(database_url, make_user):
    app = create_app(
        ProductionConfig,
        overrides={
            "SECRET_KEY": "a-long-random-production-secret-for-tests",
            "SITE_URL": "https://localhost",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        },
    )
    make_user("secure")
    client = app.test_client()
    response = client.post("/login", data={"login": "secure", "password": "correct horse battery"})
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Strict-Transport-Security" in response.headers
