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

from baas.core.auth.accounts import THROTTLE_WINDOW, Accounts, Caller, ProjectAuth, login_account
from baas.core.auth.onetime import Purpose
from baas.core.auth.throttle import Backoff, PairThrottle, Throttle
from baas.core.auth.users import check_password, normalize_email, public
from baas.core.errors import BadRequest, Conflict
from baas.core.messaging.mail import Mailer, Message
from baas.core.messaging.projectmail import ProjectMail
from baas.core.messaging.templates import Template, render

log = logging.getLogger("baas.auth")
PAGES = {"verify_email": "auth/verify/confirm", "reset_password": "auth/password/reset"}
# Mailed to an address another account already has when a user tries to take it
# (PATCH auth/me): the answer to that user does not say the address is taken.
ADDRESS_TAKEN = Template(
    subject="Someone tried to use your email address for $project",
    text="""\
Hello,

Someone signed in to $project asked to change their account's email address to
$email, which already belongs to your account. Nothing was changed.

If it was you, you already have an account with this address: sign in with it (or
reset its password). Otherwise you can ignore this email.
""",
    html="""\
<!doctype html>
<html><body style="font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;">
<p>Hello,</p>
<p>Someone signed in to <strong>$project</strong> asked to change their account's email
address to <strong>$email</strong>, which already belongs to your account. Nothing was
changed.</p>
<p>If it was you, you already have an account with this address: sign in with it (or
reset its password). Otherwise you can ignore this email.</p>
</body></html>
""")


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
        limit = self.settings.auth_account_limit
        # Reset requests per (account, address), apart from the login counts, so failed
        # logins never block a reset, and an attacker's requests never the owner's.
        self.forgot = PairThrottle(limit, THROTTLE_WINDOW)
        # Reset mails per account from all addresses: past ``limit``, growing spacing;
        # a request in between answers alike but mails nothing, and the link mailed
        # last (newer than the spacing, at most 15 minutes) keeps working.
        self.reset_mails = Backoff(limit, THROTTLE_WINDOW,
                                   min(900, self.settings.reset_token_ttl // 2))
        # Notices per recipient, so tries at someone's address cannot flood their inbox.
        self.notices = Throttle(limit, THROTTLE_WINDOW)
        accounts.address_taken = self.address_taken

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
        self.accounts.user_throttle.count(key)
        ttl = self.settings.verify_token_ttl
        token = await auth.tokens.issue("verify_email", user["id"], user["email"], ttl)
        await self._send(caller.project, "verify_email", user["email"], token, ttl)

    async def _usable(self, auth: ProjectAuth, purpose: Purpose, token: str
                      ) -> tuple[dict[str, Any], dict[str, Any]]:
        """``token``'s record and user, who must still have the address mailed; nothing is
        spent yet, so a request refused after this keeps its token (``_spend`` last)."""
        record = await auth.tokens.find(purpose, token)
        if record is None:
            raise invalid_token()
        user = await auth.users.get(record["user_id"])
        if user is None or user.get("email") != record["email"]:
            raise invalid_token()  # the address changed since the mail was sent
        return record, user

    async def _spend(self, auth: ProjectAuth, record: dict[str, Any]) -> None:
        if not await auth.tokens.spend(record):
            raise invalid_token()  # a concurrent request spent it first

    async def confirm_verification(self, project: str, token: str) -> dict[str, Any]:
        auth = await self.accounts.project(project)
        record, user = await self._usable(auth, "verify_email", token)
        await self._spend(auth, record)
        return public(await auth.users.update(user["id"], {"email_verified": True}))

    # -- password reset -----------------------------------------------------------------

    async def forgot_password(self, project: str, email: str, *, ip: str) -> None:
        email = normalize_email(email)
        account = login_account(project, email)
        self.forgot.check(account, ip)
        self.accounts.ip_throttle.check("ip:" + ip)
        self.forgot.fail(account, ip)
        self.accounts.ip_throttle.fail("ip:" + ip)
        self._background(self._send_reset(project, email), "password-reset-mail")

    async def _send_reset(self, project: str, email: str) -> None:
        account = login_account(project, email)
        if self.reset_mails.retry_after(account) is not None:
            log.info("password reset mail held back: one was mailed to this account "
                     "moments ago", extra={"project": project})
            return
        self.reset_mails.fail(account)
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
        check_password(password)  # before any lookup, so a weak password keeps the token
        auth = await self.accounts.project(project)
        record, user = await self._usable(auth, "reset_password", token)
        # Hashed before spending (only for a live token, so no free hashing for guessers):
        # whatever fails for the password sent leaves the token usable.
        password_hash = await self.accounts.hasher.hash(password)
        await self._spend(auth, record)
        # Receiving the mail proves the address, so it counts as verified.
        await auth.users.update(user["id"], {"password_hash": password_hash,
                                             "email_verified": True})
        await auth.sessions.revoke_user(user["id"])
        await auth.tokens.discard(user["id"], "reset_password")
        # OWASP: a reset proves the owner; every count against the account goes.
        account = login_account(project, user["email"])
        self.accounts.logins.clear(account)
        self.forgot.clear(account)
        self.reset_mails.reset(account)

    # -- a taken address ----------------------------------------------------------------

    async def address_taken(self, project: str, email: str) -> None:
        """Mail ``email``'s owner that someone tried to take the address (background)."""
        key = f"{project}:{email}"
        if self.notices.retry_after(key) is not None:
            return
        self.notices.fail(key)
        self._background(self._send_notice(project, email), "address-taken-mail")

    async def _send_notice(self, project: str, email: str) -> None:
        mail = self._project_mail(project)
        subject, text, html = render(ADDRESS_TAKEN, {
            "project": await self._project_name(project), "email": email})
        self.mailer.send_later(Message(to=email, subject=subject, text=text, html=html),
                               await mail.smtp())
