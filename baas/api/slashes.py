"""The trailing-slash redirect, without trusting ``Host``.

Starlette's own redirect (``Router.redirect_slashes``, turned off in ``app.py``) writes an
absolute ``Location`` from the request's ``Host`` header, so ``Host: evil.example`` made
it an open redirect. This one answers with a relative ``Location``: the path the client
sent (as sent, still percent-encoded) with the slash dropped or added, and its query.
A path that would start with ``//`` (a network-path reference, another host to a
browser) is never a ``Location``: no route has one, and it is refused here too.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, get_route_path


def slash_redirect(request: Request) -> Response | None:
    """A 307 to the other spelling of an unmatched path when that one is a route."""
    scope = request.scope
    if scope["type"] != "http":
        return None
    path = get_route_path(scope)
    if path == "/" or not path:
        return None
    other = path.rstrip("/") if path.endswith("/") else path + "/"
    probe = {**scope, "path": scope.get("root_path", "") + other}
    if not any(route.matches(probe)[0] is not Match.NONE
               for route in request.app.router.routes):
        return None
    raw = scope.get("raw_path") or path.encode("utf-8")
    sent = bytes(raw).decode("latin-1")
    location = sent.rstrip("/") if sent.endswith("/") else sent + "/"
    if not location.startswith("/") or location.startswith(("//", "/\\")):
        return None
    query = scope.get("query_string", b"")
    if query:
        location += "?" + bytes(query).decode("latin-1")
    # Not RedirectResponse: it re-quotes the URL, and the path is already encoded.
    return Response(status_code=307, headers={"Location": location})
