"""A project's mail settings: its own SMTP server (optional) and its email templates.

One document in the project database, collection ``mail_settings``, id ``mail``:
``{"smtp": None | {host, port, security, username, password_sealed, sender},
"templates": {kind: {subject, text, html}}}``. Only customised templates are stored;
the others come from ``mailtemplates.DEFAULTS``. The SMTP password is sealed with the
master key (context ``smtp-password:<project>``) and never leaves this module in
clear except as the ``SmtpConfig`` handed to the mailer.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import asdict
from typing import Any

from baas.core.errors import Conflict, Unprocessable
from baas.core.messaging.mail import SECURITIES, SmtpConfig, check_address
from baas.core.messaging.templates import DEFAULTS, KINDS, Template, template_problems
from baas.core.secretbox import SecretBox
from baas.store import Database, DuplicateKeyError

COLLECTION = "mail_settings"
DOC_ID = "mail"
HOST_RE = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]{0,251}[A-Za-z0-9_])?$")
MAX_USERNAME_CHARS = 320
MAX_PASSWORD_CHARS = 1024
DEFAULT_TIMEOUT = 10.0
WRITE_ATTEMPTS = 5


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}


def _check_smtp(smtp: dict[str, Any]) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []
    host = smtp.get("host")
    if not isinstance(host, str) or not (HOST_RE.match(host) or _is_ip(host)):
        problems.append(_problem("smtp.host", "a host name or IP address, without a port"))
    port = smtp.get("port", 587)
    if not isinstance(port, int) or isinstance(port, bool) or not 1 <= port <= 65535:
        problems.append(_problem("smtp.port", "a port number from 1 to 65535"))
    if smtp.get("security", "starttls") not in SECURITIES:
        problems.append(_problem("smtp.security", "one of " + ", ".join(SECURITIES)))
    username = smtp.get("username")
    if username is not None and (not isinstance(username, str) or not username
                                 or len(username) > MAX_USERNAME_CHARS
                                 or any(c in username for c in "\r\n\0")):
        problems.append(_problem("smtp.username",
                                 f"1-{MAX_USERNAME_CHARS} characters on one line, or null"))
    password = smtp.get("password")
    if password is not None and (not isinstance(password, str)
                                 or len(password) > MAX_PASSWORD_CHARS):
        problems.append(_problem("smtp.password", f"at most {MAX_PASSWORD_CHARS} characters"))
    try:
        check_address(smtp.get("sender"), "the sender")  # type: ignore[arg-type]
    except ValueError as exc:
        problems.append(_problem("smtp.sender", f"{exc}, e.g. \"My App <no-reply@example.com>\""))
    unknown = sorted(set(smtp) - {"host", "port", "security", "username", "password", "sender"})
    problems += [_problem(f"smtp.{name}", "unknown field") for name in unknown]
    return problems


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _as_template(kind: str, value: Any) -> tuple[Template | None, list[dict[str, str]]]:
    where = f"templates.{kind}"
    if not isinstance(value, dict) or set(value) != {"subject", "text", "html"} or not all(
            isinstance(value[k], str) for k in value):
        return None, [_problem(where, "an object with the strings subject, text and html")]
    template = Template(value["subject"], value["text"], value["html"])
    problems = [_problem(where if part == "kind" else f"{where}.{part}", message)
                for part, message in template_problems(kind, template)]
    return template, problems


class ProjectMail:
    """Read and change one project's mail settings."""

    def __init__(self, db: Database, box: SecretBox, project_id: str, *,
                 timeout: float = DEFAULT_TIMEOUT) -> None:
        self.settings = db.collection(COLLECTION)
        self.box = box
        self.project_id = project_id
        self.timeout = timeout

    @property
    def _context(self) -> str:
        return f"smtp-password:{self.project_id}"

    async def _load(self) -> dict[str, Any]:
        return await self.settings.get(DOC_ID) or {"smtp": None, "templates": {}}

    async def get(self) -> dict[str, Any]:
        """The public view: never the password, every template (defaults filled in)."""
        return self._public(await self._load())

    def _public(self, doc: dict[str, Any]) -> dict[str, Any]:
        stored = doc.get("smtp")
        smtp = None
        if stored:
            smtp = {k: stored.get(k) for k in ("host", "port", "security", "username",
                                               "sender")}
            smtp["has_password"] = bool(stored.get("password_sealed"))
        custom = doc.get("templates") or {}
        templates = {}
        for kind in KINDS:
            found = custom.get(kind)
            base = found or asdict(DEFAULTS[kind])
            templates[kind] = {"subject": base["subject"], "text": base["text"],
                               "html": base["html"], "custom": found is not None}
        return {"smtp": smtp, "templates": templates}

    async def put(self, smtp: dict[str, Any] | None,
                  templates: dict[str, Any] | None) -> dict[str, Any]:
        """Replace the SMTP override (None removes it) and change templates.

        ``templates`` maps a kind to ``{subject, text, html}`` or to None (back to the
        default); kinds it leaves out, or all of them when it is None, stay as they are.
        An SMTP ``password`` left out (or None) keeps the stored one, unless the host
        changes: a stored password is never sent to another server. ``""`` removes it.
        """
        problems = _check_smtp(smtp) if smtp is not None else []
        if problems:
            raise Unprocessable(f"{problems[0]['field']}: {problems[0]['message']}",
                                code="invalid_smtp", details={"errors": problems})
        checked: dict[str, Template | None] = {}
        for kind, value in (templates or {}).items():
            if value is None:
                if kind not in KINDS:
                    problems.append(_problem(f"templates.{kind}", "unknown template kind; "
                                             "known: " + ", ".join(KINDS)))
                checked[kind] = None
                continue
            template, found = _as_template(kind, value)
            problems += found
            checked[kind] = template
        if problems:
            raise Unprocessable(f"{problems[0]['field']}: {problems[0]['message']}",
                                code="invalid_template", details={"errors": problems})
        for _ in range(WRITE_ATTEMPTS):
            current = await self.settings.get(DOC_ID)
            doc = self._merge(current or {}, smtp, checked)
            try:
                if current is None:
                    await self.settings.insert({"id": DOC_ID, **doc})
                    return self._public(doc)
                updated = await self.settings.update(DOC_ID, doc,
                                                     expected_version=current["version"])
            except DuplicateKeyError:
                continue  # another request created it first; merge into theirs
            if updated is not None:
                return self._public(updated)
        raise Conflict("the mail settings changed meanwhile; try again",
                       code="mail_settings_conflict")

    def _merge(self, current: dict[str, Any], smtp: dict[str, Any] | None,
               templates: dict[str, Template | None]) -> dict[str, Any]:
        merged = dict(current.get("templates") or {})
        for kind, template in templates.items():
            if template is None:
                merged.pop(kind, None)
            else:
                merged[kind] = {"subject": template.subject, "text": template.text,
                                "html": template.html}
        return {"smtp": self._stored_smtp(current.get("smtp"), smtp), "templates": merged}

    def _stored_smtp(self, old: dict[str, Any] | None,
                     new: dict[str, Any] | None) -> dict[str, Any] | None:
        if new is None:
            return None
        password = new.get("password")
        if password is None:
            if old and old.get("password_sealed") and old.get("host") != new["host"]:
                raise Unprocessable(
                    "smtp.password: send the password again when changing the host",
                    code="invalid_smtp", details={"errors": [_problem(
                        "smtp.password", "required when the host changes")]})
            sealed = old.get("password_sealed") if old else None
        else:
            sealed = self.box.seal(password.encode("utf-8"), self._context) if password else None
        return {
            "host": new["host"], "port": new.get("port", 587),
            "security": new.get("security", "starttls"),
            "username": new.get("username") or None,
            "password_sealed": sealed, "sender": new["sender"],
        }

    async def smtp(self) -> SmtpConfig | None:
        """The project's SMTP server with its password opened, or None for the global one."""
        stored = (await self._load()).get("smtp")
        if not stored:
            return None
        sealed = stored.get("password_sealed")
        password = self.box.open(sealed, self._context).decode("utf-8") if sealed else None
        return SmtpConfig(host=stored["host"], port=stored["port"],
                          security=stored["security"], username=stored.get("username"),
                          password=password, sender=stored["sender"], timeout=self.timeout)

    async def template(self, kind: str) -> Template:
        """The project's template of ``kind``, or the default one."""
        if kind not in KINDS:
            raise ValueError(f"unknown template kind {kind!r}; known: {', '.join(KINDS)}")
        found = ((await self._load()).get("templates") or {}).get(kind)
        if found is None:
            return DEFAULTS[kind]
        return Template(found["subject"], found["text"], found["html"])
