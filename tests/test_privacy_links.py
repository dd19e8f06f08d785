"""Issue #17 class 2: links in mail never follow the request's Host header.

`app/urls.py` builds every absolute link from SITE_URL (required in
production); TRUSTED_HOSTS refuses other Host headers with a 400.
"""

import re

import pytest

from app import create_app
from app.urls import absolute_url
from config import ProductionConfig
from tests.conftest import make_test_app

SIGNUP = {
    "username": "newcomer",
    "display_name": "New Comer",
    "email": "newcomer@example.org",
    "password": "a good long password",
    "confirm": "a good long password",
}

HOSTILE_HOSTS = ["evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io"]


def _links(mails):
    return [link for mail in mails for link in re.findall(r"https?://\S+", mail.body)]


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_mail_links_ignore_a_hostile_host_without_site_url(
    app, client, make_user, mailbox, host, monkeypatch
):
    # Mail is written by the worker, with no request: unset, SITE_URL falls back
    # to http://localhost, never to the Host header the request came with.
    monkeypatch.setitem(app.config, "SITE_URL", "")
    make_user("vera")
    headers = {"Host": host}
    client.post("/reset", data={"email": "vera@example.org"}, headers=headers)
    client.post("/reset", data={"email": "nobody@example.org"}, headers=headers)
    client.post("/signup", data=SIGNUP, headers=headers)
    client.post(
        "/signup",
        data={**SIGNUP, "username": "other", "email": "vera@example.org"},
        headers=headers,
    )
    links = _links(mailbox)
    assert len(mailbox) == 4 and links
    for link in links:
        assert "evil" not in link and "nip.io" not in link, link
        assert link.startswith("http://localhost/"), link


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_mail_links_use_site_url_whatever_the_host(
    app, client, make_user, mailbox, host, monkeypatch
):
    monkeypatch.setitem(app.config, "SITE_URL", "https://plenary.example.org/")
    make_user("vera")
    client.post("/reset", data={"email": "vera@example.org"}, headers={"Host": host})
    client.post("/signup", data=SIGNUP, headers={"Host": host})
    links = _links(mailbox)
    assert len(links) >= 2
    assert all(link.startswith("https://plenary.example.org/") for link in links), links
    assert any("/reset/" in link for link in links)
    assert any("/signup/confirm/" in link for link in links)


@pytest.mark.parametrize("host", HOSTILE_HOSTS)
def test_trusted_hosts_refuse_other_host_headers(database_url, host):
    app = make_test_app(database_url, TRUSTED_HOSTS=["plenary.example.org"])
    client = app.test_client()
    assert client.get("/login", headers={"Host": host}).status_code == 400
    assert (
        client.post("/reset", data={"email": "a@example.org"}, headers={"Host": host}).status_code
        == 400
    )
    assert client.get("/login", headers={"Host": "plenary.example.org"}).status_code == 200


@pytest.mark.parametrize(
    "site_url",
    [
        None,
        "",
        "plenary.example.org",
        "ftp://x.example",
        "https://user@x.example",
        "https://x.example/?a=1",
    ],
)
def test_production_refuses_a_missing_or_bad_site_url(site_url):
    with pytest.raises(SystemExit) as info:
        create_app(
            ProductionConfig,
            overrides={
                "SECRET_KEY": "a-long-random-production-secret-for-tests",
                "SITE_URL": site_url,
            },
        )
    assert "SITE_URL" in str(info.value)


def test_production_serves_only_site_url_host(database_url):
    app = create_app(
        ProductionConfig,
        overrides={
            "SECRET_KEY": "a-long-random-production-secret-for-tests",
            "SITE_URL": "https://plenary.example.org",
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_ENABLED": False,
        },
    )
    assert app.config["TRUSTED_HOSTS"] == ["plenary.example.org"]
    client = app.test_client()
    assert client.get("/login", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/login", headers={"Host": "plenary.example.org"}).status_code == 200


def test_absolute_url_outside_a_request(database_url):
    app = make_test_app(database_url, SITE_URL="https://plenary.example.org/sub")
    with app.app_context():
        assert absolute_url("auth.login") == "https://plenary.example.org/sub/login"
    with app.test_request_context("/", headers={"Host": "evil.example"}):
        assert absolute_url("auth.login") == "https://plenary.example.org/sub/login"
