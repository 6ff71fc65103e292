"""The OpenAPI document, generated from the route registry and its pydantic models,
and a self-contained HTML page that renders it (no CDN: the server works offline)."""

from __future__ import annotations

import html
import json
from typing import Any

from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from baas import __version__
from baas.api.params import Param
from baas.api.routing import Endpoint, Registry
from baas.api.schemas import collections as collection_schemas
from baas.api.schemas import common as schemas
from baas.core.callers import Guard
from baas.core.data.collections import NAME_RE
from baas.core.tenancy.projects import PROJECT_ID_RE

route = Registry("meta")
REASONS = {200: "OK", 201: "Created", 204: "No content", 400: "Bad request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict",
           413: "Payload too large", 415: "Unsupported media type", 422: "Validation failed",
           412: "Precondition failed", 429: "Rate limited", 500: "Server error",
           503: "Unavailable"}

# Who may call, per guard, as OpenAPI security requirements (any one entry suffices).
SECURITY: dict[Guard, list[dict[str, list[str]]]] = {
    Guard.admin: [{"adminToken": []}],
    Guard.key: [{"apiKey": []}, {"bearerKey": []}],
    Guard.user: [{"apiKey": [], "userToken": []}],
    Guard.manager: [{"apiKey": []}, {"bearerKey": []}, {"adminToken": []}],
    Guard.access: [{"apiKey": []}, {"bearerKey": []}, {"apiKey": [], "userToken": []},
                   {"adminToken": []}],
}


# Headers every response carries, and those of a 429 (docs/api.md, "Rate limits").
REQUEST_ID: dict[str, dict[str, Any]] = {"X-Request-Id": {
    "description": "The request's id, also in the server's logs", "required": True,
    "schema": {"type": "string"}}}
RATE_LIMITED: dict[str, dict[str, Any]] = {
    "Retry-After": {"description": "Seconds to wait before trying again", "required": True,
                    "schema": {"type": "string", "pattern": "^[0-9]+$"}},
    "RateLimit-Limit": {"description": "Requests allowed in the window",
                        "schema": {"type": "string"}},
    "RateLimit-Remaining": {"description": "Requests left in the window",
                            "schema": {"type": "string"}},
    "RateLimit-Reset": {"description": "Seconds until the window resets",
                        "schema": {"type": "string"}},
}
# Path parameters that have a shape of their own; any other is a non-empty string.
PATH_SCHEMAS: dict[str, dict[str, Any]] = {
    "project": {"type": "string", "pattern": PROJECT_ID_RE.pattern},
    "name": {"type": "string", "pattern": NAME_RE.pattern},
}
SERVER_LAYER = ("Any request can also be answered 431 (headers too large or too many) or 503 "
                "(busy or the database unreachable, with Retry-After) by the server itself.")
# Answers of the server layer (baas.transport) and of the store, before or around any
# route: shared responses every operation refers to.
SHARED_RESPONSES = {
    "431": ("HeadersTooLarge", "The request line and headers are too large, or too many"),
    "503": ("Unavailable", "The server is busy or the database is unreachable; see "
                           "Retry-After"),
}


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = _marks_to_refs(model.model_json_schema(ref_template="#/components/schemas/{model}"))
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _marks_to_refs(node: Any) -> Any:
    """The schema with each {MARK: name} made a $ref to that shared component."""
    if isinstance(node, dict):
        if schemas.MARK in node:
            return {"$ref": schemas.REF + node[schemas.MARK]}
        return {key: _marks_to_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_marks_to_refs(item) for item in node]
    return node


def _parameters(e: Endpoint) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": n, "in": "path", "required": True,
         "schema": PATH_SCHEMAS.get(n, {"type": "string", "minLength": 1})}
        for n in _path_names(e.path)]
    for name, declared in e.query.items():
        param = declared if isinstance(declared, Param) else Param(declared)
        params.append({"name": name, "in": param.where, "required": False,
                       "description": param.description, "schema": param.schema})
    return params


def _error_codes(e: Endpoint) -> set[int]:
    """Every status the route can answer besides its success: declared ones, those of any
    body (400 bad JSON, 413, 415, 422 model), of a guard (401, 403), of typed parameters
    (400), 429 everywhere (rate limits) and 500 (with the request id)."""
    codes = set(e.errors) | {429, 500}
    if e.body is not None:
        codes |= {400, 413, 415, 422}
    if e.guard is not Guard.none:
        codes |= {401, 403}
    if any(isinstance(p, Param) for p in e.query.values()):
        codes.add(400)
    return codes


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error = _ref(schemas.ErrorResponse, components)
    components.update(schemas.COMPONENTS)
    _ref(collection_schemas.RuleCheckAuth, components)  # referred to by RuleCheck.auth
    for e in endpoints:
        op: dict[str, Any] = {"summary": e.summary, "tags": [e.tag],
                              "operationId": e.handler.__name__}
        params = _parameters(e)
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {"required": e.body_required, "content": {
                "application/json": {"schema": _ref(e.body, components)}}}
        success: dict[str, Any] = {"description": REASONS.get(e.status, "OK"),
                                   "headers": REQUEST_ID}
        if e.response is not None:
            success["content"] = {"application/json": {"schema": _ref(e.response, components)}}
        responses: dict[str, Any] = {str(e.status): success}
        for code in sorted(_error_codes(e)):
            headers = {**REQUEST_ID, **RATE_LIMITED} if code == 429 else REQUEST_ID
            responses[str(code)] = {"description": REASONS.get(code, "Error"),
                                    "headers": headers,
                                    "content": {"application/json": {"schema": error}}}
        for status, (name, _) in SHARED_RESPONSES.items():
            responses[status] = {"$ref": f"#/components/responses/{name}"}
        responses = dict(sorted(responses.items()))
        op["responses"] = responses
        if e.guard is not Guard.none:
            op["security"] = [dict(scheme) for scheme in SECURITY[e.guard]]
            op["x-baas-guard"] = e.guard.value
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "baas", "version": __version__,
                 "description": "Self-hostable Backend-as-a-Service. Every error has the "
                                "shape {\"error\": {status, code, message, details}}. "
                                + SERVER_LAYER},
        "paths": paths,
        "components": {"schemas": components, "responses": _shared_responses(error),
                       "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "apikey"},
            "bearerKey": {"type": "http", "scheme": "bearer"},
            "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }},
    }


def _shared_responses(error: dict[str, str]) -> dict[str, Any]:
    # Not every one carries a request id or Retry-After (a refused head has no request).
    headers = {name: {**spec, "required": False}
               for name, spec in {**REQUEST_ID, **RATE_LIMITED}.items()
               if name in ("X-Request-Id", "Retry-After")}
    return {name: {"description": text, "headers": headers,
                   "content": {"application/json": {"schema": error}}}
            for name, text in SHARED_RESPONSES.values()}


def _path_names(path: str) -> list[str]:
    return [part[1:-1].split(":")[0] for part in path.split("/") if part.startswith("{")]


@route("GET", "/openapi.json", "This API as an OpenAPI 3.1 document")
async def openapi(request: Request) -> Response:
    return JSONResponse(request.app.state.openapi)


@route("GET", "/docs", "Human-readable API documentation")
async def docs(request: Request) -> Response:
    spec = request.app.state.openapi
    rows = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            body_ref = body.get("schema", {}).get("$ref", "").rsplit("/", 1)[-1]
            statuses = ", ".join(op["responses"])
            rows.append(
                f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                f"</code></td><td>{html.escape(op['summary'])}</td>"
                f"<td>{html.escape(body_ref)}</td><td>{statuses}</td></tr>"
            )
    models = "".join(
        f"<h3 id='{html.escape(name)}'>{html.escape(name)}</h3><pre>"
        f"{html.escape(json.dumps(schema, indent=2))}</pre>"
        for name, schema in sorted(spec["components"]["schemas"].items())
    )
    page = f"""<!doctype html><html><head><meta charset="utf-8"><title>baas API</title>
<style>body{{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;
text-align:left}}pre{{background:#f6f6f6;padding:.6rem}}</style></head><body>
<h1>baas API {html.escape(spec['info']['version'])}</h1>
<p>{html.escape(spec['info']['description'])} Machine-readable:
<a href="/openapi.json">/openapi.json</a>.</p>
<table><tr><th>method</th><th>path</th><th>what</th><th>body</th><th>statuses</th></tr>
{''.join(rows)}</table><h2>Models</h2>{models}</body></html>"""
    return HTMLResponse(page)
