"""Screenshots of the seeded site for the README: `make screenshots`.

Makes its own fresh SQLite database in a temporary folder, builds it with
the real commands (`flask db upgrade`, `flask seed --demo`, `flask users
create`), adds what the demo leaves out for a moderation page (a few
comments and open reports, and a threshold of 100 on the demo round so the
bars show their mark), serves the app with a real WSGI server on
127.0.0.1, and drives Chromium over the home, round, proposal, article,
moderation, search and API reference pages at desktop (1280 px) and phone (360 px) widths, in the
light scheme and, for the desktop, the dark one. PNGs go to docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--only home,round]
"""

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FLASK = [sys.executable, "-m", "flask", "--app", "wsgi"]
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"

# (name, width, height of the picture, colour scheme)
SIZES = [
    ("desktop", 1280, 1100, "light"),
    ("desktop-dark", 1280, 1100, "dark"),
    ("phone", 360, 1400, "light"),
]
PASSWORD = secrets.token_urlsafe(18)
MEMBER, MODERATOR = "sam_member", "mo_moderator"


def flask(env: dict, *args: str, stdin: str | None = None) -> None:
    subprocess.run([*FLASK, *args], cwd=ROOT, env=env, input=stdin, text=True, check=True)


def build_site(env: dict) -> None:
    flask(env, "db", "upgrade")
    flask(env, "seed", "--demo")
    for name, display, role in (
        (MEMBER, "Sam Member", "member"),
        (MODERATOR, "Mo Moderator", "moderator"),
    ):
        flask(
            env,
            "users",
            "create",
            name,
            "--display-name",
            display,
            "--role",
            role,
            "--email",
            f"{name}@example.org",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )


def add_moderation_work(app) -> None:
    """Replies and reports through the services, so the queue has work in it."""
    import sqlalchemy as sa

    from app.extensions import db
    from app.models import Article, Comment, Round, User
    from app.services import comments, moderation

    with app.app_context():
        member = db.session.scalar(sa.select(User).where(User.username == MEMBER))
        moderator = db.session.scalar(sa.select(User).where(User.username == MODERATOR))
        article = db.session.scalars(sa.select(Article).order_by(Article.id)).first()
        first = db.session.scalars(
            sa.select(Comment).where(Comment.thread_id == article.thread_id).order_by(Comment.path)
        ).first()
        comments.add_comment(
            article.thread,
            moderator,
            "Thank you for keeping the record. The proposals from that fortnight are "
            "in the [demonstration round](/rounds/way-forward-2019).",
            parent=first,
        )
        reply = comments.add_comment(
            article.thread,
            member,
            "Buy cheap watches at example.com, best prices!!!",
        )
        comments.post_guest_comment(
            article, "Jordan", "I was at that convention. The minutes are worth reading in full."
        )
        moderation.report_content(
            moderator, reply, "spam", "An advert, nothing to do with the thread."
        )
        # The demo round has no threshold; give it one so the bars show their mark.
        db.session.execute(
            sa.update(Round).where(Round.slug == "way-forward-2019").values(threshold=100)
        )
        db.session.commit()


def serve(app):
    import logging

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}"


def shoot(base: str, out: Path, only: set[str] | None) -> list[Path]:
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        for size, width, height, scheme in SIZES:
            context = browser.new_context(
                base_url=base,
                viewport={"width": width, "height": 800 if width > 600 else 720},
                device_scale_factor=1,
                color_scheme=scheme,
            )
            page = context.new_page()

            def sign_in(username, page=page):
                page.goto("/login")
                page.get_by_label("Username or email").fill(username)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state()

            def sign_out(page=page):
                page.get_by_role("button", name="Sign out").click()
                page.wait_for_load_state()

            shots = [
                ("home", None, "/"),
                ("round", None, "/rounds/way-forward-2019"),
                ("proposal", MEMBER, "/proposals/7"),
                ("article", MEMBER, "/articles/us-socialist-organisation-implodes"),
                ("moderation", MODERATOR, "/moderation/queue"),
                ("search", MODERATOR, "/search?q=dissolve"),
                ("api", MODERATOR, "/api/v1/docs"),
            ]
            signed_in = None
            for name, user, url in shots:
                if only and name not in only:
                    continue
                if user != signed_in:
                    if signed_in:
                        sign_out()
                    if user:
                        sign_in(user)
                    signed_in = user
                page.goto(url)
                page.wait_for_load_state("networkidle")
                full = page.evaluate("document.documentElement.scrollHeight")
                # The article's own text is long: show its discussion.
                top = 0
                if name == "article":
                    top = max(0, int(page.locator(".thread").bounding_box()["y"]) - 16)
                path = out / f"{name}-{size}.png"
                page.screenshot(
                    path=str(path),
                    full_page=True,
                    clip={"x": 0, "y": top, "width": width, "height": min(full - top, height)},
                )
                written.append(path)
            context.close()
        browser.close()
    return written


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    parser.add_argument("--only", help="comma-separated page names (home,round,proposal,...)")
    args = parser.parse_args()
    if not os.path.exists(CHROMIUM):
        print(f"Chromium not found at {CHROMIUM} (make chromium, or set CHROMIUM_PATH)")
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="plenary-shots-") as tmp:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{tmp}/plenary.db",
            "PLENARY_ENV": "development",
            "RATELIMIT_ENABLED": "false",
            "SECRET_KEY": secrets.token_urlsafe(32),
        }
        build_site(env)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        from app import create_app

        app = create_app()
        add_moderation_work(app)
        server, base = serve(app)
        try:
            written = shoot(base, out, set(args.only.split(",")) if args.only else None)
        finally:
            server.shutdown()
    for path in written:
        print(f"wrote {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
