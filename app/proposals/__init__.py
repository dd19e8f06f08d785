from flask import Blueprint

bp = Blueprint("proposals", __name__)

from . import fragments, results, routes  # noqa: E402,F401
