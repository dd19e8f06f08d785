"""Plenary: a forum for an organisation that decides through proposals."""

import functools
import logging

import sqlalchemy as sa
from flask import Flask, request

from config import DEFAULT_SECRET_KEY, Config, config_from_env

from .database import (
    SAFE_METHODS,
    configure_postgresql,
    configure_sqlite,
    engine_options,
    ensure_sqlite_directory,
)
from .errors import register_error_handlers
from .extensions import csrf, db, limiter, login_manager, migrate
from .fragments import init_fragment_cache
from .security import init_security
from .templating import TemplateEnvironment
from .web import DbIntConverter

MIN_SECRET_KEY_LENGTH = 16


def _refuse_weak_secret(app: Flask) -> None:
    key = app.config.get("SECRET_KEY")
    if not key or key == DEFAULT_SECRET_KEY or len(str(key)) < MIN_SECRET_KEY_LENGTH:
        raise SystemExit(
            "Plenary refuses to start in production without a real SECRET_KEY: set the "
            f"SECRET_KEY environment variable to a random string of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters (for example the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`)."
        )


def _require_site_url(app: Flask) -> None:
    """Production links come from SITE_URL, and only its host (or TRUSTED_HOSTS) is served."""
    from urllib.parse import urlsplit

    from .urls import validate_site_url

    site_url = (app.config.get("SITE_URL") or "").strip()
    problem = validate_site_url(site_url)
    if problem:
        raise SystemExit(
            f"Plenary refuses to start in production without SITE_URL: {problem}. "
            "Links in mail are built from it, never from the request's Host header."
        )
    if not app.config.get("TRUSTED_HOSTS"):
        app.config["TRUSTED_HOSTS"] = [urlsplit(site_url).hostname]


def create_app(config_class: type[Config] | None = None, overrides: dict | None = None) -> Flask:
    """Build the application for `config_class` (PLENARY_ENV's class by default)."""
    app = Flask(
        __name__,
        template_folder="../templates",
        instance_relative_config=True,
    )
    app.jinja_environment = TemplateEnvironment
    app.config.from_object(config_class or config_from_env())
    if overrides:
        app.config.update(overrides)
    if app.config.get("PRODUCTION"):
        _refuse_weak_secret(app)
        _require_site_url(app)
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO)
        app.logger.setLevel(logging.INFO)

    from . import models  # noqa: F401 - every table on the metadata (Alembic, create_all)

    ensure_sqlite_directory(app)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app)
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            configure_sqlite(db.engine, app.config["SQLITE_BUSY_TIMEOUT"])
        elif db.engine.dialect.name == "postgresql":
            configure_postgresql(app, db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to do that."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    if app.config["TRUSTED_PROXIES"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    init_fragment_cache(app)
    init_security(app)
    register_error_handlers(app)
    app.url_map.converters["int"] = DbIntConverter
    _register_blueprints(app)
    _register_template_helpers(app)

    from .mail import init_mail

    init_mail(app)

    from .cli import register_cli

    register_cli(app)
    return app


def _register_blueprints(app: Flask) -> None:
    from .articles import bp as articles_bp
    from .auth import bp as auth_bp
    from .feeds import bp as feeds_bp
    from .main import bp as main_bp
    from .moderation import bp as moderation_bp
    from .notifications import bp as notifications_bp
    from .proposals import bp as proposals_bp
    from .search import bp as search_bp
    from .users import bp as users_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(proposals_bp)
    app.register_blueprint(articles_bp)
    app.register_blueprint(moderation_bp)
    app.register_blueprint(users_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(feeds_bp)

    from .api import init_api

    init_api(app)


def _register_template_helpers(app: Flask) -> None:
    from .markdown import render_markdown
    from .names import who, who_text
    from .timeutil import utcnow

    app.jinja_env.filters["markdown"] = render_markdown
    # A member's display name with their @username beside it, everywhere.
    app.jinja_env.filters["who"] = who
    app.jinja_env.filters["who_text"] = who_text

    @app.template_filter("datetime")
    def format_datetime(value, fmt: str = "%d %b %Y, %H:%M"):
        return value.strftime(fmt) if value else ""

    @app.template_filter("isodate")
    def format_iso(value):
        return value.isoformat(timespec="minutes") if value else ""

    # A global, not a context value: macros imported without context ask it too.
    app.jinja_env.globals["endpoint_exists"] = lambda endpoint: endpoint in app.view_functions

    @app.context_processor
    def inject_globals():
        from flask_login import current_user

        from .visibility import proposal_name

        unread = 0
        if current_user.is_authenticated:
            unread = current_user.unread_notifications
        return {
            "now": utcnow(),
            # The one visibility rule, for templates: "Proposal 7: Title" or "(hidden)".
            "proposal_name": lambda proposal: proposal_name(current_user, proposal),
            "unread_notifications": unread,
        }


@functools.cache
def _user_select(badge: bool) -> sa.Select:
    """The signed-in member's row, built once (every member's request runs it):
    a page's header shows the unread badge, which comes in the same statement;
    a form's answer is mostly a redirect, and asks for the count only if shown."""
    from sqlalchemy.orm import undefer

    from .models import User

    select = sa.select(User).where(User.id == sa.bindparam("user_id"))
    return select.options(undefer(User.unread_notifications)) if badge else select


@login_manager.user_loader
def load_user(user_id: str):
    from .models import User

    parsed = User.parse_id(user_id)
    if parsed is None:
        return None
    select = _user_select(request.method in SAFE_METHODS)
    user = db.session.execute(select, {"user_id": parsed[0]}).scalar_one_or_none()
    if user is None or user.session_version != parsed[1]:
        return None
    return user


__all__ = ["create_app", "db", "sa"]
