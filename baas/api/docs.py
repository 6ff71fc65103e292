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
from baas.api.routing import Endpoint, Registry
from baas.api.schemas import common as schemas
from baas.core.callers import Guard

route = Registry("meta")
REASONS = {200: "OK", 201: "Created", 204: "No content", 400: "Bad request",
           401: "Unauthorized", 403: "Forbidden", 404: "Not found", 409: "Conflict",
           413: "Payload too large", 415: "Unsupported media type", 422: "Validation failed",
           429: "Rate limited", 503: "Unavailable"}

# Who may call, per guard, as OpenAPI security requirements (any one entry suffices).
SECURITY: dict[Guard, list[dict[str, list[str]]]] = {
    Guard.admin: [{"adminToken": []}],
    Guard.key: [{"apiKey": []}, {"bearerKey": []}],
    Guard.user: [{"apiKey": [], "userToken": []}],
    Guard.manager: [{"apiKey": []}, {"bearerKey": []}, {"adminToken": []}],
    Guard.access: [{"apiKey": []}, {"bearerKey": []}, {"apiKey": [], "userToken": []},
                   {"adminToken": []}],
}


def _ref(model: type[BaseModel], components: dict[str, Any]) -> dict[str, str]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in schema.pop("$defs", {}).items():
        components[name] = sub
    components[model.__name__] = schema
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    components: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    error = _ref(schemas.ErrorResponse, components)
    for e in endpoints:
        op: dict[str, Any] = {"summary": e.summary, "tags": [e.tag],
                              "operationId": e.handler.__name__}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "string"}}
                  for n in _path_names(e.path)]
        params += [{"name": n, "in": "query", "required": False, "description": d,
                    "schema": {"type": "string"}} for n, d in e.query.items()]
        if params:
            op["parameters"] = params
        if e.body is not None:
            op["requestBody"] = {"required": True, "content": {
                "application/json": {"schema": _ref(e.body, components)}}}
        success: dict[str, Any] = {"description": REASONS.get(e.status, "OK")}
        if e.response is not None:
            success["content"] = {"application/json": {"schema": _ref(e.response, components)}}
        responses: dict[str, Any] = {str(e.status): success}
        codes = set(e.errors) | ({400, 413, 415, 422} if e.body else set())
        codes |= {401, 403} if e.guard is not Guard.none else set()
        for code in sorted(codes):
            responses[str(code)] = {"description": REASONS.get(code, "Error"),
                                    "content": {"application/json": {"schema": error}}}
        op["responses"] = responses
        if e.guard is not Guard.none:
            op["security"] = [dict(scheme) for scheme in SECURITY[e.guard]]
            op["x-baas-guard"] = e.guard.value
        paths.setdefault(e.path, {})[e.method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": "baas", "version": __version__,
                 "description": "Self-hostable Backend-as-a-Service. Every error has the "
                                "shape {\"error\": {status, code, message, details}}."},
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {
            "adminToken": {"type": "http", "scheme": "bearer"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "apikey"},
            "bearerKey": {"type": "http", "scheme": "bearer"},
            "userToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
        }},
    }


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
