"""The seed-document importer (SPEC §5): parser rules, idempotence, named errors."""

from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.models import Article, Comment, CommentStatus, Thread
from app.seeding import seed_paths
from app.seeding.parser import DocumentError, parse_document

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_FILE = SEEDS / "000_3f26c6a887484c31.txt"

THREADED = """\
A made-up article about threads

Submitted by Example News on 2 April, 2020 - 09:05 Author: Jo Writer

First paragraph of the body.
It has a second line.

Second paragraph, ending with a quote: “like this.”

A related link

Another related link

Submitted by Alice (not verified) on Thu, 02/04/2020 - 10:00

Alice's first comment.

Submitted by Bob on Thu, 02/04/2020 - 11:15

In reply to Alice's first comment by Alice (not verified)

Bob, a registered user of the old site, answers Alice.

Reply

Submitted by Alice (not verified) on Thu, 02/04/2020 - 12:30

Alice's second comment, not a reply.

Submitted by Carol (not verified) on Fri, 03/04/2020 - 08:00

In reply to Bob's answer by Bob

Carol answers Bob.

Second paragraph of Carol.

Submitted by Dave (not verified) on Fri, 03/04/2020 - 09:00

In reply to Something by Alice (not verified)

Dave replies to the latest comment by Alice.

Add new comment

This website uses cookies, you can find out more and set your preferences here.
By continuing to use this website, you agree to our Privacy Policy and Terms & Conditions.
"""


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def _all_text(db) -> str:
    articles = db.session.scalars(sa.select(Article.body)).all()
    bodies = db.session.scalars(sa.select(Comment.body)).all()
    return "\n".join([*articles, *bodies])


def test_the_real_seed_document_imports_as_the_spec_says(db):
    report = seed_paths([SEED_FILE])
    assert report.errors == []
    article = db.session.scalars(sa.select(Article)).one()
    assert article.title == "US socialist organisation implodes"
    assert article.source == "AWL"
    assert article.published_at == datetime(2019, 3, 27, 7, 24)
    assert article.author_name == "Stephen Wood"
    assert article.origin_file == SEED_FILE.name
    paragraphs = article.body.split("\n\n")
    assert paragraphs[0].startswith("A crisis which looks terminal")
    assert paragraphs[-1].endswith("in the current flurry of disputation.")
    for link in (
        "Letter to the ISO membership",
        "Numerous other pieces",
        "More contributions",
        "Current proposals within the ISO",
        "Resignation letter by veteran",
    ):
        assert link not in article.body
    comment = db.session.scalars(sa.select(Comment)).one()
    assert comment.author_name == "Matthew Gordon"
    assert comment.is_verified is False
    assert comment.author_id is None
    assert comment.status == CommentStatus.published
    assert comment.created_at == datetime(2019, 3, 31, 17, 33)
    assert comment.body.startswith("Former ISO member here.")
    assert comment.body.endswith("was a coincidence.")
    text = _all_text(db)
    assert "Add new comment" not in text
    assert "cookies" not in text and "Privacy Policy" not in text


def test_the_seed_page_shows_the_guest_as_not_verified(db, client):
    seed_paths([SEED_FILE])
    article = db.session.scalars(sa.select(Article)).one()
    html = client.get(f"/articles/{article.slug}").get_data(as_text=True)
    assert 'Matthew Gordon <span class="not-verified">(not verified)</span>' in html
    assert "Add new comment" not in html.split('id="thread-')[0]
    assert "This website uses cookies" not in html


def test_seeding_twice_changes_nothing(db):
    first = seed_paths([SEEDS])
    assert first.articles_created == 1 and first.comments_created == 1
    counts = (
        db.session.scalar(sa.select(sa.func.count()).select_from(Article)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Comment)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Thread)),
        db.session.scalar(sa.select(Thread.comment_count)),
    )
    second = seed_paths([SEEDS])
    assert second.articles_created == 0 and second.comments_created == 0
    assert any(line.startswith("Already there:") for line in second.lines())
    assert counts == (
        db.session.scalar(sa.select(sa.func.count()).select_from(Article)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Comment)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Thread)),
        db.session.scalar(sa.select(Thread.comment_count)),
    )


def test_flask_seed_command_is_idempotent(app, db):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["seed", str(SEEDS)])
    assert first.exit_code == 0, first.output
    assert "Created: article “US socialist organisation implodes”" in first.output
    second = runner.invoke(args=["seed", str(SEEDS)])
    assert second.exit_code == 0, second.output
    assert "Already there" in second.output and "Created:" not in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Comment)) == 1


def test_threaded_document_maps_every_rule(db, tmp_path):
    report = seed_paths([_write(tmp_path, "threaded.txt", THREADED)])
    assert report.errors == [] and report.warnings == []
    article = db.session.scalars(sa.select(Article)).one()
    assert (article.title, article.source, article.author_name) == (
        "A made-up article about threads",
        "Example News",
        "Jo Writer",
    )
    assert article.published_at == datetime(2020, 4, 2, 9, 5)
    assert article.body == (
        "First paragraph of the body.\nIt has a second line.\n\n"
        "Second paragraph, ending with a quote: “like this.”"
    )
    rows = db.session.scalars(
        sa.select(Comment).where(Comment.thread_id == article.thread_id).order_by(Comment.path)
    ).all()
    alice1 = next(c for c in rows if c.body == "Alice's first comment.")
    alice2 = next(c for c in rows if c.body.startswith("Alice's second"))
    bob = next(c for c in rows if c.author_name == "Bob")
    carol = next(c for c in rows if c.author_name == "Carol")
    dave = next(c for c in rows if c.author_name == "Dave")
    # Registered users of the source site: the name, no mark, no account here.
    assert (bob.is_verified, bob.author_id) == (True, None)
    assert alice1.is_verified is False and carol.is_verified is False
    # "In reply to TITLE by NAME": the latest earlier comment by NAME; the line is dropped.
    assert bob.parent_id == alice1.id and bob.body.startswith("Bob, a registered")
    assert carol.parent_id == bob.id and carol.depth == 2
    assert carol.body == "Carol answers Bob.\n\nSecond paragraph of Carol."
    assert dave.parent_id == alice2.id
    assert alice2.parent_id is None
    assert [c.id for c in rows] == [alice1.id, bob.id, carol.id, alice2.id, dave.id]
    assert all(c.status == CommentStatus.published for c in rows)
    text = _all_text(db)
    assert "In reply to" not in text and "Reply\n" not in text and "related link" not in text
    assert "Add new comment" not in text and "cookies" not in text
    thread = db.session.get(Thread, article.thread_id)
    assert (thread.comment_count, thread.top_level_count) == (5, 2)


def test_reply_to_an_unknown_name_is_a_warning_and_a_top_level_comment(db, tmp_path):
    text = THREADED.replace("In reply to Something by Alice (not verified)", "In reply to X by Zed")
    report = seed_paths([_write(tmp_path, "orphan.txt", text)])
    assert report.errors == []
    assert len(report.warnings) == 1
    assert "orphan.txt:" in str(report.warnings[0]) and "Zed" in str(report.warnings[0])
    dave = db.session.scalars(sa.select(Comment).where(Comment.author_name == "Dave")).one()
    assert dave.parent_id is None


@pytest.mark.parametrize(
    "name, text, line, message",
    [
        (
            "no-header.txt",
            "A title\n\nJust some text, no header.\n",
            3,
            "expected the article header",
        ),
        ("only-title.txt", "A lonely title\n", 1, "no 'Submitted by"),
        ("no-title.txt", "Submitted by AWL on 27 March, 2019 - 7:24\n\nBody.\n", 1, "no title"),
        (
            "bad-date.txt",
            "Title\nSubmitted by AWL on 32 Marchember, 2019 - 7:24\nBody.\n",
            2,
            "cannot be read",
        ),
        (
            "bad-comment-date.txt",
            "Title\nSubmitted by AWL on 27 March, 2019 - 7:24\n\nBody.\n\n"
            "Submitted by Ann (not verified) on Sun, 45/03/2019 - 17:33\n\nHello.\n",
            6,
            "cannot be read",
        ),
        (
            "empty-comment.txt",
            "Title\nSubmitted by AWL on 27 March, 2019 - 7:24\n\nBody.\n\n"
            "Submitted by Ann (not verified) on Sun, 31/03/2019 - 17:33\n\nAdd new comment\n",
            6,
            "comment by Ann has no text",
        ),
        (
            "reply-only.txt",
            "Title\nSubmitted by AWL on 27 March, 2019 - 7:24\n\nBody.\n\n"
            "Submitted by Ann on Sun, 31/03/2019 - 17:33\nIn reply to Body by AWL\n",
            6,
            "has no text",
        ),
        ("empty.txt", "\n\n", 1, "empty"),
    ],
)
def test_malformed_documents_are_named_with_their_line(db, tmp_path, name, text, line, message):
    bad = _write(tmp_path, name, text)
    good = _write(tmp_path, "zz-good.txt", THREADED)
    report = seed_paths([tmp_path])
    assert [e.file for e in report.errors] == [name]
    error = report.errors[0]
    assert error.line == line and message in error.message
    assert f"{name}:{line}:" in "\n".join(report.lines())
    # The good file still loaded; nothing of the bad one did.
    titles = db.session.scalars(sa.select(Article.origin_file)).all()
    assert titles == [good.name]
    assert bad.name not in titles


def test_a_missing_path_is_reported(db, tmp_path):
    report = seed_paths([tmp_path / "nope"])
    assert len(report.errors) == 1 and "no such file" in str(report.errors[0])


def test_non_utf8_file_is_reported_and_others_load(db, tmp_path):
    (tmp_path / "latin1.txt").write_bytes("Caf\xe9\n".encode("latin-1"))
    _write(tmp_path, "ok.txt", THREADED)
    report = seed_paths([tmp_path])
    assert [e.file for e in report.errors] == ["latin1.txt"]
    assert report.articles_created == 1


def test_new_comments_in_a_rescraped_file_are_added_once(db, tmp_path):
    path = _write(tmp_path, "doc.txt", THREADED)
    seed_paths([path])
    extra = THREADED.replace(
        "Add new comment",
        "Submitted by Eve (not verified) on Sat, 04/04/2020 - 10:00\n\nLate comment.\n\n"
        "Add new comment",
    )
    path.write_text(extra, encoding="utf-8")
    report = seed_paths([path])
    assert report.comments_created == 1 and report.articles_created == 0
    assert seed_paths([path]).comments_created == 0
    assert db.session.scalar(sa.select(Thread.comment_count)) == 6


def test_same_title_gets_a_distinct_slug(db, tmp_path):
    _write(tmp_path, "a.txt", THREADED)
    _write(tmp_path, "b.txt", THREADED)
    seed_paths([tmp_path])
    slugs = sorted(db.session.scalars(sa.select(Article.slug)))
    assert slugs == ["a-made-up-article-about-threads", "a-made-up-article-about-threads-2"]


def test_parser_keeps_a_body_paragraph_that_mentions_cookies():
    text = THREADED.replace(
        "Second paragraph, ending",
        "The bakery sold cookies on the website of the union, and the minutes say so at length "
        "in a paragraph that is much longer than any cookie banner would ever be, which is how "
        "the parser tells content from furniture, because banners are short lines, while an "
        "article paragraph about the bakery and its cookies goes on and on.\n\n"
        "Second paragraph, ending",
    )
    doc = parse_document(text)
    assert "The bakery sold cookies" in doc.body


def test_parser_error_lists_every_problem():
    text = (
        "Title\nSubmitted by AWL on 27 March, 2019 - 7:24\n\nBody.\n\n"
        "Submitted by Ann on Sun, 31/03/2019 - 17:33\n\n"
        "Submitted by Bo on Mon, 99/99/2019 - 10:00\n\nText\n"
    )
    with pytest.raises(DocumentError) as caught:
        parse_document(text)
    assert [line for line, _ in caught.value.problems] == [6, 8]
