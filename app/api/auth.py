"""Who an API request acts for: the member of its Bearer token, or a visitor.

Set for the request only, from the Authorization header alone: a session
cookie sent along is not read, so a page open in a browser cannot be made to
act through the API (and the API needs no CSRF token).
"""

from functools import wraps

from flask import g, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user

from ..extensions import login_manager
from ..permissions import suspension_message
from ..services.tokens import authenticate
from . import blp
from .problems import is_api_request_path, problem


class NoSessionOnTheApi(SecureCookieSessionInterface):
    """The site's signed-cookie sessions, except under /api/v1: there an empty session
    that is never saved, so the API neither reads a session cookie nor sends one back."""

    def open_session(self, app, request):
        if is_api_request_path(request.path):
            return self.make_null_session(app)
        return super().open_session(app, request)


@blp.before_request
def authenticate_bearer():
    g.api_token = None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if header and scheme.lower() != "bearer":
        return problem(401, "Not signed in", "Send a token as `Authorization: Bearer <token>`.")
    token = authenticate(secret.strip()) if header else None
    if header and token is None:
        return problem(401, "Not signed in", "This token is unknown, revoked or malformed.")
    g.api_token = token
    # Flask-Login reads the user from here first: the session is never consulted.
    g._login_user = token.user if token else login_manager.anonymous_user()
    return None


def member_required(view):
    """A token is needed (a visitor gets 401)."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.get("api_token") is None:
            return problem(401, "Not signed in", "This needs a token: Authorization: Bearer ...")
        return view(*args, **kwargs)

    return wrapped


def write_required(view):
    """A write-scoped token of a member who is not suspended."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        token = g.get("api_token")
        if token is None:
            return problem(401, "Not signed in", "This needs a token with write scope.")
        if not token.can_write:
            return problem(403, "Not allowed", "This token may only read.")
        if current_user.is_suspended():
            return problem(403, "Not allowed", suspension_message(current_user))
        return view(*args, **kwargs)

    return wrapped
