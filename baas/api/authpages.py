"""Redeeming emailed tokens: JSON routes for apps, and the small pages the emailed
links open in a browser.

Opening a link (GET) never spends the token: mail scanners fetch links, so the page
asks for a click (verification) or the new password (reset), and the form POSTs the
token back. The token is the credential, so these routes need no API key. Pages are
self-contained (no scripts, no external resources) and send no Referer.
"""

from __future__ import annotations

import html
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from baas.api.auth import platform_of
from baas.api.http import no_content, ok, parse_body
from baas.api.routing import Registry
from baas.api.schemas import auth as s
from baas.core.errors import ApiError, BadRequest

route = Registry("auth")
P = "/v1/projects/{project}/auth"
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                               "form-action 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
STYLE = ("body{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;"
         "padding:0 1rem;color:#222}button{padding:.6rem 1.2rem;font-size:1rem}"
         "input{width:100%;padding:.5rem;margin:.4rem 0 1rem;font-size:1rem;"
         "box-sizing:border-box}.err{color:#b00020}")


def page(title: str, body: str, status: int = 200) -> HTMLResponse:
    document = (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
                f"<meta name=viewport content='width=device-width,initial-scale=1'>"
                f"<title>{html.escape(title)}</title><style>{STYLE}</style></head>"
                f"<body><h1>{html.escape(title)}</h1>{body}</body></html>")
    return HTMLResponse(document, status_code=status, headers=HEADERS)


def _is_form(request: Request) -> bool:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded"


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"), max_num_fields=10)
    return {name: values[0] for name, values in fields.items()}


def _hidden_token(token: str) -> str:
    return f"<input type=hidden name=token value='{html.escape(token, quote=True)}'>"


async def _project(request: Request) -> str:
    found = await platform_of(request).projects.get(request.path_params["project"])
    return str(found["id"])


@route("GET", P + "/verify/confirm", "Page an emailed verification link opens; "
       "its button confirms", query={"token": "the emailed token"}, errors=(404,))
async def verify_page(request: Request) -> Response:
    await _project(request)
    token = request.query_params.get("token", "")[:512]
    return page("Confirm your email", f"<form method=post>{_hidden_token(token)}"
                "<p>Click to confirm this email address.</p>"
                "<button type=submit>Confirm email</button></form>")


@route("POST", P + "/verify/confirm", "Confirm an email address with the emailed token "
       "(JSON; a form post from the page answers HTML)", body=s.TokenBody,
       response=s.User, errors=(400, 404, 422))
async def verify_confirm(request: Request) -> Response:
    project = await _project(request)
    recovery = platform_of(request).recovery
    if _is_form(request):
        fields = await _form(request)
        try:
            await recovery.confirm_verification(project, fields.get("token", "")[:512])
        except ApiError as exc:
            return page("Link not valid", f"<p class=err>{html.escape(exc.message)}</p>", 400)
        return page("Email confirmed", "<p>Thank you. You can close this page.</p>")
    body = await parse_body(request, s.TokenBody)
    return ok(await recovery.confirm_verification(project, body.token))


@route("GET", P + "/password/reset", "Page an emailed reset link opens: a new-password form",
       query={"token": "the emailed token"}, errors=(404,))
async def reset_page(request: Request) -> Response:
    await _project(request)
    token = request.query_params.get("token", "")[:512]
    return page("Choose a new password", f"<form method=post>{_hidden_token(token)}"
                "<label>New password<input type=password name=password minlength=8 "
                "autocomplete=new-password required></label>"
                "<button type=submit>Set password</button></form>")


@route("POST", P + "/password/reset", "Set a new password with the emailed token; ends every "
       "session (JSON; a form post from the page answers HTML)", body=s.Reset, status=204,
       errors=(400, 404, 422))
async def reset_password(request: Request) -> Response:
    project = await _project(request)
    recovery = platform_of(request).recovery
    if _is_form(request):
        fields = await _form(request)
        try:
            password = fields.get("password")
            if not password:
                raise BadRequest("enter a new password", code="weak_password")
            await recovery.reset_password(project, fields.get("token", "")[:512], password)
        except ApiError as exc:
            return page("Password not changed", f"<p class=err>{html.escape(exc.message)}</p>",
                        400)
        return page("Password changed", "<p>Sign in with your new password.</p>")
    body = await parse_body(request, s.Reset)
    await recovery.reset_password(project, body.token, body.password)
    return no_content()
