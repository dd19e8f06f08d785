"""Atom feeds of rounds, proposals, threads and the moderation log (docs/feeds.md)."""

from flask import Blueprint

bp = Blueprint("feeds", __name__)

from . import routes  # noqa: E402,F401
