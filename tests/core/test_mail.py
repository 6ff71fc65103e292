"""Mail delivery against a real SMTP server (aiosmtpd), the outbox, templates and
the per-project mail settings on both store engines."""

from __future__ import annotations

import json
import logging
import stat
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

from baas.core.errors import Unprocessable
from baas.core.messaging.mail import Mailer, MailError, Message, SmtpConfig
from baas.core.messaging.projectmail import ProjectMail
from baas.core.messaging.templates import DEFAULTS, KINDS, Template, check_template, render
from baas.core.secretbox import SecretBox
from baas.settings import Settings, load_settings
from baas.store import Engine
from tests.conftest import free_port
from tests.smtp import SmtpSink, html_of, link_in, text_of

MASTER = b"master-key-for-tests-0123456789abcdef"
TO = "ada@example.com"


def message(to: str = TO, subject: str = "Hello Ada") -> Message:
    return Message(to=to, subject=subject, text="Open https://app.test/x?t=1 now.\n",
                   html="<p>Open <a href='https://app.test/x?t=1'>this</a></p>")


def settings_for(tmp_path: Path, **extra: Any) -> Settings:
    return load_settings(data_dir=tmp_path / "data", log_level="warning", **extra)


@pytest.fixture
def sink_factory() -> Iterator[type[SmtpSink]]:
    started: list[SmtpSink] = []

    class Started(SmtpSink):
        def start(self) -> SmtpSink:
            started.append(super().start())
            return self

    yield Started
    for sink in started:
        sink.stop()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def mail_log() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("baas.mail")
    logger.addHandler(handler)
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


# -- SMTP -------------------------------------------------------------------------------

async def test_plain_smtp_from_settings(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    mailer = Mailer(settings_for(tmp_path, **smtp_sink.settings(), smtp_sender="App <a@b.test>"))
    assert mailer.describe() == f"SMTP 127.0.0.1:{smtp_sink.port} (none)"
    await mailer.send(message())
    got = await smtp_sink.wait_for(TO)
    assert got["Subject"] == "Hello Ada"
    assert got["From"] == "App <a@b.test>" and got["To"] == TO
    assert got["Date"] and got["Message-ID"].endswith("@b.test>")
    assert got.get_content_type() == "multipart/alternative"
    assert "https://app.test/x?t=1" in text_of(got) and "<a href=" in html_of(got)
    assert link_in(got) == "https://app.test/x?t=1"
    assert smtp_sink.deliveries[0]["mail_from"] == "a@b.test"
    assert smtp_sink.deliveries[0]["rcpt_tos"] == [TO]
    assert smtp_sink.deliveries[0]["tls"] is False
    assert not mailer.outbox_dir.exists()


async def test_starttls_with_self_signed_cert(sink_factory: type[SmtpSink],
                                              tmp_path: Path) -> None:
    sink = sink_factory(starttls=True, require_starttls=True).start()
    settings = settings_for(tmp_path, **sink.settings())
    await Mailer(settings, tls_context=sink.client_context).send(message())
    await sink.wait_for(TO)
    assert sink.deliveries[0]["tls"] is True
    # The system trust store does not know the certificate: refused, not sent in clear.
    with pytest.raises(MailError, match="starttls"):
        await Mailer(settings).send(message())
    assert len(sink.messages) == 1


async def test_implicit_tls(sink_factory: type[SmtpSink], tmp_path: Path) -> None:
    sink = sink_factory(tls=True).start()
    mailer = Mailer(settings_for(tmp_path), tls_context=sink.client_context)
    await mailer.send(message(), sink.config())
    got = await sink.wait_for(TO)
    assert got["From"] == "Sink Test <no-reply@sink.test>"
    assert sink.deliveries[0]["tls"] is True


async def test_auth_over_starttls(sink_factory: type[SmtpSink], tmp_path: Path) -> None:
    sink = sink_factory(starttls=True, auth=("mailer", "s3cret-pass")).start()
    mailer = Mailer(settings_for(tmp_path), tls_context=sink.client_context)
    await mailer.send(message(), sink.config())
    await sink.wait_for(TO)
    assert sink.deliveries[0]["login"] == "mailer"
    with pytest.raises(MailError) as info:
        await mailer.send(message(), sink.config(password="wrong-pass"))
    assert "wrong-pass" not in str(info.value)
    with pytest.raises(MailError):  # no login: the server refuses the message
        await mailer.send(message(), sink.config(username=None, password=None))
    assert len(sink.messages) == 1


async def test_auth_over_implicit_tls(sink_factory: type[SmtpSink], tmp_path: Path) -> None:
    sink = sink_factory(tls=True, auth=("mailer", "s3cret-pass")).start()
    mailer = Mailer(settings_for(tmp_path), tls_context=sink.client_context)
    await mailer.send(message(), sink.config())
    await sink.wait_for(TO)
    assert sink.deliveries[0] == {**sink.deliveries[0], "login": "mailer", "tls": True}


async def test_starttls_required_but_not_offered(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    mailer = Mailer(settings_for(tmp_path))
    with pytest.raises(MailError, match="STARTTLS"):
        await mailer.send(message(), smtp_sink.config(security="starttls"))
    assert smtp_sink.messages == []


def test_config_from_settings_and_describe(tmp_path: Path) -> None:
    assert SmtpConfig.from_settings(settings_for(tmp_path)) is None
    config = SmtpConfig.from_settings(settings_for(
        tmp_path, smtp_host="smtp.example.com", smtp_username="u", smtp_password="hidden-pw"))
    assert config is not None and config.password == "hidden-pw"
    assert config.describe() == "smtp.example.com:587 (starttls)"
    assert "hidden-pw" not in repr(config)


# -- the outbox ---------------------------------------------------------------------------

async def test_outbox_without_smtp(tmp_path: Path) -> None:
    mailer = Mailer(settings_for(tmp_path))
    assert mailer.outbox_dir == tmp_path / "data" / "outbox"
    assert mailer.describe() == f"no SMTP configured; mail is written to {mailer.outbox_dir}"
    await mailer.send(message())
    await mailer.send(message(to="bob@example.com", subject="Second"))
    files = sorted(mailer.outbox_dir.iterdir())
    assert [f.suffix for f in files] == [".eml", ".eml"]  # no temporary file left
    assert stat.S_IMODE(mailer.outbox_dir.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    first = BytesParser(policy=policy.default).parsebytes(files[0].read_bytes())
    second = BytesParser(policy=policy.default).parsebytes(files[1].read_bytes())
    assert first["To"] == TO and first["Subject"] == "Hello Ada"  # names sort by time
    assert second["To"] == "bob@example.com"
    assert first["From"] == "baas <no-reply@localhost>"
    assert link_in(first) == "https://app.test/x?t=1"  # type: ignore[arg-type]


# -- header injection ---------------------------------------------------------------------

@pytest.mark.parametrize("to", [
    "ada@example.com\r\nBcc: eve@evil.test", "ada@example.com\nBcc: eve@evil.test",
    "ada@example.com, eve@evil.test", "not an address", "", "a@b.test\x00",
])
def test_bad_recipient_is_refused(to: str) -> None:
    with pytest.raises(ValueError):
        message(to=to)


@pytest.mark.parametrize("subject", ["Hi\r\nBcc: eve@evil.test", "Hi\nX: y", "Hi\rX: y",
                                     "Hi\u2028X"])
def test_line_breaks_in_subject_are_refused(subject: str) -> None:
    with pytest.raises(ValueError):
        message(subject=subject)


async def test_bad_sender_is_refused(tmp_path: Path) -> None:
    mailer = Mailer(settings_for(tmp_path, smtp_sender="a@b.test\r\nBcc: eve@evil.test"))
    with pytest.raises(ValueError):
        await mailer.send(message())
    assert not mailer.outbox_dir.exists()


# -- background sends ---------------------------------------------------------------------

async def test_send_later_and_drain(smtp_sink: SmtpSink, tmp_path: Path) -> None:
    mailer = Mailer(settings_for(tmp_path, **smtp_sink.settings()))
    mailer.send_later(message())
    mailer.send_later(message(to="bob@example.com"))
    assert mailer.pending == 2
    await mailer.drain()
    assert mailer.pending == 0
    assert sorted(m["To"] for m in smtp_sink.messages) == ["ada@example.com", "bob@example.com"]


async def test_send_later_failure_is_logged_not_raised(tmp_path: Path,
                                                       mail_log: Records) -> None:
    config = SmtpConfig(host="127.0.0.1", port=free_port(), security="none",
                        username="user", password="pw-not-in-logs", sender="a@b.test",
                        timeout=2)
    mailer = Mailer(settings_for(tmp_path))
    mailer.send_later(message(), config)
    await mailer.drain()
    failures = [r for r in mail_log.records if r.getMessage() == "mail delivery failed"]
    assert len(failures) == 1
    record = failures[0]
    assert record.levelno == logging.WARNING
    assert record.to == TO and record.smtp == f"127.0.0.1:{config.port} (none)"  # type: ignore[attr-defined]
    dumped = json.dumps(vars(record), default=str)
    assert "pw-not-in-logs" not in dumped and "app.test/x" not in dumped
    assert not mailer.outbox_dir.exists()  # a failed server is not an outbox fallback


# -- templates ----------------------------------------------------------------------------

def test_defaults_are_valid_and_render() -> None:
    assert set(DEFAULTS) == set(KINDS)
    for kind in KINDS:
        assert check_template(kind, DEFAULTS[kind]) == []
        subject, text, html = render(DEFAULTS[kind], {
            "link": "https://app.test/confirm?token=a&b=1", "project": "Demo",
            "email": "ada@example.com", "expires": "30 minutes"})
        assert "Demo" in subject and "$" not in subject + text + html
        assert "https://app.test/confirm?token=a&b=1" in text and "30 minutes" in text
        assert 'href="https://app.test/confirm?token=a&amp;b=1"' in html
        Message(to=TO, subject=subject, text=text, html=html)


def test_render_escapes_html_only_and_flattens_subject() -> None:
    template = Template("Hi $project\r\n$email", "Text $project $missing", "<b>$project</b>")
    subject, text, html = render(template, {"project": "<Acme & Co>",
                                            "email": "x@y.test\nBcc: eve@evil.test"})
    assert "\n" not in subject and "\r" not in subject
    assert subject == "Hi <Acme & Co> x@y.test Bcc: eve@evil.test"
    assert text == "Text <Acme & Co> $missing"  # safe_substitute keeps unknown names
    assert html == "<b>&lt;Acme &amp; Co&gt;</b>"


def test_check_template_problems() -> None:
    good = Template("Reset for $project", "Go to $link ($expires)", "<a href='$link'>go</a>")
    assert check_template("reset_password", good) == []
    assert check_template("welcome", good) == [
        "kind: unknown template kind 'welcome'; known: verify_email, reset_password"]
    problems = check_template("verify_email", Template("x" * 201, "no link $token", "$a ${b}"))
    assert problems == [
        "text: unknown placeholder $token; allowed: $link, $project, $email, $expires",
        "html: unknown placeholder $a; allowed: $link, $project, $email, $expires",
        "html: unknown placeholder $b; allowed: $link, $project, $email, $expires",
        "subject: longer than 200 characters",
        "text: must contain $link, the link the recipient opens",
    ]
    big = Template("s", "$link " + "x" * 65536, "")
    assert check_template("verify_email", big) == ["text: larger than 64 KiB"]
    assert check_template("verify_email", Template("costs $5", "$link $$5", "")) == [
        "subject: a '$' that starts no placeholder; write $$ for a literal dollar sign"]


# -- per-project settings (both engines) --------------------------------------------------

SMTP_IN = {"host": "smtp.example.com", "port": 465, "security": "tls", "username": "apikey",
           "password": "very-secret-smtp-password", "sender": "Demo <no-reply@demo.test>"}
CUSTOM = {"subject": "Welcome to $project", "text": "Confirm: $link",
          "html": "<a href='$link'>ok</a>"}


async def test_project_mail_round_trip(engine: Engine) -> None:
    mail = ProjectMail(engine.database("p_demo"), SecretBox(MASTER), "demo")
    view = await mail.get()
    assert view["smtp"] is None
    assert set(view["templates"]) == set(KINDS)
    assert view["templates"]["verify_email"]["custom"] is False
    assert view["templates"]["verify_email"]["subject"] == DEFAULTS["verify_email"].subject
    assert await mail.smtp() is None
    assert await mail.template("reset_password") == DEFAULTS["reset_password"]

    view = await mail.put(SMTP_IN, {"verify_email": CUSTOM})
    assert view["smtp"] == {"host": "smtp.example.com", "port": 465, "security": "tls",
                            "username": "apikey", "sender": "Demo <no-reply@demo.test>",
                            "has_password": True}
    assert view["templates"]["verify_email"] == {**CUSTOM, "custom": True}
    assert view["templates"]["reset_password"]["custom"] is False
    assert await mail.get() == view
    raw = await engine.database("p_demo").collection("mail_settings").get("mail")
    assert raw is not None and "very-secret-smtp-password" not in json.dumps(raw)
    assert raw["smtp"]["password_sealed"].startswith("v1.")
    config = await mail.smtp()
    assert config == SmtpConfig("smtp.example.com", 465, "tls", "apikey",
                                "very-secret-smtp-password", "Demo <no-reply@demo.test>", 10.0)
    assert await mail.template("verify_email") == Template(**CUSTOM)

    # No password: the stored one stays; templates left out stay too.
    view = await mail.put({**SMTP_IN, "password": None, "port": 2465}, None)
    assert view["smtp"]["has_password"] and view["smtp"]["port"] == 2465
    assert view["templates"]["verify_email"]["custom"] is True
    assert (await mail.smtp()).password == "very-secret-smtp-password"  # type: ignore[union-attr]
    # A stored password never follows the settings to another host.
    without = {k: v for k, v in SMTP_IN.items() if k != "password"}
    with pytest.raises(Unprocessable) as info:
        await mail.put({**without, "host": "smtp.evil.test"}, None)
    assert info.value.code == "invalid_smtp"
    # "" removes the password; null resets a template; smtp None removes the override.
    view = await mail.put({**SMTP_IN, "password": ""}, {"verify_email": None})
    assert view["smtp"]["has_password"] is False
    assert view["templates"]["verify_email"]["custom"] is False
    assert (await mail.smtp()).password is None  # type: ignore[union-attr]
    view = await mail.put(None, None)
    assert view["smtp"] is None and await mail.smtp() is None


async def test_project_mail_validation(engine: Engine) -> None:
    mail = ProjectMail(engine.database("p_demo"), SecretBox(MASTER), "demo")
    with pytest.raises(Unprocessable) as info:
        await mail.put(None, {"verify_email": {**CUSTOM, "text": "no link $nope"},
                              "welcome": CUSTOM, "reset_password": {"subject": "x"}})
    assert info.value.code == "invalid_template" and info.value.status == 422
    fields = [e["field"] for e in info.value.details["errors"]]
    assert fields == ["templates.verify_email.text", "templates.verify_email.text",
                      "templates.welcome", "templates.reset_password"]
    with pytest.raises(Unprocessable) as info:
        await mail.put({**SMTP_IN, "host": "smtp.example.com:25", "port": 0,
                        "security": "ssl", "sender": "a@b.test\r\nBcc: c@d.test"}, None)
    assert info.value.code == "invalid_smtp"
    assert [e["field"] for e in info.value.details["errors"]] == [
        "smtp.host", "smtp.port", "smtp.security", "smtp.sender"]
    assert (await mail.get())["smtp"] is None  # nothing was stored
    # Another project's box context cannot open this project's password.
    await mail.put(SMTP_IN, None)
    other = ProjectMail(engine.database("p_demo"), SecretBox(MASTER), "other")
    with pytest.raises(Exception, match="cannot open"):
        await other.smtp()


async def test_project_smtp_override_delivers(engine: Engine, smtp_sink: SmtpSink,
                                              tmp_path: Path) -> None:
    mail = ProjectMail(engine.database("p_demo"), SecretBox(MASTER), "demo", timeout=5)
    await mail.put({"host": "127.0.0.1", "port": smtp_sink.port, "security": "none",
                    "sender": "Demo <hello@demo.test>"}, {"reset_password": CUSTOM})
    subject, text, html = render(await mail.template("reset_password"), {
        "link": "http://127.0.0.1:8080/r?t=abc", "project": "Demo", "email": TO,
        "expires": "30 minutes"})
    mailer = Mailer(settings_for(tmp_path))  # no global SMTP: the override is used
    mailer.send_later(Message(TO, subject, text, html), await mail.smtp())
    await mailer.drain()
    got = await smtp_sink.wait_for(TO)
    assert got["From"] == "Demo <hello@demo.test>" and got["Subject"] == "Welcome to Demo"
    assert link_in(got) == "http://127.0.0.1:8080/r?t=abc"
    assert not mailer.outbox_dir.exists()
