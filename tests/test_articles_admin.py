"""Issue #19: admins write, edit and import articles in the browser."""

import io
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import Article, Comment, Role, Thread
from app.seeding import seed_paths
from tests.test_seeding_documents import SEED_FILE, THREADED

BROKEN = """\
A broken document

Submitted by Example News on 2 April, 2020 - 09:05 Author: Jo Writer

The body.

Submitted by Alice (not verified) on Thu, 32/13/2020 - 10:00

Alice's comment.

Submitted by Bob on Thu, 02/04/2020 - 11:15

Submitted by Carol on someday

Carol's comment.
"""


def counts(db) -> tuple[int, int, int]:
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(model))
        for model in (Article, Thread, Comment)
    )


@pytest.fixture
def admin(make_user, auth):
    user = make_user("ada", role=Role.admin)
    auth.login(user)
    return user


def article_data(**changes):
    data = {
        "title": "Notes from the branch meeting",
        "source": "Branch bulletin",
        "author_name": "Zoë Ångström",
        "published_at": "2019-03-20T18:30",
        "original_url": "https://example.org/notes",
        "body": "We met on **Tuesday**.\n\n- one\n- two",
        "allow_guest_comments": "y",
        "save": "Save article",
    }
    data.update(changes)
    return data


def test_admin_writes_an_article(app, db, client, admin):
    assert client.get("/articles/new").status_code == 200
    response = client.post("/articles/new", data=article_data())
    assert response.status_code == 302
    article = db.session.scalar(sa.select(Article))
    assert response.headers["Location"].endswith(f"/articles/{article.slug}")
    assert (article.title, article.source, article.submitted_by, article.author_name) == (
        "Notes from the branch meeting", "Branch bulletin", "Branch bulletin", "Zoë Ångström",
    )  # fmt: skip
    assert article.published_at.isoformat() == "2019-03-20T18:30:00"
    assert article.allow_guest_comments and article.created_by_id == admin.id
    assert article.origin_file is None
    page = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert "<strong>Tuesday</strong>" in page and "Edit this article" in page


def test_preview_renders_the_markdown_and_saves_nothing(app, db, client, admin):
    data = article_data(body="Some *emphasis* and <script>alert(1)</script>", save="")
    data["preview"] = "Preview"
    data.pop("save")
    response = client.post("/articles/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "data-article-preview" in html and "<em>emphasis</em>" in html
    assert "<script>alert(1)</script>" not in html
    assert "Some *emphasis*" in html  # the text stays in the box
    assert counts(db) == (0, 0, 0)


def test_admin_edits_an_article_keeping_its_address(app, db, client, admin):
    client.post("/articles/new", data=article_data())
    article = db.session.scalar(sa.select(Article))
    slug = article.slug
    page = client.get(f"/articles/{slug}/edit").get_data(as_text=True)
    assert 'value="Branch bulletin"' in page
    response = client.post(
        f"/articles/{slug}/edit",
        data=article_data(title="Corrected notes", allow_guest_comments=""),
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert article.title == "Corrected notes" and article.slug == slug
    assert article.allow_guest_comments is False
    assert db.session.get(Thread, article.thread_id).title == "Corrected notes"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"title": ""}, "Give the article a title."),
        ({"published_at": "31/02/2019"}, "Not a valid datetime value"),
        ({"original_url": "javascript:alert(1)"}, "starting with http"),
        ({"body": "x" * 200_001}, "at most 200,000"),
        ({"title": "Two\nlines"}, "one line"),
        ({"body": "nul \x00 inside"}, "control characters"),
    ],
)
def test_bad_article_input_keeps_what_was_typed(app, db, client, admin, changes, message):
    response = client.post("/articles/new", data=article_data(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Zoë Ångström" in html  # the other fields are kept
    assert counts(db) == (0, 0, 0)


def test_import_by_paste_previews_then_imports_once(app, db, client, admin):
    data = {"text": THREADED, "name": "", "preview": "Preview"}
    preview = client.post("/articles/import", data=data)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Creates the article “A made-up article about threads”" in html
    assert "with 5 comments" in html and "replying to Alice" in html
    assert 'value="a-made-up-article-about-threads.txt"' in html
    assert counts(db) == (0, 0, 0)

    response = client.post(
        "/articles/import", data={"text": THREADED, "name": "", "submit": "Import"}
    )
    assert response.status_code == 302
    assert counts(db) == (1, 1, 5)
    article = db.session.scalar(sa.select(Article))
    assert article.origin_file == "a-made-up-article-about-threads.txt"
    assert article.created_by_id == admin.id

    # Importing twice changes nothing, and the preview says so.
    again = client.post("/articles/import", data={"text": THREADED, "preview": "Preview"})
    assert "changes nothing" in again.get_data(as_text=True)
    client.post("/articles/import", data={"text": THREADED, "submit": "Import"})
    assert counts(db) == (1, 1, 5)


def test_import_by_upload_matches_flask_seed(app, db, client, admin):
    raw = SEED_FILE.read_bytes()
    upload = {"document": (io.BytesIO(raw), SEED_FILE.name), "text": "", "preview": "Preview"}
    preview = client.post("/articles/import", data=upload, content_type="multipart/form-data")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "data-import-creates" in html
    assert f'value="{SEED_FILE.name}"' in html  # the name is kept for the import button
    upload = {"document": (io.BytesIO(raw), SEED_FILE.name), "submit": "Import"}
    response = client.post("/articles/import", data=upload, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)
    after_upload = counts(db)
    assert after_upload[0] == 1 and after_upload[2] > 0
    # `flask seed` knows it by the same name: nothing more is created.
    report = seed_paths([Path(SEED_FILE)])
    assert report.articles_created == 0 and report.comments_created == 0
    assert counts(db) == after_upload


def test_broken_document_reports_lines_and_creates_nothing(app, db, client, admin):
    for data in (
        {"text": BROKEN, "preview": "Preview"},
        {"text": BROKEN, "submit": "Import"},
        {"document": (io.BytesIO(BROKEN.encode()), "broken.txt"), "submit": "Import"},
    ):
        response = client.post("/articles/import", data=data, content_type="multipart/form-data")
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "data-import-problems" in html
        assert "Line 7:" in html and "Line 13:" in html and "Line 11:" in html
        assert "Alice&#39;s comment." in html  # the text stays in the box
        assert counts(db) == (0, 0, 0)


@pytest.mark.parametrize(
    "upload, message",
    [
        (b"caf\xe9 au lait\n", "not UTF-8"),
        (b"", "Upload a document or paste one"),
        (b"x" * 500_001, "the most is 500,000"),
        (b"Title\n\nSubmitted by X on 2 April, 2020 - 09:05\n\nBody \x00 here.\n", "Line 5"),
    ],
)
def test_bad_uploads_are_form_errors(app, db, client, admin, upload, message):
    data = {"document": (io.BytesIO(upload), "doc.txt"), "submit": "Import"}
    if not upload:
        data = {"submit": "Import"}
    response = client.post("/articles/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts(db) == (0, 0, 0)


def test_a_huge_request_is_413_not_500(app, db, client, admin):
    data = {"document": (io.BytesIO(b"x" * 1_100_000), "big.txt"), "submit": "Import"}
    response = client.post("/articles/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 413


ADMIN_PAGES = ["/articles/new", "/articles/import", "/articles/{slug}/edit"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
@pytest.mark.parametrize("role", [Role.member, Role.moderator])
def test_members_and_moderators_get_403(app, db, client, auth, make_user, mod_article, url, role):
    article = mod_article()
    auth.login(make_user(role=role))
    assert client.get(url.format(slug=article.slug)).status_code == 403


def test_reserved_addresses_are_never_article_slugs(app, db, client, admin):
    client.post("/articles/new", data=article_data(title="New"))
    client.post("/articles/new", data=article_data(title="Import"))
    slugs = set(db.session.scalars(sa.select(Article.slug)))
    assert slugs.isdisjoint({"new", "import"}) and len(slugs) == 2
