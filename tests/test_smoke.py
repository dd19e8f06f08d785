def test_home_and_signup_pages_answer(client):
    assert client.get("/").status_code == 200
    assert client.get("/signup").status_code == 200


def test_a_gunicorn_worker_freezes_what_the_app_holds_for_its_life(tmp_path):
    """wsgi.py, what each gunicorn worker imports, moves the app's long-lived
    objects out of the collector's generations (docs/performance.md)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {
        **os.environ,
        "PLENARY_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'frozen.db'}",
    }
    out = subprocess.run(
        [sys.executable, "-c", "import gc, wsgi; print(gc.get_freeze_count())"],
        cwd=root, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert int(out.stdout.split()[-1]) > 10_000
