"""Email templates of the auth flows: subject, plain text and HTML, per kind.

Placeholders use ``string.Template`` syntax (``$link`` or ``${link}``; ``$$`` is a
literal dollar): ``$link`` the action link, ``$project`` the project's name,
``$email`` the recipient, ``$expires`` how long the link works ("30 minutes").
Values are HTML-escaped in the HTML part only; line breaks never reach the subject.
"""

from __future__ import annotations

import html
import string
from dataclasses import dataclass

KINDS = ("verify_email", "reset_password")
PLACEHOLDERS = ("link", "project", "email", "expires")
MAX_SUBJECT_CHARS = 200
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Template:
    subject: str
    text: str
    html: str


def _html(title: str, intro: str, button: str, outro: str) -> str:
    """A simple, inline-styled email that mail clients render alike."""
    return f"""\
<!doctype html>
<html>
<body style="margin:0;padding:0;background:#f4f4f5;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" \
style="background:#f4f4f5;padding:24px 0;">
<tr><td align="center">
<table role="presentation" width="560" cellpadding="0" cellspacing="0" \
style="max-width:560px;background:#ffffff;border-radius:8px;padding:32px;\
font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#18181b;">
<tr><td>
<h1 style="margin:0 0 16px;font-size:20px;">{title}</h1>
<p style="margin:0 0 24px;font-size:15px;line-height:1.5;">{intro}</p>
<p style="margin:0 0 24px;"><a href="$link" style="display:inline-block;\
background:#2563eb;color:#ffffff;text-decoration:none;padding:12px 20px;\
border-radius:6px;font-size:15px;font-weight:600;">{button}</a></p>
<p style="margin:0 0 8px;font-size:13px;line-height:1.5;color:#52525b;">\
If the button does not work, copy this link into your browser:<br>\
<a href="$link" style="color:#2563eb;word-break:break-all;">$link</a></p>
<p style="margin:16px 0 0;font-size:13px;line-height:1.5;color:#52525b;">{outro}</p>
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
"""


DEFAULTS: dict[str, Template] = {
    "verify_email": Template(
        subject="Confirm your email address for $project",
        text="""\
Hello,

Please confirm that $email is your email address for $project by opening this link:

$link

The link works for $expires. If you did not create an account, you can ignore this
email.
""",
        html=_html(
            "Confirm your email address",
            "Please confirm that <strong>$email</strong> is your email address for "
            "<strong>$project</strong>.",
            "Confirm my email",
            "The link works for $expires. If you did not create an account, you can "
            "ignore this email.",
        ),
    ),
    "reset_password": Template(
        subject="Reset your $project password",
        text="""\
Hello,

Someone (hopefully you) asked to reset the password of $email for $project.
Choose a new password by opening this link:

$link

The link works for $expires and only once. If you did not ask for this, ignore this
email: your password stays the same.
""",
        html=_html(
            "Reset your password",
            "Someone (hopefully you) asked to reset the password of "
            "<strong>$email</strong> for <strong>$project</strong>.",
            "Choose a new password",
            "The link works for $expires and only once. If you did not ask for this, "
            "ignore this email: your password stays the same.",
        ),
    ),
}


def render(template: Template, values: dict[str, str]) -> tuple[str, str, str]:
    """(subject, text, html) with the values filled in; unknown ``$names`` stay as-is."""
    escaped = {k: html.escape(v, quote=True) for k, v in values.items()}
    subject = string.Template(template.subject).safe_substitute(values)
    subject = " ".join(subject.replace("\0", "").splitlines()).strip()
    return (
        subject,
        string.Template(template.text).safe_substitute(values),
        string.Template(template.html).safe_substitute(escaped),
    )


def _names(text: str) -> tuple[set[str], bool]:
    """The placeholder names used in ``text``, and whether a ``$`` is malformed."""
    names: set[str] = set()
    malformed = False
    for match in string.Template.pattern.finditer(text):
        name = match.group("named") or match.group("braced")
        if name:
            names.add(name)
        elif match.group("invalid") is not None:
            malformed = True
    return names, malformed


def template_problems(kind: str, template: Template) -> list[tuple[str, str]]:
    """(part, problem) pairs that would make the template unusable; empty when fine."""
    problems: list[tuple[str, str]] = []
    if kind not in KINDS:
        problems.append(("kind", f"unknown template kind {kind!r}; known: {', '.join(KINDS)}"))
    allowed = ", ".join("$" + p for p in PLACEHOLDERS)
    for part in ("subject", "text", "html"):
        names, malformed = _names(getattr(template, part))
        for name in sorted(names - set(PLACEHOLDERS)):
            shown = name if len(name) <= 40 else name[:40] + "..."
            problems.append((part, f"unknown placeholder ${shown}; allowed: {allowed}"))
        if malformed:
            problems.append((part, "a '$' that starts no placeholder; write $$ for a "
                                   "literal dollar sign"))
    if len(template.subject) > MAX_SUBJECT_CHARS:
        problems.append(("subject", f"longer than {MAX_SUBJECT_CHARS} characters"))
    if not template.subject.strip():
        problems.append(("subject", "must not be empty"))
    for part in ("text", "html"):
        if len(getattr(template, part).encode("utf-8")) > MAX_BODY_BYTES:
            problems.append((part, f"larger than {MAX_BODY_BYTES // 1024} KiB"))
    if "link" not in _names(template.text)[0]:
        problems.append(("text", "must contain $link, the link the recipient opens"))
    return problems


def check_template(kind: str, template: Template) -> list[str]:
    """Problems that would make the template unusable, as sentences; empty when fine."""
    return [f"{part}: {problem}" for part, problem in template_problems(kind, template)]
