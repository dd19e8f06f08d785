"""The home page."""

from flask import render_template

from ..services import home
from . import bp


@bp.route("/")
def index():
    rounds, counts = home.open_rounds()
    return render_template(
        "main/index.html",
        rounds=rounds,
        counts=counts,
        articles=home.recent_articles(),
        activity=home.recent_activity(),
    )
