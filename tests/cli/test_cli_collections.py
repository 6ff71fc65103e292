"""`baas collections` and `baas rules`: the real CLI against a real `baas serve` (both
engines), with a real admin login."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2
import pytest
from baas_cli import config
from baas_cli.main import app
from baas_sdk import CollectionDef
from typer.testing import CliRunner, Result

from tests.sdk.test_admin_collections import ADMIN_EMAIL, Backend
from tests.sdk.test_admin_collections import backend as backend  # noqa: F401 - the fixture

runner = CliRunner()

TODOS_YAML = """\
collections:
  - name: todos
    schema:
      fields:
        title: {type: string, required: true, max_length: 200}
        done: {type: boolean, default: false}
        owner: {type: string, server_owned: true, value: "@auth.id"}
      additional_fields: false
    rules:
      list: "owner = @auth.id"
      get: "owner = @auth.id"
      create: "@auth.id != null"
      update: "owner = @auth.id"
      delete: "owner = @auth.id"
    indexes:
      - fields: [owner, -created_at]
  - name: posts
    rules: {list: "", get: "", create: "@auth.id != null",
            update: "owner = @auth.id", delete: "owner = @auth.id"}
"""


@dataclass
class Ctx:
    backend: Backend
    project: str
    keys: dict[str, str]
    tmp: Path

    def run(self, *args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input)

    def ok(self, *args: str, input: str | None = None) -> Result:
        result = self.run(*args, input=input)
        assert result.exit_code == 0, (result.stdout, result.stderr)
        assert "Traceback" not in result.output
        return result

    def json(self, *args: str, input: str | None = None) -> Any:
        return json.loads(self.ok(*args, "--json", input=input).stdout)

    def file(self, name: str, text: str) -> str:
        path = self.tmp / name
        path.write_text(text, encoding="utf-8")
        return str(path)

    def get(self, name: str) -> CollectionDef:
        with self.backend.admin() as client:
            return client.admin.collections(self.project).get(name)

    def names(self) -> list[str]:
        with self.backend.admin() as client:
            return [c.name for c in client.admin.collections(self.project).list()]


@pytest.fixture
def ctx(backend: Backend, isolated_env: Path, tmp_path: Path,  # noqa: F811
        monkeypatch: pytest.MonkeyPatch) -> Ctx:
    config.save_config({"url": backend.url, "token": backend.token, "email": ADMIN_EMAIL,
                        "expires_at": "2999-01-01T00:00:00Z"}, isolated_env)
    monkeypatch.setenv("COLUMNS", "200")  # wide tables: one row per line
    project, keys = backend.new_project()
    return Ctx(backend, project, keys, tmp_path)


def failed(result: Result, code: int, *needles: str) -> None:
    assert result.exit_code == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("error: "), result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def row(stdout: str, first: str) -> list[str]:
    """The cells of the table row that starts with ``first``."""
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.strip().strip("│┃|").split("│")]
        if cells and cells[0] == first:
            return cells
    raise AssertionError(f"no row {first!r} in\n{stdout}")


def results(outcome: Any) -> dict[str, str]:
    return {c["name"]: c["result"] for c in outcome["collections"]}


# -- help ---------------------------------------------------------------------------

COMMANDS: Sequence[list[str]] = [
    ["collections"], ["collections", "list"], ["collections", "create"],
    ["collections", "show"], ["collections", "delete"], ["collections", "apply"],
    ["rules"], ["rules", "set"], ["rules", "check"],
]


@pytest.mark.parametrize("argv", COMMANDS, ids=" ".join)
def test_help(argv: list[str]) -> None:
    result = runner.invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout
    if len(argv) == 2:
        assert "--json" in result.stdout and "--project" in result.stdout
    if argv[-1] in ("create", "apply", "set", "check"):
        assert "Examples:" in result.stdout and "baas " in result.stdout


# -- create, list, show, delete -----------------------------------------------------


def test_create_list_show_delete(ctx: Ctx) -> None:
    schema = ctx.file("todo.schema.yaml", """\
fields:
  title: {type: string, required: true, max_length: 200}
  done: {type: boolean, default: false}
additional_fields: false
""")
    made = ctx.ok("collections", "create", "-p", ctx.project, "todos", "--schema", schema,
                  "--rule", "list=owner = @auth.id", "--rule", "create=@auth.id != null",
                  "--rule", "get=")
    assert f"Created collection todos in project {ctx.project}." in made.stdout
    assert row(made.stdout, "list")[1:] == ["rule", "owner = @auth.id"]
    assert row(made.stdout, "get")[1] == "public"
    assert row(made.stdout, "delete")[1] == "closed"

    as_json = ctx.json("collections", "create", "-p", ctx.project, "posts",
                       "--schema", ctx.file("s.json", '{"fields": {"t": {"type": "string"}}}'))
    assert as_json["name"] == "posts" and as_json["schema"]["fields"]["t"]["type"] == "string"
    assert as_json["rules"] == dict.fromkeys(("list", "get", "create", "update", "delete"))
    ctx.ok("collections", "create", "-p", ctx.project, "bare")

    listed = ctx.json("collections", "list", "-p", ctx.project)
    assert [c["name"] for c in listed] == ["bare", "posts", "todos"]
    table = ctx.ok("collections", "list", "-p", ctx.project).stdout
    for column in ("name", "list", "get", "create", "update", "delete", "indexes", "schema"):
        assert column in table
    assert row(table, "todos")[1:] == ["rule", "public", "rule", "closed", "closed", "0", "yes"]
    assert row(table, "bare")[1:] == ["closed"] * 5 + ["0", "no"]

    shown = ctx.json("collections", "show", "-p", ctx.project, "todos")
    assert shown["rules"]["list"] == "owner = @auth.id" and shown["version"] == 1
    assert set(shown["schema"]["fields"]) == {"title", "done"}
    human = ctx.ok("collections", "show", "-p", ctx.project, "todos").stdout
    assert row(human, "title")[1:3] == ["string", "yes"] and "max_length=200" in human
    assert row(human, "done")[1:3] == ["boolean", "no"] and "default=false" in human
    assert "Additional fields: refused." in human
    assert row(human, "create")[1:] == ["rule", "@auth.id != null"]
    assert row(human, "update")[1:] == ["closed", "closed (secret key or admin only)"]
    assert "Indexes: none." in human
    assert "Schema: none" in ctx.ok("collections", "show", "-p", ctx.project, "bare").stdout

    failed(ctx.run("collections", "create", "-p", ctx.project, "todos"), 1, "already exists")
    failed(ctx.run("collections", "show", "-p", ctx.project, "nope"), 1, "no collection")
    failed(ctx.run("collections", "list", "-p", "no-such-project"), 1)

    declined = ctx.run("collections", "delete", "-p", ctx.project, "bare", input="n\n")
    assert declined.exit_code == 1
    assert f"Delete collection 'bare' of project '{ctx.project}'" in declined.output
    assert "bare" in ctx.names()
    gone = ctx.ok("collections", "delete", "-p", ctx.project, "bare", input="y\n")
    assert f"Deleted collection bare from project {ctx.project}." in gone.stdout
    assert ctx.json("collections", "delete", "-p", ctx.project, "posts", "--yes") == {
        "deleted": "posts"}
    assert ctx.names() == ["todos"]
    failed(ctx.run("collections", "delete", "-p", ctx.project, "posts", "--yes"), 1,
           "no collection")


def test_create_usage_errors_exit_2(ctx: Ctx) -> None:
    for argv in (["--rule", "list"], ["--rule", "lst=x"], ["--rule", "get=", "--rule", "get=a"],
                 ["--schema", str(ctx.tmp / "missing.yaml")]):
        result = ctx.run("collections", "create", "-p", ctx.project, "todos", *argv)
        assert result.exit_code == 2, (argv, result.output)
    bad = ctx.file("bad.yaml", "fields: [title]\n")
    failed(ctx.run("collections", "create", "-p", ctx.project, "todos", "--schema", bad), 2,
           "schema.fields must be a mapping")
    broken = ctx.file("broken.json", '{"fields": {')
    failed(ctx.run("collections", "create", "-p", ctx.project, "todos", "--schema", broken),
           2, "invalid JSON at line 1")
    assert ctx.names() == []


def test_server_refusals_show_the_servers_message(ctx: Ctx) -> None:
    result = ctx.run("collections", "create", "-p", ctx.project, "todos",
                     "--rule", "list=owner = = @auth.id")
    failed(result, 1, "rules.list", "column")
    schema = ctx.file("s.yaml", "fields:\n  title: {type: strin}\n")
    failed(ctx.run("collections", "create", "-p", ctx.project, "todos", "--schema", schema),
           1, "schema is not valid", "fields.title")
    failed(ctx.run("collections", "create", "-p", ctx.project, "9lives"), 1, "name")
    assert ctx.names() == []


# -- apply --------------------------------------------------------------------------


def test_apply_creates_then_is_unchanged_without_writing(ctx: Ctx) -> None:
    path = ctx.file("collections.yaml", TODOS_YAML)
    first = ctx.ok("collections", "apply", "-p", ctx.project, path)
    assert row(first.stdout, "todos")[1] == "created"
    assert row(first.stdout, "posts")[1] == "created"
    assert "2 created, 0 updated, 0 unchanged" in first.stdout

    todos, posts = ctx.get("todos"), ctx.get("posts")
    assert todos.rules.as_dict() == {
        "list": "owner = @auth.id", "get": "owner = @auth.id", "create": "@auth.id != null",
        "update": "owner = @auth.id", "delete": "owner = @auth.id"}
    assert [ix.fields for ix in todos.indexes] == [["owner", "-created_at"]]
    assert todos.schema_ is not None and todos.schema_["additional_fields"] is False
    assert set(todos.schema_["fields"]) == {"title", "done", "owner"}
    assert posts.rules.list == "" and posts.rules.get == "" and posts.schema_ is None

    second = ctx.json("collections", "apply", "-p", ctx.project, path)
    assert second["dry_run"] is False and second["project"] == ctx.project
    assert results(second) == {"todos": "unchanged", "posts": "unchanged"}
    assert all(c["changes"] == [] for c in second["collections"])
    for before in (todos, posts):
        after = ctx.get(before.name)
        assert (after.version, after.updated_at) == (before.version, before.updated_at)
    human = ctx.ok("collections", "apply", "-p", ctx.project, path)
    assert "0 created, 0 updated, 2 unchanged" in human.stdout
    assert ctx.get("todos").version == todos.version

    # The same state written differently (defaults spelled out, JSON, stdin) is unchanged.
    spelled = {"collections": [
        {"name": "posts", "schema": None, "indexes": [],
         "rules": {"list": "", "get": "", "create": "@auth.id != null",
                   "update": "owner = @auth.id", "delete": "owner = @auth.id"}},
        {"name": "todos",
         "schema": {"fields": {
             "title": {"type": "string", "required": True, "max_length": 200,
                       "unique": False},
             "done": {"type": "boolean", "default": False, "required": False},
             "owner": {"type": "string", "server_owned": True, "value": "@auth.id"}},
             "additional_fields": False},
         "rules": todos.rules.as_dict(),
         "indexes": [{"fields": ["owner", "-created_at"], "unique": False, "ttl": False}]},
    ]}
    same = ctx.json("collections", "apply", "-p", ctx.project,
                    ctx.file("same.json", json.dumps(spelled)))
    assert results(same) == {"posts": "unchanged", "todos": "unchanged"}
    piped = ctx.json("collections", "apply", "-p", ctx.project, "-", input=TODOS_YAML)
    assert results(piped) == {"todos": "unchanged", "posts": "unchanged"}
    assert ctx.get("todos").version == todos.version


def test_apply_changes_only_what_changed(ctx: Ctx) -> None:
    path = ctx.file("collections.yaml", TODOS_YAML)
    ctx.ok("collections", "apply", "-p", ctx.project, path)
    todos, posts = ctx.get("todos"), ctx.get("posts")

    changed = TODOS_YAML.replace('create: "@auth.id != null"\n      update',
                                 'create: "@auth.role = \\"authenticated\\""\n      update')
    assert changed != TODOS_YAML
    path = ctx.file("collections.yaml", changed)

    dry = ctx.ok("collections", "apply", "-p", ctx.project, path, "--dry-run")
    assert row(dry.stdout, "todos")[1] == "would update"
    assert 'rule create: "@auth.id != null" -> "@auth.role = \\"authenticated\\""' in dry.stdout
    assert row(dry.stdout, "posts")[1] == "unchanged"
    assert "nothing was changed" in dry.stdout
    dry_json = ctx.json("collections", "apply", "-p", ctx.project, path, "--dry-run")
    assert dry_json["dry_run"] is True
    assert results(dry_json) == {"todos": "update", "posts": "unchanged"}
    assert ctx.get("todos").version == todos.version  # a dry run writes nothing

    applied = ctx.json("collections", "apply", "-p", ctx.project, path)
    assert results(applied) == {"todos": "updated", "posts": "unchanged"}
    [todo_changes] = [c["changes"] for c in applied["collections"] if c["name"] == "todos"]
    assert todo_changes == [
        'rule create: "@auth.id != null" -> "@auth.role = \\"authenticated\\""']
    after = ctx.get("todos")
    assert todos.version is not None and after.version == todos.version + 1
    assert after.rules.create == '@auth.role = "authenticated"'
    assert {op: r for op, r in after.rules.as_dict().items() if op != "create"} == {
        op: r for op, r in todos.rules.as_dict().items() if op != "create"}
    assert after.schema_ == todos.schema_
    assert [(ix.name, ix.fields) for ix in after.indexes] == [
        (ix.name, ix.fields) for ix in todos.indexes]
    assert ctx.get("posts").version == posts.version
    again = ctx.json("collections", "apply", "-p", ctx.project, path)
    assert results(again) == {"todos": "unchanged", "posts": "unchanged"}

    # Leaving things out of the file closes rules, drops indexes and the schema.
    slim = ctx.file("slim.yaml", 'collections:\n  - name: todos\n    rules: {get: ""}\n')
    preview = ctx.ok("collections", "apply", "-p", ctx.project, slim, "--dry-run").stdout
    for change in ("rule list:", "rule get:", "index -owner,-created_at",
                   "schema: removed"):
        assert change in preview
    ctx.ok("collections", "apply", "-p", ctx.project, slim)
    slimmed = ctx.get("todos")
    assert slimmed.rules.as_dict() == {"list": None, "get": "", "create": None,
                                       "update": None, "delete": None}
    assert slimmed.indexes == [] and slimmed.schema_ is None
    assert after.version is not None
    assert slimmed.version == after.version + 1  # one PATCH for everything

    # A schema change and a new unique index.
    grown = ctx.file("grown.yaml", """\
collections:
  - name: todos
    schema:
      fields:
        title: {type: string}
        tags: {type: array, items: {type: string}}
        due: {type: datetime, default: 2030-01-01T01:00:00+01:00, required: false}
    rules: {get: ""}
    indexes: [{fields: [title], unique: true}]
""")
    result = ctx.json("collections", "apply", "-p", ctx.project, grown)
    [item] = result["collections"]
    assert item["result"] == "updated"
    assert "index +title (unique)" in item["changes"]
    assert "schema: added" in item["changes"]
    final = ctx.get("todos")
    assert [(ix.fields, ix.unique) for ix in final.indexes] == [(["title"], True)]
    assert final.schema_ is not None
    assert final.schema_["fields"]["due"]["default"].startswith("2030-01-01T00:00:00")
    # The server keeps the time in UTC; the same instant still compares equal.
    assert results(ctx.json("collections", "apply", "-p", ctx.project, grown)) == {
        "todos": "unchanged"}


def test_dry_run_creates_nothing(ctx: Ctx) -> None:
    path = ctx.file("collections.yaml", TODOS_YAML)
    result = ctx.ok("collections", "apply", "-p", ctx.project, path, "--dry-run")
    assert row(result.stdout, "todos")[1] == "would create"
    assert row(result.stdout, "posts")[1] == "would create"
    assert "index +owner,-created_at" in result.stdout
    assert "2 to create, 0 to update, 0 unchanged; nothing was changed" in result.stdout
    assert results(ctx.json("collections", "apply", "-p", ctx.project, path,
                            "--dry-run")) == {"todos": "create", "posts": "create"}
    assert ctx.names() == []


BAD_FILES = [
    ("collections:\n  - name: todos\n    rules: {list: x\n", "invalid YAML at line 5"),
    ("collections:\n  - name: todos\n    rules: {create: @auth.id != null}\n",
     "invalid YAML at line 4, column 21: found character '@' that cannot start any token"),
    ("collections:\n  - name: todos\n    rules: {create: @auth.id != null}\n",
     "quote a value that starts with @"),
    ('collections:\n  - name: todos\n    rules:\n      list: ""\n      list: x\n',
     "duplicate key 'list'"),
    ("collections:\n  - name: todos\n    rules: {lst: x}\n",
     "collection 'todos': rules.lst: unknown operation"),
    ("collections:\n  - name: todos\n    rules: {list: true}\n",
     "collection 'todos': rules.list must be a string"),
    ("collections:\n  - name: todos\n    indexes: [{fields: []}]\n",
     "collection 'todos': indexes[0].fields must be a non-empty list"),
    ("collections:\n  - name: todos\n    indexes: [{fields: [a], name: ix}]\n",
     "collection 'todos': indexes[0]: unknown key 'name' (the server names indexes)"),
    ("collections:\n  - name: todos\n    schema: [title]\n",
     "collection 'todos': schema must be a mapping"),
    ("collections:\n  - name: todos\n    schema: {fields: {title: string}}\n",
     "collection 'todos': schema.fields.title must be a mapping"),
    ("collections:\n  - name: todos\n    shema: {}\n", "collection 'todos': unknown key 'shema'"),
    ("collections:\n  - name: todos\n  - name: todos\n", "collection 'todos' is declared twice"),
    ("collections:\n  - rules: {}\n", "collections[1]: name missing"),
    ("collections:\n  - name: 9lives\n", "collections[1]: name '9lives' is not a valid"),
    ("todos:\n  rules: {}\n", "expected a mapping with a `collections` list"),
    ("collections: {todos: {}}\n", "`collections` must be a list"),
]


@pytest.mark.parametrize(("text", "message"), BAD_FILES, ids=[m for _, m in BAD_FILES])
def test_bad_files_are_usage_errors_before_any_write(ctx: Ctx, text: str,
                                                     message: str) -> None:
    if text.startswith("collections:\n  -"):  # a valid collection first: not created either
        text = text.replace("collections:\n", "collections:\n  - name: first\n", 1)
    path = ctx.file("collections.yaml", text)
    result = ctx.run("collections", "apply", "-p", ctx.project, path)
    failed(result, 2, str(path), message)
    assert ctx.names() == []  # not even the valid collection before the bad one


def test_bad_json_file_names_the_line(ctx: Ctx) -> None:
    path = ctx.file("c.json", '{"collections": [\n  {"name": "todos",}\n]}')
    failed(ctx.run("collections", "apply", "-p", ctx.project, path), 2,
           "invalid JSON at line 2")


def test_bad_rule_expression_names_the_collection(ctx: Ctx) -> None:
    path = ctx.file("collections.yaml", """\
collections:
  - name: good
    rules: {list: ""}
  - name: todos
    rules: {list: "owner = = @auth.id"}
  - name: broken
    schema: {fields: {n: {type: nope}}}
""")
    result = ctx.run("collections", "apply", "-p", ctx.project, path)
    failed(result, 1, "collection 'todos':", "rules.list", "column",
           "collection 'broken':", "fields.n")
    assert row(result.stdout, "good")[1] == "created"
    assert row(result.stdout, "todos")[1] == "failed"
    assert "1 created, 0 updated, 0 unchanged, 2 failed" in result.stdout
    assert ctx.names() == ["good"]

    as_json = ctx.run("collections", "apply", "-p", ctx.project, path, "--json")
    assert as_json.exit_code == 1
    outcome = json.loads(as_json.stdout)
    assert results(outcome) == {"good": "unchanged", "todos": "failed", "broken": "failed"}
    [error] = [c["error"] for c in outcome["collections"] if c["name"] == "todos"]
    assert "rules.list" in error and "column" in error


def test_apply_many_collections(ctx: Ctx) -> None:
    names = [f"c{n:02d}" for n in range(8)]
    text = "collections:\n" + "".join(f"  - name: {n}\n    rules: {{get: ''}}\n" for n in names)
    path = ctx.file("many.yaml", text)
    assert set(results(ctx.json("collections", "apply", "-p", ctx.project, path)).values()) == {
        "created"}
    assert ctx.names() == names
    assert set(results(ctx.json("collections", "apply", "-p", ctx.project, path)).values()) == {
        "unchanged"}


# -- rules --------------------------------------------------------------------------


def test_rules_set(ctx: Ctx) -> None:
    ctx.ok("collections", "create", "-p", ctx.project, "todos", "--rule", "update=x = 1")
    result = ctx.ok("rules", "set", "-p", ctx.project, "todos", "--list", "owner = @auth.id",
                    "--create", "@auth.id != null", "--public", "get")
    assert "Updated the list, get, create rules of collection todos" in result.stdout
    assert row(result.stdout, "get")[1] == "public"
    assert row(result.stdout, "update")[1:] == ["rule", "x = 1"]  # not given: kept
    changed = ctx.json("rules", "set", "-p", ctx.project, "todos", "--close", "update",
                       "--delete", "", "--get", "  ")
    assert changed["rules"] == {"list": "owner = @auth.id", "get": "", "create":
                                "@auth.id != null", "update": None, "delete": ""}

    for argv in ([], ["--list", "a = 1", "--public", "list"], ["--close", "get", "--get", ""],
                 ["--public", "nope"]):
        result = ctx.run("rules", "set", "-p", ctx.project, "todos", *argv)
        assert result.exit_code == 2, (argv, result.output)
    failed(ctx.run("rules", "set", "-p", ctx.project, "todos", "--get", "owner ="), 1,
           "rules.get", "column")
    failed(ctx.run("rules", "set", "-p", ctx.project, "nope", "--get", ""), 1, "no collection")
    assert ctx.get("todos").version == 3  # the refused changes wrote nothing


def test_rules_check(ctx: Ctx) -> None:
    ctx.ok("collections", "create", "-p", ctx.project, "todos",
           "--rule", "get=owner = @auth.id", "--rule", "create=@data.title != null",
           "--rule", "list=@auth.role = \"authenticated\"", "--rule", "update=owner = @auth.id")
    with ctx.backend.admin() as client:
        users = client.admin.users(ctx.project)
        ada = users.create("ada@example.com", "a long password")
    stored = httpx2.post(
        f"{ctx.backend.url}/v1/projects/{ctx.project}/collections/todos/documents",
        headers={"apikey": ctx.keys["secret"]}, json={"owner": ada.id, "title": "x"},
        timeout=30)
    assert stored.status_code == 201, stored.text
    doc = stored.json()["id"]

    allowed = ctx.ok("rules", "check", "-p", ctx.project, "todos", "get",
                     "--user", "ADA@example.com", "--id", doc)
    assert f"ALLOWED: get on todos for user ada@example.com ({ada.id})." in allowed.stdout
    assert row(allowed.stdout, "rule")[1] == "owner = @auth.id"
    assert row(allowed.stdout, "reason")[1]
    answer = ctx.json("rules", "check", "-p", ctx.project, "todos", "get", "--user", ada.id,
                      "--id", doc)
    assert answer["allowed"] is True and answer["rule"] == "owner = @auth.id"
    assert answer["auth"] == {"id": ada.id, "email": "ada@example.com",
                              "role": "authenticated"}

    denied = ctx.ok("rules", "check", "-p", ctx.project, "todos", "get", "--anonymous",
                    "--id", doc)
    assert "DENIED: get on todos for a caller with the publishable key only." in denied.stdout
    inline = ctx.json("rules", "check", "-p", ctx.project, "todos", "get", "--user", ada.id,
                      "--document", '{"owner": "someone else"}')
    assert inline["allowed"] is False and inline["auth"]["id"] == ada.id

    create = ctx.json("rules", "check", "-p", ctx.project, "todos", "create",
                      "--data", '{"title": "t"}')
    assert (create["allowed"], create["rule"]) == (True, "@data.title != null")
    assert ctx.json("rules", "check", "-p", ctx.project, "todos", "create",
                    "--data", '{"other": 1}')["allowed"] is False
    assert ctx.json("rules", "check", "-p", ctx.project, "todos", "list",
                    "--user", ada.id)["allowed"] is True
    update = ctx.json("rules", "check", "-p", ctx.project, "todos", "update", "--user", ada.id,
                      "--id", doc, "--data", '{"title": "new"}')
    assert update["allowed"] is True
    closed = ctx.ok("rules", "check", "-p", ctx.project, "todos", "delete", "--user", ada.id)
    assert "DENIED" in closed.stdout
    assert row(closed.stdout, "rule")[1] == "closed (secret key or admin only)"

    for argv in (["--user", ada.id, "--anonymous"], ["--id", doc, "--document", "{}"],
                 ["--data", "[1]"], ["--data", "{nope"]):
        result = ctx.run("rules", "check", "-p", ctx.project, "todos", "get", *argv)
        assert result.exit_code == 2, (argv, result.output)
    assert ctx.run("rules", "check", "-p", ctx.project, "todos", "read").exit_code == 2
    failed(ctx.run("rules", "check", "-p", ctx.project, "todos", "get", "--user",
                   "nobody@example.com"), 1, "no user with email")
    failed(ctx.run("rules", "check", "-p", ctx.project, "nope", "get"), 1, "no collection")
    failed(ctx.run("rules", "check", "-p", ctx.project, "todos", "get", "--id", "missing"), 1,
           "missing")
