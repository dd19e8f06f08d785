from flask import Blueprint

bp = Blueprint("articles", __name__)

from . import fragments, routes  # noqa: E402,F401
