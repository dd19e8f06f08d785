"""The home page."""

from flask import render_template
from markupsafe import Markup

from ..fragments import cached
from ..pagecache import visitor_page
from ..services import home
from . import bp


def _body() -> Markup:
    rounds, counts = home.open_rounds()
    html = render_template(
        "main/_home.html",
        rounds=rounds,
        counts=counts,
        articles=home.recent_articles(),
        activity=home.recent_activity(),
    )
    return Markup(html)  # nosec B704 - our own template's output, escaped as rendered


@bp.route("/")
@visitor_page(home.versions)
def index():
    # The same for every viewer: kept until a row it shows changes (and for
    # visitors the whole page, under the same versions).
    return render_template("main/index.html", body=cached("home", home.versions(), _body))
