"""`make bench` and `make bench-scale`: pages under load against a minimal Flask app.

    .venv/bin/python bench/run.py [--db sqlite,postgresql] [--duration 5] [--scale]

For each database: build a fresh data set (bench/dataset.py), start gunicorn
on 127.0.0.1 for bench/hello.py and then for Plenary with the same settings,
drive each page with wrk (or the Python load generator where wrk is
missing) and print one table: requests/s, p50, p99 and requests/s as a share
of hello's. Then the co-signing run: 1,000 distinct signed-in members
co-sign one proposal over HTTP, and the final count is checked against the
rows.

With --scale: the pages of the demo data set are measured, the scale data
set (1,000,000 comments) is added, and the same pages plus the biggest ones
of the scale set are measured again; the table gives each page's slow-down.

Load average (1 minute) is printed next to every table: other work on the
machine moves absolute numbers; the ratios, measured minutes apart with the
same server settings, move much less.
"""

import argparse
import itertools
import os
import queue
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))

import dataset  # noqa: E402
import search_words  # noqa: E402
from harness import (  # noqa: E402
    LoadResult,
    ServerSettings,
    cpu_seconds,
    gunicorn,
    load,
    pids_matching,
)

USER_AGENT = "plenary-bench/1"


def loadavg() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (1 min), {five:.2f} (5 min)"


def warm(base: str, paths, rounds: int = 8) -> None:
    """A few requests per page so every worker has compiled its templates."""
    for path in paths:
        for _ in range(rounds):
            try:
                urllib.request.urlopen(base + path, timeout=30).read()  # noqa: S310 - loopback
            except urllib.error.HTTPError as exc:
                if exc.code >= 400:
                    raise RuntimeError(f"{path} answers {exc.code}") from exc


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


urllib.request.install_opener(urllib.request.build_opener(_NoRedirect))


def app_env(url: str, secret: str) -> dict:
    return {
        "PLENARY_ENV": "production",
        "DATABASE_URL": url,
        "SECRET_KEY": secret,
        # Production needs the site's address (links in mail); every request
        # comes to 127.0.0.1, the one host it then answers to.
        "SITE_URL": "http://127.0.0.1",
        # Plain HTTP on the loopback: the session cookie must travel without TLS.
        "SESSION_COOKIE_SECURE": "false",
        # Every request comes from 127.0.0.1: per-address limits would stop the run.
        "RATELIMIT_ENABLED": "false",
        "PYTHONPATH": str(ROOT),
    }


def measure_pages(
    base: str, pages: dict, duration: int, connections: int, cookie: str | None = None
) -> dict:
    warm(base, pages.values())
    results = {}
    for name, path in pages.items():
        results[name] = load(base + path, duration, connections, cookie=cookie)
    return results


# Pages measured again as a signed-in member (their co-signature, buttons and
# CSRF tokens are rendered around the shared fragments on every request).
MEMBER_PAGES = (
    "home",
    "round (28 proposals)",
    "proposal (1,001 supporters)",
    "article, 10,000 comments",
)
# Pages measured again while a member posts comments on another article.
WRITES_ELSEWHERE_PAGES = ("round (28 proposals)", "article, 10,000 comments")
WRITES_PER_S = 50
# The 10,000-comment article with 1,000 top-level comments on one page, each
# sub-thread folded ("N more replies").
ONE_PAGE = "article, 10,000 comments"
ONE_PAGE_ENV = {"COMMENTS_PER_PAGE": "1000", "COMMENT_REPLIES_SHOWN": "0"}


class CommentPoster:
    """A member posting comments on one thread at a steady rate.

    The rate holds whatever a post's latency under the page load: the posts
    are due on a fixed schedule (one every 1/`per_s` s) and taken in turn by
    POSTERS threads, so a post that waits for the server does not delay the
    next ones (one thread alone fell to 15-25 posts a second on a slow machine).
    """

    POSTERS = 8

    def __init__(self, base: str, thread_id: int, session: tuple[str, str], per_s: int):
        self.url = f"{base}/threads/{thread_id}/comments"
        self.cookie, self.token = session
        self.interval = 1 / per_s
        self.stop = threading.Event()
        self.posted = self.failed = 0
        self.numbers = itertools.count()
        self.lock = threading.Lock()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(self.POSTERS)
        ]

    def _post(self) -> bool:
        body = f"csrf_token={self.token}&body=Posted+elsewhere+{next(self.numbers)}".encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            self.url,
            data=body,
            headers={"Cookie": f"session={self.cookie}", "User-Agent": USER_AGENT},
        )
        try:
            urllib.request.urlopen(request, timeout=30).read()  # noqa: S310 - loopback
            return False  # a 200 is the form again: refused
        except urllib.error.HTTPError as exc:
            return exc.code == 302
        except OSError:
            return False

    def _run(self, turn: int) -> None:
        # Poster `turn` takes the posts due at start + (turn + k * POSTERS) * interval.
        next_at = self.started + turn * self.interval
        while not self.stop.wait(max(0.0, next_at - time.monotonic())):
            posted = self._post()
            with self.lock:
                if posted:
                    self.posted += 1
                else:
                    self.failed += 1
            next_at += self.interval * self.POSTERS

    def __enter__(self):
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)
        self.rate = self.posted / max(time.monotonic() - self.started, 1e-9)
        self.refused = f" ({self.failed} refused)" if self.failed else ""


def thread_of_article(url: str, slug: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                sa.text("SELECT thread_id FROM articles WHERE slug = :slug"), {"slug": slug}
            )
    finally:
        engine.dispose()


def comments_on(base: str, path: str, cookie: str | None = None) -> int:
    """How many comments a page shows (for the time per comment)."""
    request = urllib.request.Request(base + path, headers={"Cookie": cookie or ""})  # noqa: S310
    html = urllib.request.urlopen(request, timeout=60).read().decode()  # noqa: S310 - loopback
    return html.count('class="comment depth-')


def hello_result(settings, duration, connections) -> LoadResult:
    with gunicorn("hello:app", {"PYTHONPATH": str(HERE)}, settings, cwd=HERE) as base:
        warm(base, ["/"])
        return load(base + "/", duration, connections)


def print_table(title: str, hello: LoadResult, results: dict, load_text: str) -> None:
    print(f"\n{title}  [{load_text}]")
    header = f"{'page':<42} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} {'of hello':>9}"
    print(header)
    print("-" * len(header))
    rows = [("hello (bench/hello.py)", hello), *results.items()]
    for name, r in rows:
        share = r.requests_per_s / hello.requests_per_s if hello.requests_per_s else 0
        print(
            f"{name:<42} {r.requests_per_s:>8.0f} {r.p50_ms:>8.1f} {r.p99_ms:>8.1f} "
            f"{r.errors:>6} {share:>8.0%}"
        )


# --- co-signing run ---------------------------------------------------------------


def forge_sessions(url: str, secret: str, user_ids: list[int]) -> list[tuple[str, str]]:
    """(session cookie, CSRF token) per member, as if each had signed in (no scrypt)."""
    from flask import g, session
    from flask_login.utils import _create_identifier
    from flask_wtf.csrf import generate_csrf

    from app import create_app
    from app.extensions import db
    from app.models import User
    from config import ProductionConfig

    app = create_app(
        ProductionConfig,
        overrides={
            "SQLALCHEMY_DATABASE_URI": url,
            "SECRET_KEY": secret,
            "SITE_URL": "http://127.0.0.1",
        },
    )
    serializer = app.session_interface.get_signing_serializer(app)
    out = []
    with app.app_context():
        import sqlalchemy as sa

        users = db.session.scalars(sa.select(User).where(User.id.in_(user_ids))).all()
        for user in users:
            with app.test_request_context(
                "/", headers={"User-Agent": USER_AGENT}, environ_base={"REMOTE_ADDR": "127.0.0.1"}
            ):
                session["_user_id"] = user.get_id()
                session["_fresh"] = False
                session["_id"] = _create_identifier()
                # generate_csrf caches its token on g, which outlives this request
                # context (the app context is shared): one token per member.
                g.pop("csrf_token", None)
                token = generate_csrf()
                out.append((serializer.dumps(dict(session)), token))
        db.session.remove()
    return out


def _post_all(port: int, requests: list[bytes], threads: int) -> tuple[dict[int, int], float]:
    """Send prebuilt requests, `threads` at a time; (statuses, seconds)."""
    pending: queue.Queue = queue.Queue()
    for raw in requests:
        pending.put(raw)
    statuses: dict[int, int] = {}
    lock = threading.Lock()

    def worker():
        while True:
            try:
                raw = pending.get_nowait()
            except queue.Empty:
                break
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
                    sock.sendall(raw)
                    first = sock.recv(64)
                    while sock.recv(65536):
                        pass
                status = int(first.split(b" ", 2)[1])
            except (OSError, IndexError, ValueError):
                status = 0
            with lock:
                statuses[status] = statuses.get(status, 0) + 1

    began = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return statuses, time.perf_counter() - began


def cosign_run(
    base: str,
    url: str,
    secret: str,
    proposal_id: int,
    user_ids,
    threads: int = 16,
    warmup_proposal_id: int | None = None,
):
    """POST /proposals/<id>/cosign once per member, `threads` requests in flight.

    Requests are built before the clock starts and sent on plain sockets (the
    sync workers close each connection after answering): the client spends as
    little as it can of the two cores the server and the database share.
    First, as for the pages, the workers are warmed: 64 of the members co-sign
    another proposal (`warmup_proposal_id`), untimed and not counted.
    """
    sessions = forge_sessions(url, secret, user_ids)
    port = int(base.rsplit(":", 1)[1])

    def request_bytes(path: str, cookie: str, token: str) -> bytes:
        body = f"csrf_token={token}".encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            f"Cookie: session={cookie}\r\nUser-Agent: {USER_AGENT}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + body

    if warmup_proposal_id is not None:
        warm_path = f"/proposals/{warmup_proposal_id}/cosign"
        warmed, _ = _post_all(
            port, [request_bytes(warm_path, *item) for item in sessions[:64]], threads
        )
        if set(warmed) != {302}:
            raise RuntimeError(f"the warm-up co-signs answered {warmed}")
    path = f"/proposals/{proposal_id}/cosign"
    requests = [request_bytes(path, *item) for item in sessions]
    # Where the two cores went: the gunicorn processes (found by the port they
    # serve), the database server's processes (PostgreSQL), this load client.
    server_pids = pids_matching(f"127.0.0.1:{port}")
    database_pids = pids_matching("postgres: ") if url.startswith("postgresql") else []
    cpu_before = (cpu_seconds(server_pids), cpu_seconds(database_pids), time.process_time())
    statuses, elapsed = _post_all(port, requests, threads)
    cpu_after = (cpu_seconds(server_pids), cpu_seconds(database_pids), time.process_time())
    # 302: co-signed, redirected back to the proposal with a flash.
    ok = statuses.get(302, 0)
    errors = sum(n for status, n in statuses.items() if status != 302)
    count, rows, events = _cosign_counts(url, proposal_id)
    cpu_ms = [(a - b) * 1000 / max(ok, 1) for a, b in zip(cpu_after, cpu_before, strict=True)]
    return {
        "cpu_ms": dict(zip(("gunicorn", "database", "client"), cpu_ms, strict=True)),
        "cores": sum((a - b) for a, b in zip(cpu_after, cpu_before, strict=True)) / elapsed,
        "signers": len(sessions),
        "seconds": elapsed,
        "per_s": ok / elapsed if elapsed else 0,
        "ok": ok,
        "errors": errors,
        "statuses": statuses,
        "supporter_count": count,
        "active_rows": rows,
        "events": events,
    }


def _cosign_counts(url: str, proposal_id: int) -> tuple[int, int, int]:
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            count = conn.scalar(
                sa.text("SELECT supporter_count FROM proposals WHERE id = :id"), {"id": proposal_id}
            )
            rows = conn.scalar(
                sa.text(
                    "SELECT COUNT(*) FROM cosignatures WHERE proposal_id = :id "
                    "AND removed_at IS NULL"
                ),
                {"id": proposal_id},
            )
            events = conn.scalar(
                sa.text(
                    "SELECT COUNT(*) FROM cosign_events WHERE proposal_id = :id AND kind = 'sign'"
                ),
                {"id": proposal_id},
            )
    finally:
        engine.dispose()
    return count, rows, events


# --- the two modes ------------------------------------------------------------------


def bench_backend(backend: str, args, settings: ServerSettings, workdir: Path) -> dict:
    url = dataset.database_url(backend, "plenary_bench", workdir)
    manifest = dataset.Manifest(url=url, backend=backend)
    app = dataset.make_app(url)
    dataset.demo_set(app, manifest)
    dataset.bench_set(app, manifest)
    del app
    print(f"\n== {backend}: data set built in {manifest.build_seconds} s")
    secret = secrets.token_urlsafe(48)
    pages = {k: v for k, v in manifest.pages.items() if "demo" not in k and "seed" not in k}
    load_before = loadavg()
    hello = hello_result(settings, args.duration, args.connections)
    member_session, poster_session = forge_sessions(url, secret, manifest.cosigner_ids[:2])
    member_cookie = "session=" + member_session[0]
    with gunicorn("wsgi:app", app_env(url, secret), settings) as base:
        results = measure_pages(base, pages, args.duration, args.connections)
        member_pages = {k: v for k, v in pages.items() if k in MEMBER_PAGES}
        as_member = measure_pages(
            base, member_pages, args.duration, args.connections, cookie=member_cookie
        )
        results.update({f"member: {name}": r for name, r in as_member.items()})
        elsewhere = {k: v for k, v in pages.items() if k in WRITES_ELSEWHERE_PAGES}
        thread_id = thread_of_article(url, "bench-100")
        with CommentPoster(base, thread_id, poster_session, WRITES_PER_S) as poster:
            busy = measure_pages(base, elsewhere, args.duration, args.connections)
        results.update(
            {
                f"{name}, {poster.rate:.0f} comments/s elsewhere{poster.refused}": r
                for name, r in busy.items()
            }
        )
    one_page_env = {**app_env(url, secret), **ONE_PAGE_ENV}
    with gunicorn("wsgi:app", one_page_env, settings) as base:
        path = pages[ONE_PAGE]
        shown = comments_on(base, path)
        for who, cookie in (("visitor", None), ("member", member_cookie)):
            result = measure_pages(base, {ONE_PAGE: path}, args.duration, args.connections, cookie)
            results[f"{who}: {shown:,} comments on one page"] = result[ONE_PAGE]
    with gunicorn("wsgi:app", app_env(url, secret), settings) as base:
        load_after = loadavg()
        print_table(
            f"{backend}: {args.duration} s per page, {args.connections} connections, "
            f"{results[next(iter(results))].tool}",
            hello,
            results,
            f"before: {load_before}; after: {load_after}",
        )
        cos = None
        if not args.no_cosign:
            cos = cosign_run(
                base,
                url,
                secret,
                manifest.cosign_proposal_id,
                manifest.cosigner_ids,
                warmup_proposal_id=manifest.warmup_proposal_id,
            )
            agree = cos["supporter_count"] == cos["active_rows"] + 1
            print(
                f"\nco-signing run: {cos['signers']:,} members co-sign one proposal over "
                f"16 requests in flight: {cos['per_s']:.0f} co-signs/s ({cos['seconds']:.1f} s), "
                f"{cos['errors']} errors {cos['statuses']}; "
                f"supporter_count {cos['supporter_count']} = 1 author + {cos['active_rows']} "
                f"active rows ({'consistent' if agree else 'MISMATCH'}), "
                f"{cos['events']} sign events  [{loadavg()}]"
            )
            cpu = cos["cpu_ms"]
            print(
                f"CPU per co-sign: gunicorn {cpu['gunicorn']:.2f} ms, "
                + (f"PostgreSQL {cpu['database']:.2f} ms, " if backend == "postgresql" else "")
                + f"load client {cpu['client']:.2f} ms ({cos['cores']:.2f} of "
                f"{os.cpu_count()} cores busy)"
            )
    if not args.keep:
        dataset.drop_database(url)
    return {"hello": hello, "results": results, "cosign": cos}


def print_targets(backend: str, outcome: dict) -> None:
    hello, results = outcome["hello"], outcome["results"]

    def rps(prefix):
        return next(r.requests_per_s for k, r in results.items() if k.startswith(prefix))

    def share(prefix):
        return rps(prefix) / hello.requests_per_s

    checks = [
        *(
            (f"visitor {page} >= 25% of hello", share(page), 0.25, ">=")
            for page in ("home", "round", "proposal", "article, 10,000")
        ),
        *(
            (f"{name} >= 25% of hello", share(name), 0.25, ">=")
            for name in results
            if "elsewhere" in name
        ),
        *(
            (f"member {page} >= 10% of hello", share(f"member: {page}"), 0.10, ">=")
            for page in ("home", "round", "proposal")
        ),
        ("member article first page >= 5% of hello", share("member: article"), 0.05, ">="),
        *(
            (f"{name} >= 0.6% of hello", share(name), 0.006, ">=")
            for name in results
            if "on one page" in name
        ),
        (
            "article 10,000 within 1.5x of 100",
            rps("article, 100 ") / rps("article, 10,000"),
            1.5,
            "<=",
        ),
        (
            "article 100,000 within 2x of 100",
            rps("article, 100 ") / rps("article, 100,000"),
            2.0,
            "<=",
        ),
    ]
    cos = outcome["cosign"]
    lines = []
    for name, value, bound, op in checks:
        met = value >= bound if op == ">=" else value <= bound
        shown = f"{value:.1%}" if op == ">=" else f"{value:.2f}x"
        lines.append(f"  {'met ' if met else 'MISSED'}  {name}: {shown}")
    if cos:
        floor = 300
        met = (
            cos["errors"] == 0
            and cos["supporter_count"] == cos["active_rows"] + 1
            and cos["per_s"] >= floor
        )
        lines.append(
            f"  {'met ' if met else 'MISSED'}  co-signing: {cos['errors']} errors, count "
            f"{'=' if cos['supporter_count'] == cos['active_rows'] + 1 else '!='} rows, "
            f"{cos['per_s']:.0f}/s (target {floor}/s)"
        )
    print(f"\n{backend} targets:")
    print("\n".join(lines))


def scale_backend(backend: str, args, settings: ServerSettings, workdir: Path) -> None:
    url = dataset.database_url(backend, "plenary_bench_scale", workdir)
    manifest = dataset.Manifest(url=url, backend=backend)
    app = dataset.make_app(url)
    dataset.demo_set(app, manifest)
    secret = secrets.token_urlsafe(48)
    demo_pages = dict(manifest.pages)
    before_load = loadavg()
    hello_before = hello_result(settings, args.duration, args.connections)
    with gunicorn("wsgi:app", app_env(url, secret), settings) as base:
        before = measure_pages(base, demo_pages, args.duration, args.connections)
    print_table(f"{backend}: demo data set", hello_before, before, before_load)
    problems = dataset.scale_set(app, manifest)
    print(f"\n== {backend}: built in {manifest.build_seconds} s")
    print("\n".join(problems) or "Every invariant of the generated rows holds.")
    checks = _run_flask_check(url)
    if checks:
        print(checks)
    words = dataset.search_pages(app, manifest)
    print(f"\n{backend}: search words, chosen from the index's vocabulary (bench/search_words.py)")
    for w in words:
        print(f"  {w.describe()}")
    print(
        f"{backend}: rows read by each search's first page "
        "(one request after one that warms the worker, untimed)"
    )
    for name, path in manifest.pages.items():
        if name.startswith("search "):
            word, sort = path_words(path)
            reads = search_words.first_page_reads(
                app, path, lambda word=word, sort=sort: search_words.windows(app, word, sort)
            )
            print(f"  {name}: {reads}")
    after_load = loadavg()
    hello_after = hello_result(settings, args.duration, args.connections)
    with gunicorn("wsgi:app", app_env(url, secret), settings) as base:
        after = measure_pages(base, manifest.pages, args.duration, args.connections)
    print_table(f"{backend}: demo + scale data set", hello_after, after, after_load)
    print(f"\n{backend}: slow-down of each demo page with the scale set added (target <= 1.5x)")
    # Raw: requests/s before over after. Relative: the same, each as a share of
    # hello in its own phase (corrects for load that changed between phases).
    for name in demo_pages:
        raw = before[name].requests_per_s / max(after[name].requests_per_s, 1e-9)
        b = before[name].requests_per_s / hello_before.requests_per_s
        a = after[name].requests_per_s / hello_after.requests_per_s
        rel = b / a if a else float("inf")
        print(
            f"  {'met ' if raw <= 1.5 else 'MISSED'}  {name:<40} raw {raw:.2f}x, "
            f"relative to hello {rel:.2f}x"
        )
    print_search_targets(backend, hello_after, after)
    if not args.keep:
        dataset.drop_database(url)


def path_words(path: str) -> tuple[str, str]:
    """(q, sort) of a /search path."""
    from urllib.parse import parse_qs, urlsplit

    query = parse_qs(urlsplit(path).query)
    return query["q"][0], query.get("sort", ["relevance"])[0]


def print_search_targets(backend: str, hello: LoadResult, results: dict) -> None:
    """Issue #16: each search row as a share of hello in the same phase, met or missed."""
    lines = []
    for name, r in results.items():
        if not name.startswith("search "):
            continue
        role = name.split()[1]
        bound = dataset.SEARCH_TARGETS[role]
        value = r.requests_per_s / hello.requests_per_s if hello.requests_per_s else 0
        errors = f", {r.errors} errors" if r.errors else ""
        met = value >= bound and not r.errors
        lines.append(
            f"  {'met ' if met else 'MISSED'}  {name} >= {bound:.0%} of hello: {value:.1%}{errors}"
        )
    print(f"\n{backend} search targets (demo + scale data set, ratios to hello in that phase):")
    print("\n".join(lines))


def _run_flask_check(url: str) -> str | None:
    """The app's own invariant check (`flask check`), where the app has one."""
    if not (ROOT / "app" / "checks.py").exists():
        return None
    started = time.monotonic()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi.py", "check"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
    )
    tail = (done.stdout + done.stderr).strip().splitlines()[-5:]
    return (
        f"flask check: exit {done.returncode} in {time.monotonic() - started:.0f} s\n  "
        + "\n  ".join(tail)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--duration", type=int, default=5, help="seconds per page")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--scale", action="store_true", help="demo set vs demo + scale set")
    parser.add_argument("--no-cosign", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the databases afterwards")
    parser.add_argument("--workdir", default=None)
    args = parser.parse_args()
    settings = ServerSettings()
    tool = shutil.which("wrk") or "the Python load generator (bench/harness.py; wrk is missing)"
    print(f"Server settings for every target: {settings.describe()}")
    print(f"Load: {tool}, {args.connections} connections, {args.duration} s per page")
    print(f"Machine: {os.cpu_count()} CPUs, {loadavg()}")
    workdir = Path(args.workdir or ROOT / "instance" / "bench")
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    for backend in [b.strip() for b in args.db.split(",") if b.strip()]:
        if args.scale:
            scale_backend(backend, args, settings, workdir)
        else:
            outcome = bench_backend(backend, args, settings, workdir)
            print_targets(backend, outcome)
    print(f"\nDone in {time.monotonic() - started:.0f} s ({loadavg()}).")


if __name__ == "__main__":
    main()
