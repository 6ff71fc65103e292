"""The declarative side of ``baas collections apply``: reading and checking a file that
declares collections, comparing it with what the server holds, and applying and
reporting the difference, one collection at a time."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from baas_sdk import OPERATIONS, CollectionDef, Collections, IndexDef
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from .errors import EXIT_USAGE, CliError
from .output import console, err_console, say

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")
PROGRESS_MIN = 6  # a progress bar from this many collections on (on a terminal)
COLLECTION_KEYS = ("name", "schema", "rules", "indexes")
INDEX_KEYS = ("fields", "unique", "ttl")


# -- rule words (the tables in collections.py use them too) -------------------------


def access(rule: str | None) -> str:
    """One word for a rule: closed, public or rule."""
    if rule is None:
        return "closed"
    return "public" if rule == "" else "rule"


def short_rule(rule: str | None) -> str:
    return json.dumps(rule) if rule else access(rule)


# -- reading files ------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys and keeps dates as strings (JSON has none)."""

    def construct_mapping(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.MappingNode):
            seen: set[Any] = set()
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue
                key = self.construct_object(key_node, deep=deep)
                with contextlib.suppress(TypeError):
                    if key in seen:
                        raise yaml.constructor.ConstructorError(
                            "while reading a mapping", node.start_mark,
                            f"found duplicate key {key!r}", key_node.start_mark)
                    seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_error(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        hint = ""
        if "'@'" in str(exc.problem) or "'`'" in str(exc.problem):
            hint = '; quote a value that starts with @, e.g. create: "@auth.id != null"'
        return (f"invalid YAML at line {mark.line + 1}, column {mark.column + 1}: "
                f"{exc.problem}" + (f" ({exc.context})" if exc.context else "") + hint)
    return f"invalid YAML: {exc}"


def read_document(path: Path) -> Any:
    """The content of a JSON file (``.json``) or a YAML file (anything else; ``-``: stdin,
    YAML or JSON). Problems are usage errors that name the file and the line."""
    label = "stdin" if str(path) == "-" else str(path)
    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CliError(f"{label}: not UTF-8 text", EXIT_USAGE) from None
    except OSError as exc:
        raise CliError(f"cannot read {label}: {exc.strerror}", EXIT_USAGE) from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise CliError(f"{label}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                           f"{exc.msg}", EXIT_USAGE) from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise CliError(f"{label}: {_yaml_error(exc)}", EXIT_USAGE) from None


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string",
            list: "a list", dict: "a mapping"}.get(type(value), type(value).__name__)


def _check_json(value: Any, where: str) -> None:
    """Only what JSON can carry (YAML also knows sets, bytes, odd keys...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CliError(f"{where}: key {key!r} must be a string", EXIT_USAGE)
            _check_json(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
    elif isinstance(value, float) and value != value:  # NaN
        raise CliError(f"{where}: not a number (.nan) cannot be sent as JSON", EXIT_USAGE)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise CliError(f"{where}: {_kind(value)} cannot be sent as JSON", EXIT_USAGE)


def check_schema(schema: Any, where: str) -> dict[str, Any] | None:
    """The shape the server needs (it checks the details): a mapping with ``fields``."""
    if schema is None:
        return None
    if not isinstance(schema, dict):
        raise CliError(f"{where}: schema must be a mapping with `fields` (or null for no "
                       f"schema), not {_kind(schema)}", EXIT_USAGE)
    _check_json(schema, f"{where}: schema")
    fields = schema.get("fields")
    if fields is not None and not isinstance(fields, dict):
        raise CliError(f"{where}: schema.fields must be a mapping of field names to "
                       f"definitions, not {_kind(fields)}", EXIT_USAGE)
    for name, spec in (fields or {}).items():
        if not isinstance(spec, dict):
            raise CliError(f"{where}: schema.fields.{name} must be a mapping, e.g. "
                           f"{{type: string}}, not {_kind(spec)}", EXIT_USAGE)
    return schema


def _check_rules(rules: Any, where: str) -> dict[str, str | None]:
    """All five rules: the file's, and null (closed) for the ones it leaves out."""
    if rules is None:
        rules = {}
    if not isinstance(rules, dict):
        raise CliError(f"{where}: rules must be a mapping of operations "
                       f"({', '.join(OPERATIONS)}) to rules, not {_kind(rules)}", EXIT_USAGE)
    for op, rule in rules.items():
        if op not in OPERATIONS:
            raise CliError(f"{where}: rules.{op}: unknown operation (expected "
                           f"{', '.join(OPERATIONS)})", EXIT_USAGE)
        if rule is not None and not isinstance(rule, str):
            raise CliError(f'{where}: rules.{op} must be a string (an expression, or "" for '
                           f"public) or null (closed), not {_kind(rule)}", EXIT_USAGE)
    return {op: rules.get(op) for op in OPERATIONS}


def _check_indexes(indexes: Any, where: str) -> list[IndexDef]:
    if indexes is None:
        return []
    if not isinstance(indexes, list):
        raise CliError(f"{where}: indexes must be a list, not {_kind(indexes)}", EXIT_USAGE)
    found: list[IndexDef] = []
    seen: set[tuple[str, ...]] = set()
    for i, index in enumerate(indexes):
        at = f"{where}: indexes[{i}]"
        if not isinstance(index, dict):
            raise CliError(f"{at} must be a mapping, e.g. {{fields: [owner, -created_at]}}",
                           EXIT_USAGE)
        for key in index:
            if key not in INDEX_KEYS:
                hint = " (the server names indexes)" if key == "name" else ""
                raise CliError(f"{at}: unknown key {key!r}{hint}; expected "
                               f"{', '.join(INDEX_KEYS)}", EXIT_USAGE)
        fields = index.get("fields")
        if (not isinstance(fields, list) or not fields
                or not all(isinstance(f, str) and f.strip("-") for f in fields)):
            raise CliError(f"{at}.fields must be a non-empty list of field names, e.g. "
                           "[owner, -created_at]", EXIT_USAGE)
        if tuple(fields) in seen:
            raise CliError(f"{at}: an index on {fields} is declared twice", EXIT_USAGE)
        seen.add(tuple(fields))
        for key in ("unique", "ttl"):
            if not isinstance(index.get(key, False), bool):
                raise CliError(f"{at}.{key} must be true or false", EXIT_USAGE)
        fields = [f.strip() for f in fields]
        found.append(IndexDef(fields=fields, unique=index.get("unique", False),
                              ttl=index.get("ttl", False)))
    return found


@dataclass
class Desired:
    """One collection as a file declares it."""

    name: str
    schema: dict[str, Any] | None
    rules: dict[str, str | None]
    indexes: list[IndexDef] = field(default_factory=list)


def parse_apply_file(content: Any, label: str) -> list[Desired]:
    """The collections of an apply file, checked; errors name the collection and field."""
    if not isinstance(content, dict) or "collections" not in content:
        raise CliError(f"{label}: expected a mapping with a `collections` list, e.g.\n"
                       "collections:\n  - name: todos\n    rules: {list: \"\"}", EXIT_USAGE)
    unknown = [k for k in content if k != "collections"]
    if unknown:
        raise CliError(f"{label}: unknown top-level key {unknown[0]!r} (expected "
                       "`collections`)", EXIT_USAGE)
    items = content["collections"]
    if items is None:
        items = []
    if not isinstance(items, list):
        raise CliError(f"{label}: `collections` must be a list, not {_kind(items)}",
                       EXIT_USAGE)
    desired: list[Desired] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise CliError(f"{label}: collections[{i}] must be a mapping with a `name`, not "
                           f"{_kind(item)}", EXIT_USAGE)
        name = item.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            shown = "missing" if name is None else repr(name)
            raise CliError(f"{label}: collections[{i}]: name {shown} is not a valid "
                           "collection name (a letter, then letters, digits or _, at most "
                           "60)", EXIT_USAGE)
        where = f"{label}: collection {name!r}"
        if name in seen:
            raise CliError(f"{where} is declared twice", EXIT_USAGE)
        seen.add(name)
        for key in item:
            if key not in COLLECTION_KEYS:
                raise CliError(f"{where}: unknown key {key!r} (expected "
                               f"{', '.join(COLLECTION_KEYS)})", EXIT_USAGE)
        desired.append(Desired(
            name=name,
            schema=check_schema(item.get("schema"), where),
            rules=_check_rules(item.get("rules"), where),
            indexes=_check_indexes(item.get("indexes"), where),
        ))
    return desired


# -- comparing ----------------------------------------------------------------------


def _index_key(index: IndexDef) -> tuple[tuple[str, ...], bool, bool]:
    return tuple(index.fields), index.unique, index.ttl


def index_text(index: IndexDef) -> str:
    flags = [f for f, on in (("unique", index.unique), ("ttl", index.ttl)) if on]
    return ",".join(index.fields) + (f" ({', '.join(flags)})" if flags else "")


# Field options whose absence means false; the server leaves them out when false.
FALSE_BY_DEFAULT = frozenset({"required", "unique", "server_owned"})
# Options holding values of the field's own type.
VALUE_OPTIONS = frozenset({"default", "min", "max"})


def _instant(value: str) -> str:
    """An RFC 3339 time as one fixed UTC form, so equal instants compare equal."""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        return value
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _canonical_value(spec: Any, value: Any) -> Any:
    """A value as a field of ``spec`` holds it (the server stores times in UTC)."""
    if not isinstance(spec, dict):
        return value
    kind = spec.get("type")
    if kind == "datetime" and isinstance(value, str):
        return _instant(value)
    if kind == "array" and isinstance(value, list):
        return [_canonical_value(spec.get("items"), item) for item in value]
    if kind == "object" and isinstance(value, dict) and isinstance(spec.get("fields"), dict):
        fields = spec["fields"]
        return {k: _canonical_value(fields.get(k), v) for k, v in value.items()}
    return value


def _canonical_field(spec: Any) -> Any:
    if not isinstance(spec, dict):
        return spec
    out: dict[str, Any] = {}
    for key, value in spec.items():
        if value is None or (key in FALSE_BY_DEFAULT and value is False) or (
                key == "additional_fields" and value is True):
            continue  # the same as leaving the option out
        if key == "items":
            value = _canonical_field(value)
        elif key == "fields" and isinstance(value, dict):
            value = {name: _canonical_field(item) for name, item in value.items()}
        elif key in VALUE_OPTIONS:
            value = _canonical_value(spec, value)
        elif key == "enum" and isinstance(value, list):
            value = [_canonical_value(spec, item) for item in value]
        out[key] = value
    return out


def canonical_schema(schema: dict[str, Any] | None) -> dict[str, Any] | None:
    """A schema with its defaults spelled out the one way the server stores them, so that
    equal schemas compare equal however they were written."""
    if schema is None:
        return None
    fields = schema.get("fields")
    out = dict(schema)
    out["fields"] = ({name: _canonical_field(spec) for name, spec in fields.items()}
                     if isinstance(fields, dict) else fields if fields is not None else {})
    out["additional_fields"] = schema.get("additional_fields", True)
    return out


def _schema_changes(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    old, new = canonical_schema(old), canonical_schema(new)
    if old == new:
        return []
    if old is None:
        return ["schema: added"]
    if new is None:
        return ["schema: removed (any fields allowed)"]
    parts: list[str] = []
    old_fields, new_fields = old.get("fields") or {}, new.get("fields") or {}
    if isinstance(old_fields, dict) and isinstance(new_fields, dict):
        added = [f"+{k}" for k in new_fields if k not in old_fields]
        removed = [f"-{k}" for k in old_fields if k not in new_fields]
        changed = [f"~{k}" for k in new_fields
                   if k in old_fields and old_fields[k] != new_fields[k]]
        if added or removed or changed:
            parts.append("fields " + " ".join(added + removed + changed))
    for key in sorted(set(old) | set(new) - {"fields"}):
        if key != "fields" and old.get(key) != new.get(key):
            parts.append(f"{key}: {json.dumps(old.get(key))} -> {json.dumps(new.get(key))}")
    return [f"schema: {'; '.join(parts) or 'changed'}"]


def plan_update(current: CollectionDef, desired: Desired) -> tuple[dict[str, Any], list[str]]:
    """The ``Collections.update`` arguments that bring ``current`` to ``desired`` (empty:
    nothing to do), and a line per change for people."""
    changes: list[str] = []
    have = current.rules.as_dict()
    ops = [op for op in OPERATIONS if have[op] != desired.rules[op]]
    changes += [f"rule {op}: {short_rule(have[op])} -> {short_rule(desired.rules[op])}"
                for op in ops]
    old_ix = {_index_key(ix): ix for ix in current.indexes}
    new_ix = {_index_key(ix): ix for ix in desired.indexes}
    index_changed = set(old_ix) != set(new_ix) or len(current.indexes) != len(old_ix)
    if index_changed:
        changes += [f"index +{index_text(ix)}" for k, ix in new_ix.items() if k not in old_ix]
        changes += [f"index -{index_text(ix)}" for k, ix in old_ix.items() if k not in new_ix]
    schema_lines = _schema_changes(current.schema_, desired.schema)
    changes += schema_lines
    update: dict[str, Any] = {}
    if ops:
        update["rules"] = {op: desired.rules[op] for op in ops}
    if index_changed:
        update["indexes"] = desired.indexes
    if schema_lines:
        update["schema"] = desired.schema
    return update, changes


def creation_summary(desired: Desired) -> list[str]:
    lines = [f"rule {op}: {short_rule(desired.rules[op])}" for op in OPERATIONS
             if desired.rules[op] is not None]
    if len(lines) < len(OPERATIONS):
        closed = [op for op in OPERATIONS if desired.rules[op] is None]
        lines.append(f"closed: {', '.join(closed)}")
    lines += [f"index +{index_text(ix)}" for ix in desired.indexes]
    if desired.schema is not None:
        lines.append(f"schema: {len(desired.schema.get('fields') or {})} fields")
    return lines


# -- applying -----------------------------------------------------------------------


@dataclass
class Outcome:
    name: str
    result: str  # created, updated, unchanged, failed; dry run: create, update, unchanged
    changes: list[str]
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "result": self.result,
                               "changes": self.changes}
        if self.error is not None:
            out["error"] = self.error
        return out


def apply_one(collections: Collections, current: CollectionDef | None, desired: Desired,
               dry_run: bool) -> Outcome:
    if current is None:
        changes = creation_summary(desired)
        if dry_run:
            return Outcome(desired.name, "create", changes)
        collections.create(desired.name, schema=desired.schema, rules=desired.rules,
                           indexes=desired.indexes)
        return Outcome(desired.name, "created", changes)
    update, changes = plan_update(current, desired)
    if not update:
        return Outcome(desired.name, "unchanged", [])
    if dry_run:
        return Outcome(desired.name, "update", changes)
    collections.update(desired.name, **update)
    return Outcome(desired.name, "updated", changes)


@contextlib.contextmanager
def progress_bar(total: int) -> Iterator[Progress | None]:
    if total < PROGRESS_MIN or not err_console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True) as progress:
        yield progress


LABELS = {"create": "would create", "update": "would update"}
STYLES = {"created": "green", "updated": "yellow", "create": "green", "update": "yellow",
          "failed": "red"}


def report(outcomes: Sequence[Outcome], label: str, project: str, dry_run: bool) -> None:
    grid = Table(title=None)
    grid.add_column("collection", no_wrap=True)
    grid.add_column("result", no_wrap=True)
    grid.add_column("changes", overflow="fold")
    for o in outcomes:
        detail = o.error if o.error is not None else "\n".join(o.changes) or "-"
        grid.add_row(Text(o.name), Text(LABELS.get(o.result, o.result),
                                        style=STYLES.get(o.result, "")), Text(detail))
    if outcomes:
        console.print(grid)
    counts = {r: sum(o.result == r for o in outcomes) for r in
              ("created", "updated", "unchanged", "failed", "create", "update")}
    if dry_run:
        say(f"Dry run of {label} on project {project}: {counts['create']} to create, "
            f"{counts['update']} to update, {counts['unchanged']} unchanged; nothing was "
            "changed.")
    else:
        failed = f", {counts['failed']} failed" if counts["failed"] else ""
        say(f"Applied {label} to project {project}: {counts['created']} created, "
            f"{counts['updated']} updated, {counts['unchanged']} unchanged{failed}.")
