"""Outgoing email: an async SMTP sender, or an outbox folder when no server is set.

Where a message goes: the project's own SMTP server when it has one (``smtp`` passed
to ``send``), else the global server (``BAAS_SMTP_*``), else one ``.eml`` file in
``DATA_DIR/outbox`` (0600, folder 0700) for a developer to open.

``send_later`` runs the delivery as a background task, so an HTTP answer takes the
same time whether or not a mail is sent (a password-reset request must not reveal
whether the account exists); failures are logged, never raised into the request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, make_msgid, parseaddr
from pathlib import Path
from typing import Literal

import aiosmtplib

from baas.core import clock
from baas.settings import Settings

log = logging.getLogger("baas.mail")
Security = Literal["starttls", "tls", "none"]
SECURITIES: tuple[Security, ...] = ("starttls", "tls", "none")
OUTBOX = "outbox"
MAX_SUBJECT_CHARS = 998  # one header line (RFC 5322 s 2.1.1)
MAX_ADDRESS_CHARS = 320


class MailError(Exception):
    """A message could not be delivered; the message says where and why (never secrets)."""


@dataclass(frozen=True)
class SmtpConfig:
    """One SMTP server: the global one (settings) or a project's override."""

    host: str
    port: int
    security: Security
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig | None:
        if not settings.smtp_host:
            return None
        password = settings.smtp_password
        return cls(
            host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
            username=settings.smtp_username or None,
            password=password.get_secret_value() if password is not None else None,
            sender=settings.smtp_sender, timeout=settings.smtp_timeout,
        )

    def describe(self) -> str:
        return f"{self.host}:{self.port} ({self.security})"


@dataclass(frozen=True)
class Message:
    """One email to one recipient, with a plain-text and an HTML version."""

    to: str
    subject: str
    text: str
    html: str

    def __post_init__(self) -> None:
        check_address(self.to, "to")
        if _has_line_break(self.subject):
            raise ValueError("the subject must not contain line breaks")
        if len(self.subject) > MAX_SUBJECT_CHARS:
            raise ValueError(f"the subject is longer than {MAX_SUBJECT_CHARS} characters")


def _has_line_break(value: str) -> bool:
    return any(c in value for c in "\r\n\0\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def check_address(value: str, what: str) -> str:
    """Refuse anything but one address (header injection, several recipients)."""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be an email address")
    if _has_line_break(value):
        raise ValueError(f"{what} must not contain line breaks")
    if len(value) > MAX_ADDRESS_CHARS:
        raise ValueError(f"{what} is longer than {MAX_ADDRESS_CHARS} characters")
    address = parseaddr(value)[1]
    if len(getaddresses([value])) != 1 or "@" not in address:
        raise ValueError(f"{what} must be exactly one email address")
    return address


def build(message: Message, sender: str) -> EmailMessage:
    """The MIME message: multipart/alternative (text, then HTML) with the usual headers."""
    sender_address = check_address(sender, "the sender")
    mail = EmailMessage()  # its default policy also refuses CR/LF in header values
    mail["From"] = sender
    mail["To"] = message.to
    mail["Subject"] = message.subject
    mail["Date"] = formatdate(usegmt=True)
    # An explicit domain: make_msgid() would otherwise look up the host's FQDN (DNS).
    mail["Message-ID"] = make_msgid(domain=sender_address.rpartition("@")[2] or "localhost")
    mail.set_content(message.text)
    if message.html:
        mail.add_alternative(message.html, subtype="html")
    return mail


class Mailer:
    """Delivers messages over SMTP (global or per-project) or into the outbox folder."""

    def __init__(self, settings: Settings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.config = SmtpConfig.from_settings(settings)
        self._tls_context = tls_context
        self._pending: set[asyncio.Task[None]] = set()

    @property
    def outbox_dir(self) -> Path:
        return Path(self.settings.data_dir) / OUTBOX

    def describe(self) -> str:
        if self.config is not None:
            return f"SMTP {self.config.describe()}"
        return f"no SMTP configured; mail is written to {self.outbox_dir.resolve()}"

    @property
    def tls_context(self) -> ssl.SSLContext:
        """The system trust store with hostname checks, unless a test passed its own."""
        if self._tls_context is None:
            self._tls_context = ssl.create_default_context()
        return self._tls_context

    async def send(self, message: Message, smtp: SmtpConfig | None = None) -> None:
        """Deliver now: ``smtp`` (a project's server), else the global one, else the outbox.

        Raises MailError when the server cannot be reached or refuses the message.
        """
        config = smtp or self.config
        if config is None:
            mail = build(message, self.settings.smtp_sender)
            path = await asyncio.to_thread(self._write_outbox, mail.as_bytes())
            log.info("mail written to the outbox",
                     extra={"to": message.to, "path": str(path)})
            return
        mail = build(message, config.sender)
        await self._deliver(mail, message.to, config)
        log.info("mail sent", extra={"to": message.to, "smtp": config.describe(),
                                     "message_id": mail["Message-ID"]})

    async def _deliver(self, mail: EmailMessage, to: str, config: SmtpConfig) -> None:
        secure = config.security != "none"
        try:
            await aiosmtplib.send(
                mail,
                sender=parseaddr(config.sender)[1],
                recipients=[parseaddr(to)[1]],
                hostname=config.host,
                port=config.port,
                use_tls=config.security == "tls",
                # True, not None: a server that does not offer STARTTLS is an error,
                # never a silent fall back to plain text.
                start_tls=config.security == "starttls",
                tls_context=self.tls_context if secure else None,
                username=config.username or None,
                password=config.password if config.username else None,
                timeout=config.timeout,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"cannot send mail through {config.describe()}: "
                            f"{type(exc).__name__}: {exc}") from exc

    def _write_outbox(self, data: bytes) -> Path:
        folder = self.outbox_dir
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(folder, 0o700)  # mkdir's mode is masked by the umask
        stamp = clock.now().strftime("%Y%m%dT%H%M%S%fZ")
        path = folder / f"{stamp}-{secrets.token_hex(4)}.eml"
        tmp = folder / f".{path.name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            # A reader of the folder never sees a half-written message.
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        return path

    def send_later(self, message: Message, smtp: SmtpConfig | None = None) -> None:
        """Send in the background; a failure is logged, never raised to the caller."""
        task = asyncio.get_running_loop().create_task(self._send_logged(message, smtp),
                                                      name="mail-send")
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _send_logged(self, message: Message, smtp: SmtpConfig | None) -> None:
        try:
            await self.send(message, smtp)
        except Exception as exc:
            config = smtp or self.config
            log.warning("mail delivery failed", extra={
                "to": message.to,
                "smtp": config.describe() if config else "outbox",
                "error": f"{type(exc).__name__}: {exc}"[:500],
            })

    @property
    def pending(self) -> int:
        return len(self._pending)

    async def drain(self, timeout: float = 10) -> None:  # noqa: ASYNC109 - cancels, not raises
        """Wait for background sends; past ``timeout`` the rest are cancelled and logged."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._pending:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await asyncio.wait(set(self._pending), timeout=remaining)
        left = set(self._pending)
        if left:
            log.warning("mail not sent before shutdown", extra={"messages": len(left)})
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)
