from flask import Blueprint

bp = Blueprint("articles", __name__)

from . import admin, fragments, routes  # noqa: E402,F401
