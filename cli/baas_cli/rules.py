"""``baas rules``: set a collection's access rules, and check what a caller may do
(``PATCH /v1/projects/{project}/collections/{name}``, ``POST .../rules:check``)."""

from __future__ import annotations

import enum
import json
from typing import Annotated, Any

import typer
from baas_sdk import OPERATIONS

from .collections import dump, explained, rule_text, rules_table
from .errors import EXIT_USAGE, CliError, reporting
from .keys import ProjectOpt
from .output import JsonOpt, emit, say, table, warn
from .session import UrlOpt, admin_session
from .users import resolve

app = typer.Typer(
    help="Set a collection's access rules, and check whether a caller may do an operation.",
    no_args_is_help=True,
)


class Op(enum.StrEnum):
    list = "list"
    get = "get"
    create = "create"
    update = "update"
    delete = "delete"


CollectionArg = Annotated[
    str, typer.Argument(metavar="COLLECTION", show_default=False, help="The collection's name.")
]


def _rule_option(op: str) -> Any:
    return typer.Option(
        f"--{op}", metavar="EXPR", show_default=False,
        help=f'The {op} rule: an expression, or "" for public.')


def _json_object(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        data = json.loads(value)
    except json.JSONDecodeError as exc:
        raise typer.BadParameter(f"invalid JSON at column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise typer.BadParameter('expected a JSON object, e.g. \'{"title": "x"}\'')
    return value


def _loads(value: str | None) -> dict[str, Any] | None:
    return None if value is None else dict(json.loads(value))


@app.command("set")
def set_rules(
    project: ProjectOpt,
    collection: CollectionArg,
    list_rule: Annotated[str | None, _rule_option("list")] = None,
    get_rule: Annotated[str | None, _rule_option("get")] = None,
    create_rule: Annotated[str | None, _rule_option("create")] = None,
    update_rule: Annotated[str | None, _rule_option("update")] = None,
    delete_rule: Annotated[str | None, _rule_option("delete")] = None,
    public: Annotated[
        list[Op] | None,
        typer.Option("--public", metavar="OP", show_default=False,
                     help="Make OP public: anyone with the publishable key (repeatable)."),
    ] = None,
    close: Annotated[
        list[Op] | None,
        typer.Option("--close", metavar="OP", show_default=False,
                     help="Close OP: secret key or admin only (repeatable)."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Change some of a collection's rules; the operations not given keep their rule.

    A rule is an expression in the filter language (it sees the stored document's
    fields, @auth.id, @auth.email, @auth.role, @now, and @data.FIELD for the incoming
    document of a create or update); "" makes an operation public; a closed one is for
    secret keys and admins only.

    Examples:
      baas rules set -p myapp todos --list 'owner = @auth.id' --create '@auth.id != null'
      baas rules set -p myapp posts --public list --public get --close delete
    """
    given: list[tuple[str, str | None]] = [
        (op, rule) for op, rule in zip(
            OPERATIONS, (list_rule, get_rule, create_rule, update_rule, delete_rule),
            strict=True) if rule is not None]
    given += [(op.value, "") for op in public or []]
    given += [(op.value, None) for op in close or []]
    with reporting():
        if not given:
            raise CliError("nothing to change: give --list, --get, --create, --update, "
                           "--delete, --public OP or --close OP", EXIT_USAGE)
        changes: dict[str, str | None] = {}
        for op, rule in given:
            if op in changes:
                raise CliError(f"the {op} rule is given more than once", EXIT_USAGE)
            changes[op] = "" if rule is not None and not rule.strip() else rule
    with admin_session(url) as admin, explained():
        changed = admin.collections(project).update(collection, rules=changes)

    def human() -> None:
        ops = [op for op in OPERATIONS if op in changes]
        say(f"Updated the {', '.join(ops)} rule{'s' if len(ops) > 1 else ''} of "
            f"collection {changed.name} in project {project}.", style="green")
        rules_table(changed.rules.as_dict())

    emit(dump(changed), json_output, human)


@app.command("check")
def check(
    project: ProjectOpt,
    collection: CollectionArg,
    operation: Annotated[
        Op, typer.Argument(metavar="OP", show_default=False,
                           help="list, get, create, update or delete.")
    ],
    user: Annotated[
        str | None,
        typer.Option("--user", metavar="USER", show_default=False,
                     help="Check as this user: their id (usr_...) or email."),
    ] = None,
    anonymous: Annotated[
        bool,
        typer.Option("--anonymous",
                     help="Check as a caller with the publishable key and no signed-in user "
                          "(the default)."),
    ] = False,
    doc_id: Annotated[
        str | None,
        typer.Option("--id", metavar="DOC_ID", show_default=False,
                     help="The stored document the operation is on (get, list, update, "
                          "delete)."),
    ] = None,
    document: Annotated[
        str | None,
        typer.Option("--document", metavar="JSON", callback=_json_object, show_default=False,
                     help="A stored document given inline instead of --id."),
    ] = None,
    data: Annotated[
        str | None,
        typer.Option("--data", metavar="JSON", callback=_json_object, show_default=False,
                     help="The incoming document of a create or update, a JSON object."),
    ] = None,
    url: UrlOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Explain whether a caller may do an operation on a collection, and which rule
    decided. Changes nothing; the exit code is 0 whether allowed or denied.

    Examples:
      baas rules check -p myapp todos create --user ada@example.com --data '{"title": "x"}'
      baas rules check -p myapp todos get --user usr_123 --id 01J9...
      baas rules check -p myapp posts list --anonymous
    """
    with reporting():
        if user is not None and anonymous:
            raise CliError("give --user or --anonymous, not both", EXIT_USAGE)
        if doc_id is not None and document is not None:
            raise CliError("give --id or --document, not both", EXIT_USAGE)
    caller = "a caller with the publishable key only"
    with admin_session(url) as admin:
        auth: dict[str, Any] | None = None
        if user is not None:
            users = admin.users(project)
            found = users.get(resolve(users, user))
            auth = {"id": found.id, "email": found.email,
                    "role": "anonymous" if found.anonymous else "authenticated"}
            caller = f"user {found.email or 'anonymous'} ({found.id})"
            if found.disabled and not json_output:
                warn(f"User {found.id} is disabled: the server refuses all their requests.")
        with explained():
            answer = admin.collections(project).check(
                collection, operation.value, auth=auth, id=doc_id, document=_loads(document),
                data=_loads(data))

    def human() -> None:
        verdict = "ALLOWED" if answer.allowed else "DENIED"
        say(f"{verdict}: {operation.value} on {collection} for {caller}.",
            style="green" if answer.allowed else "red")
        table(None, ["", ""],
              [["rule", rule_text(answer.rule)], ["reason", answer.reason or None]])

    emit({**answer.model_dump(mode="json"), "collection": collection, "auth": auth},
         json_output, human)
