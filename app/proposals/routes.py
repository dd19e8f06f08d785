"""Routes of the proposals blueprint."""

from . import bp  # noqa: F401
