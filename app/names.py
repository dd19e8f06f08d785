"""Display names that cannot pass for someone else (Unicode TR39 skeletons, ICU).

Two names whose skeletons are equal look alike to a reader ("Mоe" with a
Cyrillic о, "rnoe" and "moe", "Moderators" and "MODERAT0RS"). A member's
display name may not look like another member's, nor like a reserved word
("Moderators", "a former member"...); and every display name is shown with
its `@username` beside it (the `who` template filter), which is unique.
"""

import re
import unicodedata

from icu import SpoofChecker
from markupsafe import Markup

RESERVED_NAMES = (
    "Moderator",
    "Moderators",
    "Moderation",
    "The moderators",
    "Admin",
    "Admins",
    "Administrator",
    "Administrators",
    "Plenary",
    "System",
    "Staff",
    "Support",
    "Anonymous",
    "Guest",
    "A former member",
    "Former member",
    "Deleted comment",
    "Deleted",
)
FORMER_MEMBER = "a former member"
SKELETON_MAX = 400
_SEPARATORS = re.compile(r"[\W_]+")
_checker = SpoofChecker()


def skeleton(name: str) -> str:
    """The TR39 skeleton of a name, case-folded, without spaces and punctuation."""
    text = unicodedata.normalize("NFKC", " ".join((name or "").split())).casefold()
    shape = _checker.getSkeleton(0, text)
    # Case-fold again: the skeleton maps some look-alikes to capitals.
    return _SEPARATORS.sub("", unicodedata.normalize("NFKC", shape).casefold())[:SKELETON_MAX]


_RESERVED = frozenset(skeleton(name) for name in RESERVED_NAMES)


def is_reserved(name: str) -> bool:
    """Whether the name looks like one of RESERVED_NAMES."""
    return skeleton(name) in _RESERVED


def who(obj) -> Markup:
    """A member's display name with their @username beside it (HTML).

    Takes a User, or a Comment (its author, or the guest's or imported name,
    which has no account and so no @username).
    """
    from .models.user import User

    # isinstance, not an attribute test: a partly loaded author must not load more.
    user = obj if isinstance(obj, User) else getattr(obj, "author", None)
    if user is None:
        name = getattr(obj, "author_name", None) or "Anonymous"
        return Markup("{}").format(name)
    if getattr(user, "deleted_at", None) is not None:
        return Markup("{}").format(FORMER_MEMBER)
    return Markup('{} <span class="username">@{}</span>').format(user.display_name, user.username)


def who_text(obj) -> str:
    """`who` as plain text (page titles, mail)."""
    from .models.user import User

    user = obj if isinstance(obj, User) else getattr(obj, "author", None)
    if user is None:
        return getattr(obj, "author_name", None) or "Anonymous"
    if getattr(user, "deleted_at", None) is not None:
        return FORMER_MEMBER
    return f"{user.display_name} (@{user.username})"
