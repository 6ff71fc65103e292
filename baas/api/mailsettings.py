"""Admin routes for a project's mail settings: its SMTP server and email templates."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, StrictInt, StrictStr
from starlette.requests import Request
from starlette.responses import Response

from baas.api.auth import platform_of
from baas.api.http import ok, parse_body
from baas.api.routing import Registry
from baas.api.schemas.common import Strict
from baas.core.callers import Guard

route = Registry("admin")


class MailSmtpUpdate(Strict):
    host: StrictStr = Field(min_length=1, max_length=253)
    port: StrictInt = Field(587, ge=1, le=65535)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: StrictStr | None = Field(None, min_length=1, max_length=320)
    password: StrictStr | None = Field(
        None, max_length=1024,
        description="Omitted or null keeps the stored password (unless the host changes); "
        "an empty string removes it. Never returned.")
    sender: StrictStr = Field(max_length=320, description="From address, e.g. "
                              "\"My App <no-reply@example.com>\"")


class MailTemplateUpdate(Strict):
    subject: StrictStr = Field(description="At most 200 characters")
    text: StrictStr = Field(description="Must contain $link; at most 64 KiB")
    html: StrictStr = Field(description="At most 64 KiB; empty sends text only")


class MailSettingsUpdate(Strict):
    smtp: MailSmtpUpdate | None = Field(
        description="The project's own SMTP server; null uses the server's global one")
    templates: dict[str, MailTemplateUpdate | None] | None = Field(
        None, description="verify_email / reset_password -> a template, or null for the "
        "default; kinds left out keep what they have")


class MailSmtp(BaseModel):
    host: str
    port: int
    security: Literal["starttls", "tls", "none"]
    username: str | None
    sender: str
    has_password: bool


class MailTemplate(BaseModel):
    subject: str
    text: str
    html: str
    custom: bool = Field(description="False while the built-in default is used")


class MailSettings(BaseModel):
    smtp: MailSmtp | None
    templates: dict[str, MailTemplate]


@route("GET", "/v1/admin/projects/{project}/mail",
       "Read a project's mail settings (never the SMTP password)", guard=Guard.admin,
       response=MailSettings, errors=(404,))
async def get_mail_settings(request: Request) -> Response:
    project = await platform_of(request).projects.get(request.path_params["project"])
    return ok(await platform_of(request).project_mail(project["id"]).get())


@route("PUT", "/v1/admin/projects/{project}/mail",
       "Set a project's SMTP server and email templates", guard=Guard.admin,
       body=MailSettingsUpdate, response=MailSettings, errors=(404,))
async def put_mail_settings(request: Request) -> Response:
    body = await parse_body(request, MailSettingsUpdate)
    project = await platform_of(request).projects.get(request.path_params["project"])
    smtp = body.smtp.model_dump() if body.smtp is not None else None
    templates = None
    if body.templates is not None:
        templates = {kind: value.model_dump() if value is not None else None
                     for kind, value in body.templates.items()}
    return ok(await platform_of(request).project_mail(project["id"]).put(smtp, templates))
