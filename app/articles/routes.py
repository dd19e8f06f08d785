"""Routes of the articles blueprint."""

from . import bp  # noqa: F401
