"""``baas collections``: list, create, show and delete a project's collection definitions,
and ``apply`` a file that declares them (``/v1/projects/{project}/collections``)."""

from __future__ import annotations

import contextlib
import json
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from baas_sdk import APIError, CollectionDef, Unauthorized
from baas_sdk._admin import Collections, collection_changes
from baas_sdk._collection_defs import OPERATIONS, IndexDef
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from .errors import EXIT_ERROR, EXIT_USAGE, CliError, fail, reporting
from .keys import ProjectOpt
from .output import JsonOpt, YesOpt, console, err_console, print_json, say, table, when, yes_no
from .session import UrlOpt, admin_session

app = typer.Typer(
    help="Define a project's collections: list, create, show, delete, and apply a file "
         "that declares them (schema, rules, indexes).",
    no_args_is_help=True,
)

NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")
PROGRESS_MIN = 6  # a progress bar from this many collections on (on a terminal)
COLLECTION_KEYS = ("name", "schema", "rules", "indexes")
INDEX_KEYS = ("fields", "unique", "ttl")

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", show_default=False, help="The collection's name.")
]


# -- shared with `baas rules` ---------------------------------------------------------


def dump(collection: CollectionDef) -> dict[str, Any]:
    """A collection as the server sends it (``schema``, not ``schema_``)."""
    return collection.model_dump(mode="json", by_alias=True)


def access(rule: str | None) -> str:
    """One word for a rule: closed, public or rule."""
    if rule is None:
        return "closed"
    return "public" if rule == "" else "rule"


def rule_text(rule: str | None) -> str:
    if rule is None:
        return "closed (secret key or admin only)"
    if rule == "":
        return "public (anyone with the publishable key)"
    return rule


def short_rule(rule: str | None) -> str:
    return json.dumps(rule) if rule else access(rule)


def rules_table(rules: Mapping[str, str | None], title: str | None = "Rules") -> None:
    table(title, ["operation", "access", "rule"],
          ([op, access(rules.get(op)), rule_text(rules.get(op))] for op in OPERATIONS))


def explain(exc: APIError) -> str:
    """The server's message, with the per-field errors it lists when they add anything."""
    text = exc.message
    errors = exc.details.get("errors")
    if isinstance(errors, list):
        extra = []
        for error in errors:
            if not isinstance(error, dict) or not error.get("message"):
                continue
            where = error.get("field") or error.get("path")
            line = f"{where}: {error['message']}" if where else str(error["message"])
            if line not in text and str(error["message"]) not in text:
                extra.append(line)
        if extra:
            text = f"{text}; {'; '.join(extra)}"
    return text


@contextlib.contextmanager
def explained(prefix: str = "") -> Iterator[None]:
    """Report a refused request with the server's whole explanation (exit code 1)."""
    try:
        yield
    except Unauthorized:
        raise
    except APIError as exc:
        fail(CliError(f"{prefix}{explain(exc)}", EXIT_ERROR))


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
    """The PATCH body that brings ``current`` to ``desired`` (empty: nothing to do), and a
    line per change for people."""
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
    body = collection_changes(
        rules={op: desired.rules[op] for op in ops} if ops else None,
        indexes=desired.indexes if index_changed else None,
        **({"schema": desired.schema} if schema_lines else {}),
    )
    return body, changes


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


# -- output -------------------------------------------------------------------------


def collections_table(collections: Sequence[CollectionDef]) -> None:
    grid = Table(title=None)
    grid.add_column("name", no_wrap=True)
    for op in OPERATIONS:
        grid.add_column(op)
    grid.add_column("indexes", justify="right")
    grid.add_column("schema")
    for c in collections:
        rules = c.rules.as_dict()
        grid.add_row(Text(c.name), *(Text(access(rules[op])) for op in OPERATIONS),
                     Text(str(len(c.indexes))), Text(yes_no(c.schema_ is not None)))
    console.print(grid)


def _field_row(name: str, spec: Any) -> list[Any]:
    if not isinstance(spec, dict):
        return [name, None, None, json.dumps(spec)]
    rest = {k: v for k, v in spec.items() if k not in ("type", "required")}
    more = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in rest.items())
    return [name, spec.get("type"), yes_no(bool(spec.get("required"))), more or None]


def collection_details(c: CollectionDef) -> None:
    table(f"Collection {c.name}", ["", ""], [
        ["name", c.name],
        ["created", when(c.created_at)],
        ["updated", when(c.updated_at)],
        ["version", c.version],
    ])
    schema = c.schema_
    if schema is None:
        say("Schema: none (documents may hold any fields).")
    else:
        fields = schema.get("fields")
        if isinstance(fields, dict) and fields:
            table("Schema", ["field", "type", "required", "constraints"],
                  (_field_row(name, spec) for name, spec in fields.items()))
        else:
            say("Schema: no fields declared.")
        extra = {k: v for k, v in schema.items() if k != "fields"}
        additional = extra.pop("additional_fields", True)
        say(f"Additional fields: {'allowed' if additional else 'refused'}.")
        for key, value in extra.items():
            say(f"Schema {key}: {json.dumps(value, ensure_ascii=False)}")
    rules_table(c.rules.as_dict())
    if c.indexes:
        table("Indexes", ["name", "fields", "unique", "ttl", "status"],
              ([ix.name, ", ".join(ix.fields), yes_no(ix.unique), yes_no(ix.ttl),
                f"{ix.status}: {ix.error}" if ix.error else ix.status]
               for ix in c.indexes))
    else:
        say("Indexes: none.")


# -- commands -----------------------------------------------------------------------


@app.command("list")
def list_collections(project: ProjectOpt, url: UrlOpt = None,
                     json_output: JsonOpt = False) -> None:
    """List a project's collections, by name: who may do what, index count, schema.

    Access per operation: closed (secret key or admin only), public (anyone with the
    publishable key) or rule (allowed where the rule's expression is true).
    """
    with admin_session(url) as admin:
        found = admin.collections(project).list()
    if json_output:
        print_json([dump(c) for c in found])
    elif found:
        collections_table(found)
    else:
        say(f"No collections in project {project}: define one with "
            "`baas collections create` or `baas collections apply`.")


def _check_rule_option(values: list[str] | None) -> list[str] | None:
    seen: set[str] = set()
    for value in values or []:
        op, sep, _ = value.partition("=")
        op = op.strip()
        if not sep or op not in OPERATIONS:
            raise typer.BadParameter(
                f"{value!r}: expected OP=EXPR with OP one of {', '.join(OPERATIONS)}, e.g. "
                "'list=owner = @auth.id' (an empty EXPR, 'list=', makes it public)")
        if op in seen:
            raise typer.BadParameter(f"the {op} rule is given twice")
        seen.add(op)
    return values


def parse_rules(values: list[str] | None) -> dict[str, str | None] | None:
    if not values:
        return None
    return {op.strip(): rule.strip() for op, _, rule in (v.partition("=") for v in values)}


@app.command("create")
def create(
    project: ProjectOpt,
    name: NameArg,
    schema_file: Annotated[
        Path | None,
        typer.Option("--schema", exists=True, dir_okay=False, show_default=False,
                     metavar="FILE",
                     help="The schema, a JSON (.json) or YAML file: "
                          "{fields: {...}, additional_fields: ...} (default: none, any "
                          "fields)."),
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option("--rule", callback=_check_rule_option, show_default=False,
                     metavar="OP=EXPR",
                     help="A rule, e.g. --rule 'list=owner = @auth.id'; OP is list, get, "
                          "create, update or delete; an empty EXPR ('get=') makes it public. "
                          "Repeat for several; operations not given are closed."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Define a collection, optionally with a schema and rules.

    Operations without a rule are closed: only a secret key or an admin may use them.

    Examples:
      baas collections create -p myapp todos
      baas collections create -p myapp todos --schema todos.schema.yaml \\
          --rule 'list=owner = @auth.id' --rule 'create=@auth.id != null'
      baas collections create -p myapp posts --rule list= --rule get=
    """
    with reporting():
        schema = None
        if schema_file is not None:
            schema = check_schema(read_document(schema_file), str(schema_file))
            if schema is None:
                raise CliError(f"{schema_file}: the file is empty", EXIT_USAGE)
    with admin_session(url) as admin, explained():
        made = admin.collections(project).create(name, schema=schema, rules=parse_rules(rule))
    if json_output:
        print_json(dump(made))
    else:
        say(f"Created collection {made.name} in project {project}.", style="green")
        rules_table(made.rules.as_dict())


@app.command("show")
def show(project: ProjectOpt, name: NameArg, url: UrlOpt = None,
         json_output: JsonOpt = False) -> None:
    """Show a collection: its schema, its five rules and its indexes."""
    with admin_session(url) as admin:
        found = admin.collections(project).get(name)
    if json_output:
        print_json(dump(found))
    else:
        collection_details(found)


@app.command("delete")
def delete(
    project: ProjectOpt,
    name: NameArg,
    yes: YesOpt = False,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Delete a collection and all its documents. This cannot be undone."""
    if not yes:
        typer.confirm(f"Delete collection '{name}' of project '{project}' and all its "
                      "documents? This cannot be undone", abort=True)
    with admin_session(url) as admin:
        admin.collections(project).delete(name)
    if json_output:
        print_json({"deleted": name})
    else:
        say(f"Deleted collection {name} from project {project}.")


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


def _apply_one(collections: Collections, current: CollectionDef | None, desired: Desired,
               dry_run: bool) -> Outcome:
    if current is None:
        changes = creation_summary(desired)
        if dry_run:
            return Outcome(desired.name, "create", changes)
        collections.create(desired.name, schema=desired.schema, rules=desired.rules,
                           indexes=desired.indexes)
        return Outcome(desired.name, "created", changes)
    body, changes = plan_update(current, desired)
    if not body:
        return Outcome(desired.name, "unchanged", [])
    if dry_run:
        return Outcome(desired.name, "update", changes)
    collections.update(desired.name, **_update_kwargs(body))
    return Outcome(desired.name, "updated", changes)


def _update_kwargs(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("schema", "rules", "indexes") if k in body}


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Progress | None]:
    if total < PROGRESS_MIN or not err_console.is_terminal:
        yield None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, transient=True) as progress:
        yield progress


LABELS = {"create": "would create", "update": "would update"}
STYLES = {"created": "green", "updated": "yellow", "create": "green", "update": "yellow",
          "failed": "red"}


def _report(outcomes: Sequence[Outcome], label: str, project: str, dry_run: bool) -> None:
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


@app.command("apply")
def apply(
    project: ProjectOpt,
    file: Annotated[
        str,
        typer.Argument(show_default=False, metavar="FILE",
                       help="YAML or JSON (.json) file with a `collections` list; - reads "
                            "stdin."),
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; change nothing.")
    ] = False,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Make the project's collections match a file: create the missing ones, update the
    others to the file's schema, rules and indexes. Idempotent: running it again changes
    nothing.

    For each collection in the file: all five rules are set as written (an operation left
    out is closed), the indexes are exactly the listed ones, and the schema is the file's
    (none when left out). Collections not in the file are left alone.

    Example file:
      collections:
        - name: todos
          schema:
            fields:
              title: {type: string, required: true, max_length: 200}
            additional_fields: false
          rules:
            list: "owner = @auth.id"
            create: "@auth.id != null"
          indexes:
            - fields: \\[owner, -created_at]
        - name: posts
          rules: {list: "", get: ""}

    Examples:
      baas collections apply -p myapp collections.yaml --dry-run
      baas collections apply -p myapp collections.yaml
    """
    label = "stdin" if file == "-" else file
    with reporting():
        desired = parse_apply_file(read_document(Path(file)), label)
    outcomes: list[Outcome] = []
    with admin_session(url) as admin:
        collections = admin.collections(project)
        current = {c.name: c for c in collections.list()}
        with _progress(len(desired)) as progress:
            task = progress.add_task("Applying", total=len(desired)) if progress else None
            for item in desired:
                if progress is not None and task is not None:
                    progress.update(task, description=f"Applying {item.name}")
                try:
                    outcomes.append(_apply_one(collections, current.get(item.name), item,
                                               dry_run))
                except Unauthorized:
                    raise
                except APIError as exc:
                    outcomes.append(Outcome(item.name, "failed", [], explain(exc)))
                if progress is not None and task is not None:
                    progress.advance(task)
    failures = [o for o in outcomes if o.error is not None]
    if json_output:
        print_json({"project": project, "dry_run": dry_run,
                    "collections": [o.as_json() for o in outcomes]})
    else:
        _report(outcomes, label, project, dry_run)
    for o in failures:
        typer.echo(f"error: collection {o.name!r}: {o.error}", err=True)
    if failures:
        raise typer.Exit(EXIT_ERROR)
