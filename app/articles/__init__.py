from flask import Blueprint

bp = Blueprint("articles", __name__)

from . import routes  # noqa: E402,F401
