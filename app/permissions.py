"""View guards shared by the blueprints (the rules themselves live on models)."""

from functools import wraps

from flask_login import current_user, login_required

from .errors import PermissionDenied


def suspension_message(user) -> str:
    until = user.suspended_until.strftime("%d %b %Y, %H:%M UTC")
    reason = f": {user.suspension_reason}" if user.suspension_reason else ""
    return f"Your account is suspended until {until}{reason}. You can read, but not write."


def active_member_required(view):
    """Signed in and not suspended (suspended members can only read)."""

    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if current_user.is_suspended():
            raise PermissionDenied(suspension_message(current_user))
        return view(*args, **kwargs)

    return wrapped


def moderator_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_moderator:
            raise PermissionDenied("Only moderators can do that.")
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            raise PermissionDenied("Only admins can do that.")
        return view(*args, **kwargs)

    return wrapped
