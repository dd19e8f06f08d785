"""Member profiles: /users/<username>."""

from . import bp  # noqa: F401
