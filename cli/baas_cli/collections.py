"""``baas collections``: list, create, show and delete a project's collection definitions,
and ``apply`` a file that declares them (``/v1/projects/{project}/collections``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from baas_sdk import OPERATIONS, APIError, CollectionDef, Unauthorized
from rich.table import Table
from rich.text import Text

from .collection_file import (
    Outcome,
    access,
    apply_one,
    check_schema,
    parse_apply_file,
    progress_bar,
    read_document,
    report,
)
from .errors import EXIT_ERROR, EXIT_USAGE, CliError, fail, reporting
from .keys import ProjectOpt
from .output import JsonOpt, YesOpt, console, emit, say, table, when, yes_no
from .session import UrlOpt, admin_session

app = typer.Typer(
    help="Define a project's collections: list, create, show, delete, and apply a file "
         "that declares them (schema, rules, indexes).",
    no_args_is_help=True,
)

NameArg = Annotated[
    str, typer.Argument(metavar="NAME", show_default=False, help="The collection's name.")
]


# -- shared with `baas rules` ---------------------------------------------------------


def dump(collection: CollectionDef) -> dict[str, Any]:
    """A collection as the server sends it (``schema``, not ``schema_``)."""
    return collection.model_dump(mode="json", by_alias=True)


def rule_text(rule: str | None) -> str:
    if rule is None:
        return "closed (secret key or admin only)"
    if rule == "":
        return "public (anyone with the publishable key)"
    return rule


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
    emit([dump(c) for c in found], json_output, lambda: collections_table(found),
         empty=f"No collections in project {project}: define one with "
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

    def human() -> None:
        say(f"Created collection {made.name} in project {project}.", style="green")
        rules_table(made.rules.as_dict())

    emit(dump(made), json_output, human)


@app.command("show")
def show(project: ProjectOpt, name: NameArg, url: UrlOpt = None,
         json_output: JsonOpt = False) -> None:
    """Show a collection: its schema, its five rules and its indexes."""
    with admin_session(url) as admin:
        found = admin.collections(project).get(name)
    emit(dump(found), json_output, lambda: collection_details(found))


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
    emit({"deleted": name}, json_output, f"Deleted collection {name} from project {project}.")


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
        with progress_bar(len(desired)) as progress:
            task = progress.add_task("Applying", total=len(desired)) if progress else None
            for item in desired:
                if progress is not None and task is not None:
                    progress.update(task, description=f"Applying {item.name}")
                try:
                    outcomes.append(apply_one(collections, current.get(item.name), item,
                                              dry_run))
                except Unauthorized:
                    raise
                except APIError as exc:
                    outcomes.append(Outcome(item.name, "failed", [], explain(exc)))
                if progress is not None and task is not None:
                    progress.advance(task)
    failures = [o for o in outcomes if o.error is not None]
    emit({"project": project, "dry_run": dry_run,
          "collections": [o.as_json() for o in outcomes]},
         json_output, lambda: report(outcomes, label, project, dry_run))
    for o in failures:
        typer.echo(f"error: collection {o.name!r}: {o.error}", err=True)
    if failures:
        raise typer.Exit(EXIT_ERROR)
