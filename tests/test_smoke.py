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


def test_every_loaded_template_sees_every_global(app, client, auth, make_user, make_proposal):
    """Templates take a copy of the globals when they load (app/templating.py):
    every global must be registered while the app is made, never later, or a
    template loaded before would not see it."""
    proposal = make_proposal()
    auth.login(make_user())
    for path in ("/", f"/proposals/{proposal.id}", f"/rounds/{proposal.round.slug}", "/search?q=x"):
        assert client.get(path).status_code == 200
    env = app.jinja_env
    loaded = [template for template in env.cache.values() if template is not None]
    assert loaded
    for template in loaded:
        missing = set(env.globals) - set(template.globals)
        assert not missing, f"{template.name} lacks {missing}"
    assert {"csrf_token", "current_user", "is_following", "endpoint_exists", "url_for"} <= set(
        env.globals
    )
