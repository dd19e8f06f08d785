"""Domain exceptions raised by services, and the error pages."""

import sqlalchemy as sa
from flask import Flask, current_app, jsonify, make_response, render_template, request, url_for
from werkzeug.exceptions import HTTPException, SecurityError


class DomainError(Exception):
    """A refusal by a service: a message for the user and an HTTP status."""

    status = 400

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        # The form field the refusal is about, when there is one.
        self.field = field


class PermissionDenied(DomainError):
    status = 403


class InvalidState(DomainError):
    status = 409


class NotFound(DomainError):
    status = 404


class ValidationError(DomainError):
    status = 400


class RateLimited(DomainError):
    status = 429


ERROR_TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Not possible now",
    413: "Too large",
    422: "Invalid input",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Please try again in a moment",
}

UNAVAILABLE_MESSAGE = (
    "The database is busy or out of reach for a moment, so nothing was saved. "
    "Please try again shortly."
)
# Form fields never echoed back on the 503 page.
SECRET_FIELDS = ("password", "confirm", "csrf_token", "token")


def wants_json() -> bool:
    """True when the request asks for JSON rather than HTML."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(status: int, message: str | None = None, errors: dict | None = None):
    title = ERROR_TITLES.get(status, "Error")
    from .api.problems import is_api_request, problem

    if is_api_request():
        # The API answers RFC 9457 problem details, whatever the Accept header says.
        return problem(status, title, message, errors)
    if wants_json():
        body = jsonify(error=title, message=message or title, status=status)
    else:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    return make_response(body, status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError):
        errors = {exc.field: [exc.message]} if exc.field else None
        return render_error(exc.status, exc.message, errors)

    @app.errorhandler(SecurityError)
    def handle_untrusted_host(exc: SecurityError):
        # A Host header outside TRUSTED_HOSTS: no URL adapter exists for it,
        # so the page cannot link anywhere; a plain answer, built from nothing.
        return current_app.response_class(
            "Bad request: this site does not answer to that host name.\n",
            status=400,
            mimetype="text/plain",
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description if status not in (404, 405, 500) else None
        if status == 429:
            message = "You are doing that too often. Please wait a little and try again."
        if status == 413:
            message = "What you sent is too large."
        # The API's bad input (webargs): which field, and why.
        errors = (getattr(exc, "data", None) or {}).get("messages")
        if status == 422:
            message = "Some of what you sent is not valid: see errors."
        response = render_error(status, message, errors if isinstance(errors, dict) else None)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    @app.errorhandler(sa.exc.OperationalError)
    def handle_database_unavailable(exc: sa.exc.OperationalError):
        # A locked or read-only SQLite file, a dropped PostgreSQL connection: the
        # request failed whole; the next one gets a fresh connection (the pool checks at checkout).
        from .extensions import db

        app.logger.warning(
            "Database unavailable on %s %s: %s", request.method, request.path, exc.orig
        )
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection itself may be gone
            app.logger.warning("Rollback after a database fault failed too", exc_info=True)
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise exc
        return render_unavailable()

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception):
        from .extensions import db

        app.logger.exception("Unhandled error on %s %s", request.method, request.path)
        try:
            db.session.rollback()
        except Exception:  # noqa: BLE001 - the connection itself may be gone
            app.logger.warning("Rollback after an error failed too", exc_info=True)
        if app.config.get("PROPAGATE_EXCEPTIONS"):
            raise exc
        return render_error(
            500, "The error has been logged. What you sent was not saved; please try again."
        )


def _resend_fields() -> list[tuple[str, str]]:
    if request.method != "POST":
        return []
    try:
        items = request.form.items(multi=True)
        return [(k, v) for k, v in items if not any(word in k.lower() for word in SECRET_FIELDS)]
    except Exception:  # noqa: BLE001 - an unreadable body has nothing to give back
        return []


def render_unavailable():
    """503 with what the user sent, in a form that sends it again (no database needed)."""
    from flask_wtf.csrf import generate_csrf

    from .api.problems import is_api_request, problem

    status, title = 503, ERROR_TITLES[503]
    if is_api_request():
        response = problem(status, title, UNAVAILABLE_MESSAGE)
    elif wants_json():
        response = jsonify(error=title, message=UNAVAILABLE_MESSAGE, status=status)
    else:
        fields = _resend_fields()
        # Rendered straight from the environment: the context processors would query.
        template = current_app.jinja_env.get_template("errors/unavailable.html")
        html = template.render(
            status=status,
            title=title,
            message=UNAVAILABLE_MESSAGE,
            fields=fields,
            action=request.full_path.rstrip("?"),
            csrf_token=generate_csrf() if fields else "",
            url_for=url_for,
        )
        response = current_app.response_class(html, mimetype="text/html")
    response.status_code = status
    response.headers["Retry-After"] = "5"
    return response
