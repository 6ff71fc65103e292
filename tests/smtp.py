"""A real SMTP server for tests (aiosmtpd in a thread) that keeps what it receives.

``SmtpSink()`` listens on 127.0.0.1 without TLS; ``starttls=True`` offers STARTTLS
(``require_starttls=True`` refuses mail before it), ``tls=True`` speaks implicit TLS,
``auth=(user, password)`` refuses mail from a client that did not log in. TLS uses a
self-signed certificate for localhost and 127.0.0.1 made at start; ``client_context``
trusts it.
"""

from __future__ import annotations

import asyncio
import datetime
import ipaddress
import re
import ssl
import tempfile
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from baas.core.messaging.mail import Security, SmtpConfig
from tests.conftest import free_port

LINK_RE = re.compile(r"https?://[^\s<>\"']+")


def self_signed_cert(folder: Path) -> tuple[Path, Path, bytes]:
    """(cert file, key file, cert PEM) for localhost and 127.0.0.1, valid for a day."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(pem)
    key_file.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    return cert_file, key_file, pem


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.sink.auth is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        raw = envelope.original_content or envelope.content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        transport = server.transport
        self.sink.deliveries.append({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": transport is not None and transport.get_extra_info("ssl_object") is not None,
            "login": session.auth_data if session.authenticated else None,
        })
        self.sink.messages.append(message)  # last: a waiter sees the delivery first
        return "250 2.0.0 OK"


class SmtpSink:
    """An SMTP server on a free loopback port; ``messages`` holds what it accepted."""

    def __init__(self, *, starttls: bool = False, require_starttls: bool = False,
                 tls: bool = False, auth: tuple[str, str] | None = None) -> None:
        if starttls and tls:
            raise ValueError("starttls and tls exclude each other")
        self.host = "127.0.0.1"
        self.port = free_port()
        self.security: Security = "tls" if tls else ("starttls" if starttls else "none")
        self.auth = auth
        self.messages: list[EmailMessage] = []
        self.deliveries: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._folder = tempfile.TemporaryDirectory(prefix="smtp-sink-")
        self.cert_pem = b""
        server_context = None
        if starttls or tls:
            cert_file, key_file, self.cert_pem = self_signed_cert(Path(self._folder.name))
            server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            server_context.load_cert_chain(cert_file, key_file)
        options: dict[str, Any] = {}
        if starttls:
            options.update(tls_context=server_context, require_starttls=require_starttls)
        if auth is not None:
            options["authenticator"] = self._authenticate
            # aiosmtpd offers AUTH only after STARTTLS by default; it cannot tell that an
            # implicit-TLS connection is encrypted, and plain tests log in in clear.
            options["auth_require_tls"] = starttls
        self.controller = Controller(
            _Handler(self), hostname=self.host, port=self.port,
            ssl_context=server_context if tls else None, server_hostname="localhost",
            **options,
        )

    def _authenticate(self, server: SMTP, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None
              and (auth_data.login.decode(), auth_data.password.decode()) == self.auth)
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=auth_data.login.decode())

    def start(self) -> SmtpSink:
        self.controller.start()
        return self

    def stop(self) -> None:
        try:
            self.controller.stop()
        finally:
            self._folder.cleanup()

    @property
    def client_context(self) -> ssl.SSLContext:
        """A client context (hostname checks on) that trusts this server's certificate."""
        return ssl.create_default_context(cadata=self.cert_pem.decode("ascii"))

    def config(self, **over: Any) -> SmtpConfig:
        """An SmtpConfig that reaches this server (a project override, say)."""
        values: dict[str, Any] = {
            "host": self.host, "port": self.port, "security": self.security,
            "username": self.auth[0] if self.auth else None,
            "password": self.auth[1] if self.auth else None,
            "sender": "Sink Test <no-reply@sink.test>", "timeout": 5.0,
        }
        values.update(over)
        return SmtpConfig(**values)

    def settings(self) -> dict[str, Any]:
        """``load_settings`` overrides that make the global mailer use this server."""
        values: dict[str, Any] = {"smtp_host": self.host, "smtp_port": self.port,
                                  "smtp_security": self.security, "smtp_timeout": 5.0}
        if self.auth:
            values.update(smtp_username=self.auth[0], smtp_password=self.auth[1])
        return values

    async def wait_for(self, to: str, timeout: float = 10) -> EmailMessage:  # noqa: ASYNC109
        """The next message (not returned before) addressed to ``to``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index, message in enumerate(list(self.messages)):
                recipients = [addr.lower() for _, addr in getaddresses(message.get_all("To", []))]
                if index not in self._taken and to.lower() in recipients:
                    self._taken.add(index)
                    return message
            if loop.time() > deadline:
                raise TimeoutError(f"no mail to {to} within {timeout}s "
                                   f"({len(self.messages)} received)")
            await asyncio.sleep(0.02)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no text part"
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None, "the message has no HTML part"
    return str(part.get_content())


def link_in(message: EmailMessage) -> str:
    """The first http(s) link in the message's text part."""
    found = LINK_RE.search(text_of(message))
    assert found, "no link in the text part"
    return found.group(0).rstrip(".,;)")
