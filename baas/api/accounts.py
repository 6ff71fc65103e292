"""End-user auth routes under P/auth: sign-up, login, sessions, the user's account,
email verification and password reset."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of, user_of
from baas.api.clientip import client_ip
from baas.api.http import no_content, ok, parse_body, parse_optional_body
from baas.api.routing import Registry
from baas.api.schemas import auth as s
from baas.core.auth.sessions import public as public_session
from baas.core.callers import Guard
from baas.core.errors import NotFound

route = Registry("auth")
P = "/v1/projects/{project}/auth"


def _agent(request: Request) -> str | None:
    return request.headers.get("user-agent")


@route("POST", P + "/signup", "Create an account with email and password, and sign in",
       guard=Guard.key, body=s.SignUp, response=s.AuthResult, status=201,
       errors=(400, 401, 409, 422, 429))
async def sign_up(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.SignUp)
    result = await platform_of(request).accounts.sign_up(
        project, body.email, body.password, body.data,
        ip=client_ip(request), user_agent=_agent(request))
    return ok(result, status=201)


@route("POST", P + "/login", "Sign in with email and password", guard=Guard.key, body=s.LogIn,
       response=s.AuthResult, errors=(400, 401, 403, 422, 429))
async def log_in(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.LogIn)
    return ok(await platform_of(request).accounts.log_in(
        project, body.email, body.password, ip=client_ip(request), user_agent=_agent(request)))


@route("POST", P + "/anonymous", "Sign in as a new guest user (upgrade later with "
       "PATCH auth/me)", guard=Guard.key, body=s.Anonymous, body_required=False,
       response=s.AuthResult, status=201, errors=(400, 401, 429))
async def anonymous(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_optional_body(request, s.Anonymous)
    result = await platform_of(request).accounts.sign_up_anonymously(
        project, body.data, ip=client_ip(request), user_agent=_agent(request))
    return ok(result, status=201)


@route("POST", P + "/refresh", "Trade a refresh token for new tokens (the old one is spent)",
       guard=Guard.key, body=s.Refresh, response=s.AuthResult, errors=(401, 403, 422, 429))
async def refresh(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.Refresh)
    return ok(await platform_of(request).accounts.refresh(project, body.refresh_token,
                                                          ip=client_ip(request)))


@route("POST", P + "/logout", "End this session, or every session with scope=global",
       guard=Guard.user, body=s.LogOut, body_required=False, status=204, errors=(401,))
async def log_out(request: Request) -> Response:
    caller = user_of(request)
    body = await parse_optional_body(request, s.LogOut)
    await platform_of(request).accounts.log_out(caller, body.scope)
    return no_content()


@route("GET", P + "/me", "The signed-in user", guard=Guard.user, response=s.User, errors=(401,))
async def me(request: Request) -> Response:
    caller = user_of(request)
    return ok(await platform_of(request).accounts.me(caller))


@route("PATCH", P + "/me", "Update profile data, email or password (email and password "
       "changes need current_password; a password change ends the other sessions; an "
       "address another account has answers alike but stays unchanged)",
       guard=Guard.user, body=s.MeUpdate, response=s.User, errors=(400, 401, 422, 429))
async def update_me(request: Request) -> Response:
    caller = user_of(request)
    body = await parse_body(request, s.MeUpdate)
    return ok(await platform_of(request).accounts.update_me(
        caller, data=body.data, email=body.email, password=body.password,
        current_password=body.current_password, ip=client_ip(request)))


@route("DELETE", P + "/me", "Delete the signed-in user's account and sessions", guard=Guard.user,
       status=204, errors=(401,))
async def delete_me(request: Request) -> Response:
    caller = user_of(request)
    await platform_of(request).accounts.delete_me(caller)
    return no_content()


@route("GET", P + "/sessions", "The signed-in user's open sessions", guard=Guard.user,
       response=s.SessionList, errors=(401,))
async def sessions(request: Request) -> Response:
    caller = user_of(request)
    items = await platform_of(request).accounts.sessions(caller)
    return ok({"items": [public_session(item, caller.session_id) for item in items],
               "next_cursor": None})


@route("DELETE", P + "/sessions/{session_id}", "End one of the signed-in user's sessions",
       guard=Guard.user, status=204, errors=(401, 404))
async def revoke_session(request: Request) -> Response:
    caller = user_of(request)
    if not await platform_of(request).accounts.revoke_session(
            caller, request.path_params["session_id"]):
        raise NotFound("no such session among yours", code="session_not_found")
    return no_content()


@route("POST", P + "/verify/request", "Email the signed-in user a verification link",
       guard=Guard.user, response=s.Sent, status=202, errors=(400, 401, 409, 429))
async def request_verification(request: Request) -> Response:
    caller = user_of(request)
    await platform_of(request).recovery.request_verification(caller)
    return ok({"sent": True}, status=202)


@route("POST", P + "/password/forgot", "Email a password-reset link; the same answer whether "
       "or not the account exists", guard=Guard.key, body=s.Forgot, response=s.Sent, status=202,
       errors=(400, 401, 422, 429))
async def forgot_password(request: Request) -> Response:
    project = request.path_params["project"]
    body = await parse_body(request, s.Forgot)
    await platform_of(request).recovery.forgot_password(project, body.email,
                                                        ip=client_ip(request))
    return ok({"sent": True}, status=202)
