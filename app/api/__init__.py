"""The versioned JSON API under /api/v1 (flask-smorest: OpenAPI 3.1 from the code).

Views call the same services as the forms, under the same rate limits, and
dump through the one serializer per resource (app.serializers). Requests
authenticate with a personal access token (`Authorization: Bearer ...`)
only: a session cookie is not read here, so there is nothing for CSRF to
forge and the blueprint is exempt from it.
"""

import http

from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response

from ..params import DB_INT_MAX
from ..web import DbIntConverter
from .problems import API_PREFIX, PROBLEM_TYPE, ProblemSchema

API_CONFIG = {
    "API_TITLE": "Plenary API",
    "API_VERSION": "1",
    "OPENAPI_VERSION": "3.1.0",
    "OPENAPI_URL_PREFIX": API_PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
    "API_SPEC_OPTIONS": {
        "info": {
            "description": (
                "Rounds, proposals, threads and the moderation log of this Plenary site. "
                "Read without a token as a visitor; act with a personal access token "
                "(created on /account) sent as `Authorization: Bearer <token>`. "
                "Errors are RFC 9457 problem details."
            )
        },
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A token"}
            }
        },
        "security": [{}, {"bearerAuth": []}],
    },
}


class PlenaryApi(Api):
    """flask-smorest's Api with problem details as the documented error body.

    Its own HTTPException handler is not installed: the app's handlers
    (app.errors) answer API requests with problem details, and every other
    request as before.
    """

    ERROR_SCHEMA = ProblemSchema

    def _register_error_handlers(self):
        pass

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Default error response", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_TYPE)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


api = PlenaryApi()
# Ids in paths: the site's `<int:...>` converter, documented as what a column holds.
api.register_converter(
    DbIntConverter, lambda _c: {"type": "integer", "minimum": 0, "maximum": DB_INT_MAX}
)
blp = Blueprint("api", __name__, url_prefix=API_PREFIX, description="Plenary API, version 1")


def init_api(app: Flask) -> None:
    from ..extensions import csrf
    from . import account, auth, docs, routes  # noqa: F401 - the views on the blueprint

    for key, value in API_CONFIG.items():
        app.config.setdefault(key, value)
    api.init_app(app)
    csrf.exempt(blp)
    app.session_interface = auth.NoSessionOnTheApi()
    api.register_blueprint(blp)
    app.register_blueprint(docs.bp)
    app.register_blueprint(account.bp)
    app.cli.add_command(account.tokens_cli)
