"""RFC 9457 problem details: every error under /api/v1 answers application/problem+json."""

from flask import current_app, json, request
from marshmallow import Schema, fields

PROBLEM_TYPE = "application/problem+json"
API_PREFIX = "/api/v1"


def is_api_request_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def is_api_request() -> bool:
    return is_api_request_path(request.path)


class ProblemSchema(Schema):
    """What went wrong: RFC 9457's members, and the fields at fault when there are some."""

    type = fields.String(metadata={"description": "always about:blank: the status says it"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    # {"field": ["message", ...]} for bad input; where the field sits, when known.
    errors = fields.Dict(keys=fields.String(), values=fields.Raw())


def problem(status: int, title: str, detail: str | None = None, errors: dict | None = None):
    """A problem details response (the caller adds headers such as Retry-After)."""
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail or title,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = current_app.response_class(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="plenary"'
    return response
