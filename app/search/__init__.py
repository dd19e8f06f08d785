"""/search and the similar-proposals lookup (the index: models/search_index.py)."""

from flask import Blueprint

bp = Blueprint("search", __name__)

from . import routes  # noqa: E402,F401
