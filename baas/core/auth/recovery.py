"""Email verification and password reset by emailed single-use tokens.

Links point at the configured public URL (``BAAS_PUBLIC_URL``), never at the Host
of the request that asked for the mail, so a forged Host cannot redirect a token.
A reset request answers at once and does its work (lookup, token, mail) in the
background: the answer is the same, in status, body and time, whether or not the
account exists.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

from baas.core.auth.accounts import Accounts, Caller, ProjectAuth
from baas.core.auth.onetime import Purpose
from baas.core.auth.users import check_password, normalize_email, public
from baas.core.errors import BadRequest, Conflict
from baas.core.messaging.mail import Mailer, Message
from baas.core.messaging.projectmail import ProjectMail
from baas.core.messaging.templates import render

log = logging.getLogger("baas.auth")
PAGES = {"verify_email": "auth/verify/confirm", "reset_password": "auth/password/reset"}


def invalid_token() -> BadRequest:
    return BadRequest("this link or token is not valid: it may have been used already or "
                      "have expired; ask for a new one", code="invalid_token")


def human_duration(seconds: int) -> str:
    if seconds % 86400 == 0:
        n, unit = seconds // 86400, "day"
    elif seconds % 3600 == 0:
        n, unit = seconds // 3600, "hour"
    else:
        n, unit = max(1, seconds // 60), "minute"
    return f"{n} {unit}{'s' if n != 1 else ''}"


class Recovery:
    def __init__(self, accounts: Accounts, mailer: Mailer,
                 project_mail: Callable[[str], ProjectMail],
                 project_name: Callable[[str], Awaitable[str]]) -> None:
        self.accounts = accounts
        self.settings = accounts.settings
        self.mailer = mailer
        self._project_mail = project_mail
        self._project_name = project_name
        self._tasks: set[asyncio.Task[None]] = set()
        self.throttle = accounts.account_throttle

    def link(self, project: str, purpose: Purpose, token: str) -> str:
        return (f"{self.settings.base_url}/v1/projects/{quote(project, safe='')}/"
                f"{PAGES[purpose]}?token={quote(token, safe='')}")

    async def _send(self, project: str, purpose: Purpose, email: str, token: str,
                    ttl: int) -> None:
        mail = self._project_mail(project)
        template = await mail.template(purpose)
        subject, text, html = render(template, {
            "link": self.link(project, purpose, token),
            "project": await self._project_name(project),
            "email": email,
            "expires": human_duration(ttl),
        })
        self.mailer.send_later(Message(to=email, subject=subject, text=text, html=html),
                               await mail.smtp())

    def _background(self, work: Coroutine[Any, Any, None], what: str) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:  # logged, never shown: the caller already has its answer
                log.exception("background auth task failed", extra={"task": what})

        task = asyncio.create_task(run(), name=what)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, seconds: float = 10) -> None:
        """Wait for background work (at shutdown, and in tests before reading mail)."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=seconds)

    # -- email verification -------------------------------------------------------------

    async def request_verification(self, caller: Caller) -> None:
        auth = await self.accounts.project(caller.project)
        user = await caller.record(auth.users)
        if not user.get("email"):
            raise BadRequest("this account has no email address to verify", code="no_email")
        if user.get("email_verified"):
            raise Conflict("the email address is already verified", code="already_verified")
        key = f"verify:{caller.project}:{user['id']}"
        self.throttle.count(key)
        ttl = self.settings.verify_token_ttl
        token = await auth.tokens.issue("verify_email", user["id"], user["email"], ttl)
        await self._send(caller.project, "verify_email", user["email"], token, ttl)

    async def _redeem(self, auth: ProjectAuth, purpose: Purpose, token: str
                      ) -> dict[str, Any]:
        """Spend ``token`` and return its user, who must still have the address mailed."""
        record = await auth.tokens.redeem(purpose, token)
        if record is None:
            raise invalid_token()
        user = await auth.users.get(record["user_id"])
        if user is None or user.get("email") != record["email"]:
            raise invalid_token()  # the address changed since the mail was sent
        return user

    async def confirm_verification(self, project: str, token: str) -> dict[str, Any]:
        auth = await self.accounts.project(project)
        user = await self._redeem(auth, "verify_email", token)
        return public(await auth.users.update(user["id"], {"email_verified": True}))

    # -- password reset -----------------------------------------------------------------

    async def forgot_password(self, project: str, email: str, *, ip: str) -> None:
        email = normalize_email(email)
        key = f"forgot:{project}:{email}"
        self.throttle.check(key)
        self.accounts.ip_throttle.check("ip:" + ip)
        self.throttle.fail(key)
        self.accounts.ip_throttle.fail("ip:" + ip)
        self._background(self._send_reset(project, email), "password-reset-mail")

    async def _send_reset(self, project: str, email: str) -> None:
        auth = await self.accounts.project(project)
        user = await auth.users.by_email(email)
        if user is None or user.get("disabled"):
            log.info("password reset asked for an unknown or disabled account",
                     extra={"project": project})
            return
        ttl = self.settings.reset_token_ttl
        token = await auth.tokens.issue("reset_password", user["id"], email, ttl)
        await self._send(project, "reset_password", email, token, ttl)

    async def reset_password(self, project: str, token: str, password: str) -> None:
        check_password(password)  # before redeeming, so a weak password keeps the token
        auth = await self.accounts.project(project)
        user = await self._redeem(auth, "reset_password", token)
        password_hash = await self.accounts.hasher.hash(password)
        # Receiving the mail proves the address, so it counts as verified.
        await auth.users.update(user["id"], {"password_hash": password_hash,
                                             "email_verified": True})
        await auth.sessions.revoke_user(user["id"])
        await auth.tokens.discard(user["id"], "reset_password")
        self.throttle.reset(f"login:{project}:{user['email']}")
