"""Domain exceptions raised by services, and the error pages."""

from flask import Flask, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException


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
    429: "Too many requests",
    500: "Something went wrong",
}


def wants_json() -> bool:
    """True when the request asks for JSON rather than HTML."""
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def render_error(status: int, message: str | None = None):
    title = ERROR_TITLES.get(status, "Error")
    if wants_json():
        body = jsonify(error=title, message=message or title, status=status)
    else:
        body = render_template("errors/error.html", status=status, title=title, message=message)
    return make_response(body, status)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def handle_domain_error(exc: DomainError):
        return render_error(exc.status, exc.message)

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException):
        status = exc.code or 500
        message = exc.description if status not in (404, 405, 500) else None
        if status == 429:
            message = "You are doing that too often. Please wait a little and try again."
        if status == 413:
            message = "What you sent is too large."
        response = render_error(status, message)
        if status == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

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
