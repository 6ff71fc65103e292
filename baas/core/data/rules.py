"""Access rules: who is calling, the variables a rule sees, and the decisions.

A rule is closed (null: only a secret key or an admin), public (""), or an
expression of the filter language. Trusted callers (secret key, admin) bypass every
rule. A list request compiles the list rule into the query and ANDs it outside the
client's filter, so nothing in the filter can widen it. Single documents are
checked in Python with the same semantics (``language.evaluate``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baas.core import clock, language
from baas.core.data.collections import Definition, Rule
from baas.core.errors import Forbidden
from baas.core.language.compiler import to_filter
from baas.store import Filter

SYSTEM_VIEW = ("id", "created_at", "updated_at", "version")


@dataclass(frozen=True)
class Access:
    """The caller of a document route.

    ``trusted``: a secret key or an admin (rules do not apply). Otherwise a
    publishable key, with ``user_id``/``role`` when an end user signed in.
    """

    trusted: bool
    user_id: str | None = None
    role: str | None = None
    email: str | None = None
    key_id: str | None = None

    @property
    def identity(self) -> str:
        """Who, for idempotency scopes: the user, else the key, else the admin."""
        if self.user_id:
            return f"user:{self.user_id}"
        if self.key_id:
            return f"key:{self.key_id}"
        return "trusted" if self.trusted else "public"


def variables(access: Access, data: dict[str, Any] | None = None,
              now: str | None = None) -> dict[str, Any]:
    """The bound variables of a rule: ``auth.*`` (absent when nobody signed in),
    ``now`` and, for create and update, ``data`` (the document as it would be)."""
    bound: dict[str, Any] = {"now": now or clock.now_iso()}
    if access.user_id is not None:
        bound["auth.id"] = access.user_id
        bound["auth.role"] = access.role
        if access.email is not None:
            bound["auth.email"] = access.email
    if data is not None:
        bound["data"] = data
    return bound


@dataclass(frozen=True)
class Decision:
    allowed: bool
    operation: str
    rule: str | None
    reason: str

    def as_json(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "operation": self.operation, "rule": self.rule,
                "reason": self.reason}


def decide(rule: Rule, access: Access, document: dict[str, Any] | None,
           data: dict[str, Any] | None = None) -> Decision:
    """May ``access`` do ``rule.operation`` on ``document`` (stored fields) with ``data``?"""
    op = rule.operation
    if access.trusted:
        return Decision(True, op, rule.text, "secret keys and admins bypass rules")
    if rule.closed:
        return Decision(False, op, None, f"the {op} rule is not set, so only a secret key "
                                         "or an admin may do this")
    if rule.public:
        return Decision(True, op, "", f"the {op} rule is empty: anyone with the "
                                      "publishable key may do this")
    assert rule.node is not None
    allowed = language.evaluate(rule.node, document or {}, variables(access, data))
    verdict = "true" if allowed else "false"
    return Decision(allowed, op, rule.text, f"the {op} rule is {verdict} for this caller "
                                            "and document")


def list_filter(definition: Definition, access: Access) -> Filter | None:
    """The list rule as a query filter (None: no restriction); 403 if it is closed."""
    if access.trusted:
        return None
    rule = definition.rules["list"]
    if rule.closed:
        raise Forbidden(f"listing {definition.name!r} is closed: its list rule is not set, "
                        "so only a secret key or an admin may list it", code="forbidden")
    if rule.public:
        return None
    assert rule.node is not None
    return to_filter(rule.node, variables(access))
