"""View guards shared by the blueprints (the rules themselves live on models)."""

from functools import wraps

from flask_login import current_user, login_required

from .errors import PermissionDenied
from .models.user import Role


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
            if current_user.has_role(Role.moderator) and current_user.is_suspended():
                # A suspended moderator keeps the role but none of its powers.
                raise PermissionDenied(suspension_message(current_user))
            raise PermissionDenied("Only moderators can do that.")
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @wraps(view)
    @login_required
    def wrapped(*args, **kwargs):
        if not current_user.is_admin:
            if current_user.has_role(Role.admin) and current_user.is_suspended():
                raise PermissionDenied(suspension_message(current_user))
            raise PermissionDenied("Only admins can do that.")
        return view(*args, **kwargs)

    return wrapped
