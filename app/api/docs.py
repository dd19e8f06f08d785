"""/api/v1/docs: the API reference, rendered on the server from the OpenAPI document.

No script and no CDN: the page lists every operation with its parameters,
request body and answers, and every schema with its properties.
"""

import re

from flask import Blueprint, render_template
from markupsafe import Markup, escape

bp = Blueprint("api_docs", __name__)


@bp.app_template_filter("code_spans")
def code_spans(text: str | None) -> Markup:
    """The docstrings' `code` as <code>, everything else escaped."""
    escaped = str(escape(text or ""))
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped))  # nosec B704 - escaped first


def _ref_name(schema: dict | None) -> str | None:
    if not isinstance(schema, dict):
        return None
    ref = schema.get("$ref") or (schema.get("items") or {}).get("$ref")
    return ref.rsplit("/", 1)[-1] if ref else None


def _type_of(schema: dict | None) -> str:
    if not isinstance(schema, dict):
        return ""
    name = _ref_name(schema)
    if name:
        return f"array of {name}" if schema.get("type") == "array" else name
    kind = schema.get("type", "")
    if isinstance(kind, list):
        kind = " or ".join(kind)
    if schema.get("enum"):
        kind += " (" + ", ".join(str(v) for v in schema["enum"] if v is not None) + ")"
    return kind


def operations(spec: dict) -> list[dict]:
    """Every operation of the document, in path order, with what the page shows of it."""
    ops = []
    for path, item in spec.get("paths", {}).items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "patch", "put", "delete"):
            op = item.get(method)
            if not op:
                continue
            body = None
            content = (op.get("requestBody") or {}).get("content", {})
            if content:
                body = _ref_name(next(iter(content.values())).get("schema"))
            responses = []
            for status, answer in op.get("responses", {}).items():
                if "$ref" in answer:
                    name = answer["$ref"].rsplit("/", 1)[-1]
                    answer = spec.get("components", {}).get("responses", {}).get(name, {})
                schema = next(iter(answer.get("content", {}).values()), {}).get("schema")
                responses.append(
                    {"status": status, "description": answer.get("description", ""),
                     "schema": _type_of(schema)}
                )  # fmt: skip
            ops.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "id": f"{method}-{path}".replace("/", "-").replace("{", "").replace("}", ""),
                    "summary": op.get("summary", ""),
                    "description": op.get("description", ""),
                    "parameters": [
                        {**p, "type": _type_of(p.get("schema"))}
                        for p in [*shared, *op.get("parameters", [])]
                        if "$ref" not in p
                    ],
                    "body": body,
                    "responses": responses,
                    "writes": method != "get",
                }
            )
    return ops


def schemas(spec: dict) -> list[dict]:
    out = []
    for name, schema in sorted(spec.get("components", {}).get("schemas", {}).items()):
        required = set(schema.get("required", []))
        props = [
            {"name": key, "type": _type_of(value), "required": key in required,
             "description": value.get("description", "")}
            for key, value in schema.get("properties", {}).items()
        ]  # fmt: skip
        out.append({"name": name, "properties": props})
    return out


@bp.route("/api/v1/docs")
def reference():
    from . import api

    spec = api.spec.to_dict()
    return render_template(
        "api/docs.html", spec=spec, operations=operations(spec), schemas=schemas(spec)
    )
