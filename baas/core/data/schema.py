"""Optional per-collection schemas: a small typed field list, parsed once, checked per write.

``{"fields": {"title": {"type": "string", "required": true, "max_length": 200}, ...},
"additional_fields": true}``; field types are ``string``, ``number``, ``integer``,
``boolean``, ``datetime`` (RFC 3339 with an offset, stored in ``clock.iso``'s fixed-width
UTC form so it sorts as text), ``array`` (``items``), ``object`` (``fields``,
``additional_fields``) and ``reference``. A reference that names a ``collection``
(a top-level field, or the items of a top-level array) must name an existing document
there on every write, and says what deleting that document does (``on_delete``):
``references()`` lists them, ``baas.core.data.references`` enforces them. A reference
without a collection, or one the server fills (``value``), is an opaque id.

- ``null`` means "no value": any field that is not required accepts it (and keeps it);
  a default fills only a *missing* field, and only on full validation.
- ``partial=True`` skips the top-level ``required`` check and top-level defaults; an
  object value that is present is still checked whole, as a top-level merge replaces it.
- A ``pattern`` is searched, not anchored (write ``^...$``), with the ``regex`` package
  under a 50 ms timeout and a 250 ms budget per validation, so a catastrophic pattern
  costs a ``pattern_timeout`` field error, never a hang.
- All problems (up to 100) come in one 400: ``invalid_document`` with ``details["errors"]``
  of ``{"field", "code", "message"}``, or ``invalid_schema`` with ``{"field", "message"}``.

Documents reach ``validate`` after ``doclimits.check_document`` bounds their size and
depth; the validator descends only where the schema does (8 levels at most). Top-level
system fields (``id``, ``version``...) pass through unchecked, so a stored document
merged with a patch can be validated as it is.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from dataclasses import field as _field
from dataclasses import fields as _fields
from typing import Any

import regex

from baas.core.data.limits import SYSTEM_FIELDS, is_field_name
from baas.core.data.schemacheck import (
    INVALID,
    MAX_ERRORS,
    TYPE_NAMES,
    Check,
    TooMany,
    field_path,
)
from baas.core.errors import BadRequest

TYPES = ("string", "number", "integer", "boolean", "datetime", "array", "object", "reference")
SCALARS = frozenset({"string", "number", "integer", "boolean", "datetime", "reference"})
COMMON = frozenset({"type", "required", "default", "unique", "server_owned", "value"})
OPTIONS = {kind: frozenset(options.split()) for kind, options in {
    "string": "min_length max_length pattern enum", "number": "min max enum",
    "integer": "min max enum", "boolean": "", "datetime": "", "reference": "collection on_delete",
    "array": "items min_length max_length", "object": "fields additional_fields"}.items()}
# Which field types each server value can fill.
SERVER_VALUES: dict[str, tuple[str, ...]] = {
    "@auth.id": ("string", "reference"), "@auth.email": ("string",), "@now": ("string", "datetime")}
ITEM_REFUSED = ("required", "unique", "default", "server_owned", "value")
MAX_LEVELS = 8
MAX_FIELDS = 200
MAX_ENUM = 100
MAX_PATTERN = 256
ON_DELETE = ("restrict", "cascade", "set_null")


@dataclass(frozen=True)
class Field:
    """One parsed field definition, options in the order to_json writes them.

    ``default is None`` means no default.
    """

    type: str
    required: bool = False
    unique: bool = False
    min: int | float | None = None
    max: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    enum: tuple[Any, ...] | None = None
    default: Any = None
    collection: str | None = None
    on_delete: str | None = None  # None: restrict
    server_owned: bool = False
    value: str | None = None
    items: Field | None = None
    fields: dict[str, Field] | None = None
    additional_fields: bool = True
    matcher: Any = _field(default=None, compare=False, repr=False)  # the compiled pattern

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ORDER:
            value = getattr(self, name)
            if name == "additional_fields":
                if self.type == "object" and not value:
                    out[name] = False
                continue
            if value is None or (value is False and name != "default"):
                continue
            if name == "enum":
                value = list(value)
            elif name == "items":
                value = value.to_json()
            elif name == "fields":
                value = {key: spec.to_json() for key, spec in value.items()}
            out[name] = copy.deepcopy(value)
        return out


@dataclass(frozen=True)
class Reference:
    """A top-level field holding the id of a document of ``collection`` (``many``: a list
    of ids), and what deleting that document does to the field's documents."""

    field: str
    collection: str
    many: bool
    on_delete: str


@dataclass(frozen=True)
class Schema:
    """A collection's schema: its fields and whether other top-level fields are allowed."""

    fields: dict[str, Field]
    additional_fields: bool = True

    @classmethod
    def parse(cls, definition: Any) -> Schema:
        """The schema a definition describes, or a 400 ``invalid_schema`` listing every problem."""
        reader = _Reader()
        fields: dict[str, Field] = {}
        additional = True
        if not isinstance(definition, dict):
            reader.problem("", 'a schema must be an object such as {"fields": {...}}')
        else:
            for key in definition:
                if key not in ("fields", "additional_fields"):
                    reader.problem(field_path("", key),
                                   "is not a schema option; use fields and additional_fields")
            fields = reader.fields(definition.get("fields", {}), "fields", 1, top=True)
            additional = reader.flag(definition, "additional_fields", "", default=True)
        if reader.errors:
            first = reader.errors[0]
            where = f"{first['field']}: " if first["field"] else ""
            raise BadRequest(f"the schema is not valid: {where}{first['message']}"
                             + _more(len(reader.errors)), code="invalid_schema",
                             details={"errors": reader.errors})
        return cls(fields, additional)

    def to_json(self) -> dict[str, Any]:
        """The normalized definition; ``Schema.parse`` of it gives an equal schema."""
        return {"fields": {name: spec.to_json() for name, spec in self.fields.items()},
                "additional_fields": self.additional_fields}

    def validate(self, document: dict[str, Any], *, partial: bool = False) -> dict[str, Any]:
        """The cleaned document, or a 400 ``invalid_document`` listing every field problem."""
        if not isinstance(document, dict):
            raise BadRequest("a document must be a JSON object", code="invalid_document")
        check = Check()
        details: dict[str, Any] = {"errors": check.errors}
        try:
            cleaned = check.object(self.fields, self.additional_fields, document, "",
                                   whole=not partial)
            if not check.errors:
                return cleaned
        except TooMany:
            details["truncated"] = True
        first = check.errors[0]
        raise BadRequest(f"the document does not match the collection's schema: "
                         f"{first['field']}: {first['message']}" + _more(len(check.errors)),
                         code="invalid_document", details=details)

    def server_owned(self) -> dict[str, str | None]:
        """Server-owned fields and the variable each is set from (None: secret key only)."""
        return {name: spec.value for name, spec in self.fields.items() if spec.server_owned}

    def unique_fields(self) -> list[str]:
        return [name for name, spec in self.fields.items() if spec.unique]

    def references(self) -> list[Reference]:
        """The fields that link to another collection's documents (looked up on write)."""
        found = []
        for name, spec in self.fields.items():
            many = spec.type == "array" and spec.items is not None
            target = spec.items if many and spec.items is not None else spec
            if target.type == "reference" and target.collection and spec.value is None:
                found.append(Reference(name, target.collection, many,
                                       target.on_delete or "restrict"))
        return found


def apply_server_fields(schema: Schema | None, incoming: dict[str, Any],
                        stored: dict[str, Any] | None, variables: dict[str, Any], *,
                        trusted: bool) -> dict[str, Any]:
    """The body with its server-owned fields set; ``stored`` is None on create.

    An untrusted caller (publishable key, end user) may not send a server-owned field
    at all, even with the stored value. On create the server fills each field from
    ``variables`` (``{"auth.id", "auth.email", "now"}``); on update the stored value is
    kept. A trusted caller (secret key, admin) may set the fields; when it does not,
    creates fill them from ``variables`` where they resolve and updates keep them.
    """
    result = dict(incoming)
    if schema is None:
        return result
    owned = schema.server_owned()
    if not trusted:
        for name in owned:
            if name in incoming:
                raise BadRequest(f"{name!r} is set by the server; remove it from the body",
                                 code="server_owned_field", details={"field": name})
    for name, variable in owned.items():
        if name in incoming:
            continue
        if stored is not None:
            if name in stored:
                result[name] = stored[name]
            continue
        resolved = variables.get(variable[1:]) if variable else None
        if resolved is not None and resolved != "":
            result[name] = resolved
        elif variable and not trusted and schema.fields[name].required:
            whose = "the signed-in user's email" if variable == "@auth.email" else \
                "the signed-in user"
            raise BadRequest(f"this collection sets {name!r} from {whose}; sign in first",
                             code="auth_required", details={"field": name, "value": variable})
    return result


ORDER = tuple(option.name for option in _fields(Field) if option.name != "matcher")


class _Reader:
    """Reads a definition, collecting every problem instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []
        self.count = 0

    def problem(self, where: str, message: str) -> None:
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"field": where, "message": message})

    def flag(self, spec: dict[str, Any], key: str, at: str, *, default: bool = False) -> bool:
        value = spec.get(key, default)
        if not isinstance(value, bool):
            self.problem(field_path(at, key), "must be true or false")
            return default
        return value

    def fields(self, raw: Any, at: str, level: int, *, top: bool) -> dict[str, Field]:
        if not isinstance(raw, dict):
            self.problem(at, "must be an object mapping field names to definitions")
            return {}
        out: dict[str, Field] = {}
        for name, spec in raw.items():
            where = field_path(at, name)
            if not is_field_name(name):
                self.problem(where, "field names use letters, digits and '_', starting with "
                                    "a letter, at most 128 characters")
            elif top and name in SYSTEM_FIELDS:
                self.problem(where, f"{name!r} is a system field set by the server; "
                                    "it cannot be defined")
            elif (parsed := self.field(spec, where, level, top=top, item=False)) is not None:
                out[name] = parsed
        return out

    def field(self, spec: Any, at: str, level: int, *, top: bool, item: bool) -> Field | None:
        self.count += 1
        if self.count > MAX_FIELDS:
            if self.count == MAX_FIELDS + 1:
                self.problem(at, f"a schema has at most {MAX_FIELDS} fields in all")
            return None
        if level > MAX_LEVELS:
            self.problem(at, f"definitions nest at most {MAX_LEVELS} levels deep")
            return None
        if not isinstance(spec, dict):
            self.problem(at, 'must be an object such as {"type": "string"}')
            return None
        kind = spec.get("type")
        if kind not in TYPES:
            self.problem(field_path(at, "type"), f"must be one of: {', '.join(TYPES)}")
            return None
        before = len(self.errors)
        allowed = COMMON | OPTIONS[kind]
        for key in spec:
            if key not in allowed:
                known = key in ORDER
                self.problem(field_path(at, key), f"is not an option of a {kind} field" if known
                             else "is not a field option")
            elif item and key in ITEM_REFUSED:
                self.problem(field_path(at, key), "is not allowed for array items")
        # Only the options this type takes are read further, so each mistake is told once.
        spec = {key: value for key, value in spec.items() if key in allowed}
        options: dict[str, Any] = {"type": kind}
        for key in ("required", "unique", "server_owned"):
            options[key] = self.flag(spec, key, at)
        if options["unique"] and not (top and kind in SCALARS):
            self.problem(field_path(at, "unique"), "only top-level fields of a scalar type "
                                                   "(not array or object) can be unique")
        if options["server_owned"] and not top:
            self.problem(field_path(at, "server_owned"),
                         "only top-level fields can be server-owned")
        if "value" in spec:
            options["value"] = self.server_value(spec, at, kind)
        for low, high in (("min", "max"), ("min_length", "max_length")):
            for key in (low, high):
                if key in spec:
                    options[key] = self.bound(spec[key], field_path(at, key), kind, key)
            if options.get(low) is not None and options.get(high) is not None \
                    and options[low] > options[high]:
                self.problem(field_path(at, low), f"must not be greater than {high}")
        if "pattern" in spec:
            options["pattern"], options["matcher"] = self.pattern(spec["pattern"], at)
        if "enum" in spec:
            options["enum"] = self.enum(spec["enum"], field_path(at, "enum"), kind)
        if "collection" in spec:
            if is_field_name(spec["collection"]):
                options["collection"] = spec["collection"]
            else:
                self.problem(field_path(at, "collection"), "must be a collection name")
        if "on_delete" in spec:
            options["on_delete"] = self.on_delete(spec, at, linked=top or (item and level == 2))
        elif "collection" in options and not (top or (item and level == 2)):
            self.problem(field_path(at, "collection"), "only top-level fields and the items "
                                                       "of a top-level list can name a collection")
        if "items" in spec:
            options["items"] = self.field(spec["items"], field_path(at, "items"), level + 1,
                                          top=False, item=True)
        if kind == "object":
            if "fields" in spec:
                options["fields"] = self.fields(spec["fields"], field_path(at, "fields"), level + 1,
                                                top=False)
            options["additional_fields"] = self.flag(spec, "additional_fields", at, default=True)
        if len(self.errors) > before:
            return None
        parsed = Field(**options)
        if spec.get("default") is not None:
            return self.with_default(parsed, spec["default"], at)
        return parsed

    def on_delete(self, spec: dict[str, Any], at: str, *, linked: bool) -> str | None:
        value, where = spec["on_delete"], field_path(at, "on_delete")
        if value not in ON_DELETE:
            self.problem(where, f"must be one of: {', '.join(ON_DELETE)}")
        elif not isinstance(spec.get("collection"), str) or not linked:
            self.problem(where, "needs a collection, on a top-level field or the items of "
                                "a top-level list")
        elif value == "set_null" and spec.get("required") is True:
            self.problem(where, "a required field cannot be set to null; use restrict or "
                                "cascade")
        else:
            return str(value)
        return None

    def server_value(self, spec: dict[str, Any], at: str, kind: str) -> str | None:
        value = spec["value"]
        if value not in SERVER_VALUES:
            self.problem(field_path(at, "value"), f"must be one of: {', '.join(SERVER_VALUES)}")
        elif kind not in SERVER_VALUES[value]:
            fits = " or ".join(SERVER_VALUES[value])
            self.problem(field_path(at, "value"), f"{value} fills {fits} fields, not {kind}")
        elif spec.get("server_owned") is not True:
            self.problem(field_path(at, "value"), "needs server_owned: true")
        else:
            return str(value)
        return None

    def bound(self, value: Any, at: str, kind: str, key: str) -> Any:
        if key in ("min", "max"):
            found = Check().value(Field(kind), value, at)
            if found is INVALID or found is None:
                self.problem(at, f"must be {TYPE_NAMES[kind]}")
                return None
            return found
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(at, "must be a whole number, 0 or more")
            return None
        return value

    def pattern(self, value: Any, at: str) -> tuple[str | None, Any]:
        where = field_path(at, "pattern")
        if not isinstance(value, str) or not 0 < len(value) <= MAX_PATTERN:
            self.problem(where, f"must be a regular expression of at most {MAX_PATTERN} "
                                "characters")
            return None, None
        try:
            return value, regex.compile(value)
        except (regex.error, ValueError, OverflowError, RecursionError) as exc:
            self.problem(where, f"is not a valid regular expression: {exc}")
            return None, None

    def enum(self, value: Any, at: str, kind: str) -> tuple[Any, ...] | None:
        if not isinstance(value, list) or not 0 < len(value) <= MAX_ENUM:
            self.problem(at, f"must be a list of 1 to {MAX_ENUM} values")
            return None
        check = Check()
        cleaned = [check.value(Field(kind), item, f"{at}[{index}]")
                   for index, item in enumerate(value)]
        for index, item in enumerate(cleaned):
            if item is None:
                self.problem(f"{at}[{index}]", f"must be {TYPE_NAMES[kind]}")
        for error in check.errors:
            self.problem(error["field"], error["message"])
        return tuple(cleaned)

    def with_default(self, parsed: Field, default: Any, at: str) -> Field | None:
        where = field_path(at, "default")
        if parsed.server_owned:
            self.problem(where, "a server-owned field cannot have a default")
            return None
        check = Check()
        try:
            cleaned = check.value(parsed, default, where)
        except TooMany:
            cleaned = INVALID
        for error in check.errors:
            self.problem(error["field"], f"the default is not valid: {error['message']}")
        if cleaned is INVALID:
            return None
        return replace(parsed, default=cleaned)


def _more(count: int) -> str:
    return f" (and {count - 1} more problem{'s' * (count > 2)})" if count > 1 else ""
