"""Collection definitions: name, optional schema, the five rules and declared indexes.

Definitions live in the project database, collection ``collection_defs``, one record
per collection with the name as id. Documents of collection ``posts`` live in the
store collection ``d_posts``, so user collections never meet the platform's own
(``users``, ``sessions``, ...). A parsed definition is cached per process by name
and version, so a request parses nothing, and it is reused without a read for
``cache_seconds``: a change made through this process applies at once, one made
through another worker or node within that time.

Indexes are built in the background: a definition answers at once and lists each
index as ``building``, ``ready`` or ``failed`` (with the reason, e.g. duplicates
under a new unique index).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from baas.core import clock, language
from baas.core.data.schema import Schema
from baas.core.errors import BadRequest, Conflict, NotFound
from baas.core.language import compiler as query
from baas.store import Database, DuplicateKeyError, IndexSpec, InvalidQuery, StoreError

log = logging.getLogger("baas.collections")

DEFS = "collection_defs"
STORE_PREFIX = "d_"
NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,59}$")
OPERATIONS = ("list", "get", "create", "update", "delete")
DATA_OPERATIONS = frozenset({"create", "update"})
MAX_INDEXES = 32
MAX_INDEX_FIELDS = 8
MAX_RULE_LENGTH = language.MAX_LENGTH


def store_name(name: str) -> str:
    return STORE_PREFIX + name


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise BadRequest(
            "a collection name starts with a letter and has at most 60 letters, digits "
            "and '_'", code="invalid_collection_name", details={"field": "name"})
    return name


def not_found(name: str) -> NotFound:
    return NotFound(f"no collection {name[:80]!r} in this project", code="collection_not_found")


@dataclass(frozen=True)
class Rule:
    """One operation's rule: ``text`` None = closed, "" = public, else ``node`` decides."""

    operation: str
    text: str | None
    node: language.Node | None

    @property
    def closed(self) -> bool:
        return self.text is None

    @property
    def public(self) -> bool:
        return self.text == ""


def parse_rule(operation: str, text: Any) -> Rule:
    if text is None:
        return Rule(operation, None, None)
    if not isinstance(text, str):
        raise BadRequest(f"rules.{operation} must be a string or null",
                         code="invalid_rule", details={"field": f"rules.{operation}"})
    if not text.strip():
        return Rule(operation, "", None)
    try:
        node = language.parse(text, allow_data=operation in DATA_OPERATIONS)
        if operation == "list":  # compiled into queries: refuse what cannot compile now
            query.check(node)
    except language.LanguageError as exc:
        raise BadRequest(f"rules.{operation}: {exc.message}", code="invalid_rule",
                         details={"field": f"rules.{operation}", "column": exc.column}) from None
    return Rule(operation, text, node)


def parse_rules(rules: Any) -> dict[str, Rule]:
    if rules is None:
        rules = {}
    if not isinstance(rules, dict):
        raise BadRequest("rules must be an object with list, get, create, update and delete",
                         code="invalid_rule", details={"field": "rules"})
    unknown = sorted(set(rules) - set(OPERATIONS))
    if unknown:
        raise BadRequest(f"unknown rule {unknown[0][:40]!r}: use list, get, create, update "
                         "or delete", code="invalid_rule", details={"field": "rules"})
    return {op: parse_rule(op, rules.get(op)) for op in OPERATIONS}


def parse_index(raw: Any, position: int) -> IndexSpec:
    where = f"indexes[{position}]"
    if not isinstance(raw, dict) or not isinstance(raw.get("fields"), list):
        raise BadRequest(f"{where} must be an object with a list of fields, e.g. "
                         '{"fields": ["owner", "-created_at"]}', code="invalid_index",
                         details={"field": where})
    unknown = sorted(set(raw) - {"fields", "unique", "ttl", "name", "status", "error"})
    if unknown:
        raise BadRequest(f"{where}: unknown option {unknown[0][:40]!r}", code="invalid_index",
                         details={"field": where})
    fields = raw["fields"]
    if not fields or len(fields) > MAX_INDEX_FIELDS or not all(isinstance(f, str) for f in fields):
        raise BadRequest(f"{where}.fields: 1 to {MAX_INDEX_FIELDS} field names",
                         code="invalid_index", details={"field": where})
    try:
        parsed = language.parse_sort(",".join(fields))
    except language.LanguageError as exc:
        raise BadRequest(f"{where}.fields: {exc.message}", code="invalid_index",
                         details={"field": where}) from None
    unique, ttl = raw.get("unique", False), raw.get("ttl", False)
    if not isinstance(unique, bool) or not isinstance(ttl, bool):
        raise BadRequest(f"{where}: unique and ttl are true or false", code="invalid_index",
                         details={"field": where})
    try:
        return IndexSpec(tuple(parsed), unique=unique, ttl=ttl)
    except InvalidQuery as exc:
        raise BadRequest(f"{where}: {exc}", code="invalid_index",
                         details={"field": where}) from None


def parse_indexes(raw: Any) -> list[IndexSpec]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise BadRequest("indexes must be a list", code="invalid_index",
                         details={"field": "indexes"})
    if len(raw) > MAX_INDEXES:
        raise BadRequest(f"at most {MAX_INDEXES} indexes per collection", code="invalid_index",
                         details={"field": "indexes"})
    specs: list[IndexSpec] = []
    for position, item in enumerate(raw):
        spec = parse_index(item, position)
        if spec.name not in {s.name for s in specs}:
            specs.append(spec)
    return specs


def index_json(spec: IndexSpec) -> dict[str, Any]:
    return {"name": spec.name,
            "fields": [("-" if d == -1 else "") + p for p, d in spec.fields],
            "unique": spec.unique, "ttl": spec.ttl}


def parse_schema(raw: Any) -> Schema | None:
    return None if raw is None else Schema.parse(raw)


@dataclass(frozen=True)
class Definition:
    """A parsed collection definition, as the document routes use it."""

    name: str
    version: int
    rules: dict[str, Rule]
    schema: Schema | None
    indexes: tuple[IndexSpec, ...]
    record: dict[str, Any]

    @property
    def store_name(self) -> str:
        return store_name(self.name)

    @property
    def generation(self) -> str:
        """Never reused: a dropped and re-created collection starts at version 1 again."""
        return f"{self.record['created_at']}/{self.version}"

    def all_indexes(self) -> list[IndexSpec]:
        """Declared indexes plus one unique index per schema field marked unique and one
        index per reference field (a delete finds the documents referring by it)."""
        specs = list(self.indexes)
        names = {s.name for s in specs}
        implied = [IndexSpec(((field, 1),), unique=True)
                   for field in (self.schema.unique_fields() if self.schema else [])]
        unique = {spec.fields[0][0] for spec in implied}  # already an index of its own
        implied += [IndexSpec(((ref.field, 1),))
                    for ref in (self.schema.references() if self.schema else [])
                    if ref.field not in unique]
        for spec in implied:
            if spec.name not in names:
                specs.append(spec)
                names.add(spec.name)
        return specs

    @cached_property
    def needs_email(self) -> bool:
        """Whether a rule or a server-owned field reads ``@auth.email`` (computed once per
        parsed definition, not per request)."""
        for rule in self.rules.values():
            if rule.node is not None and "auth.email" in language.variables(rule.node):
                return True
        return self.schema is not None and "@auth.email" in self.schema.server_owned().values()


def _check_fields(body: dict[str, Any]) -> None:
    unknown = sorted(set(body) - {"name", "schema", "rules", "indexes"})
    if unknown:
        raise BadRequest(f"unknown field {unknown[0][:40]!r}: a collection has name, schema, "
                         "rules and indexes", code="invalid_collection")


def _definition(record: dict[str, Any]) -> Definition:
    rules = {op: parse_rule(op, record.get("rules", {}).get(op)) for op in OPERATIONS}
    indexes = tuple(parse_indexes(record.get("indexes")))
    return Definition(record["id"], int(record["version"]), rules,
                      parse_schema(record.get("schema")), indexes, record)


class CollectionDefs:
    """The collection definitions of every project, with a parsed-definition cache."""

    def __init__(self, database: Callable[[str], Database], cache_seconds: float = 0) -> None:
        self._database = database
        self.cache_seconds = cache_seconds
        # (project, name) -> the parsed definition and when it was last read (monotonic)
        self._cache: dict[tuple[str, str], tuple[Definition, float]] = {}
        self._ready: set[str] = set()
        self._failed: dict[tuple[str, str, str], str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def get(self, project: str, name: str, *, fresh: bool = False) -> Definition:
        """The definition; ``fresh`` reads it even when a recent copy is cached (for
        changes, which must start from the stored version)."""
        check_name(name)
        key = (project, name)
        cached, read_at = self._cache.get(key, (None, 0.0))
        if (cached is not None and not fresh
                and time.monotonic() - read_at < self.cache_seconds):
            return cached
        record = await self._database(project).collection(DEFS).get(name)
        if record is None:
            self._cache.pop(key, None)
            raise not_found(name)
        if (cached is None or cached.version != record["version"]
                or cached.record["created_at"] != record["created_at"]):
            cached = _definition(record)
        self._remember(key, cached)
        return cached

    def _remember(self, key: tuple[str, str], definition: Definition) -> None:
        self._cache[key] = (definition, time.monotonic())

    async def list(self, project: str) -> list[dict[str, Any]]:
        page = await self._database(project).collection(DEFS).find(sort=[("id", 1)],
                                                                    limit=1000)
        return [await self.describe(project, _definition(r)) for r in page.items]

    async def create(self, project: str, body: dict[str, Any]) -> dict[str, Any]:
        _check_fields(body)
        name = check_name(body.get("name"))
        rules = parse_rules(body.get("rules"))
        schema = parse_schema(body.get("schema"))
        indexes = parse_indexes(body.get("indexes"))
        now = clock.now_iso()
        record = {
            "id": name,
            "schema": schema.to_json() if schema else None,
            "rules": {op: rule.text for op, rule in rules.items()},
            "indexes": [index_json(s) for s in indexes],
            "created_at": now,
            "updated_at": now,
        }
        db = self._database(project)
        if await db.collection(DEFS).get(name) is None:
            # Writes racing an earlier drop may have left documents behind: never
            # let them reappear under the new collection's rules.
            await db.drop_collection(store_name(name))
        try:
            stored = await db.collection(DEFS).insert(record)
        except DuplicateKeyError:
            raise Conflict(f"collection {name!r} already exists; PATCH it to change it",
                           code="collection_exists") from None
        definition = _definition(stored)
        self._build_indexes(project, definition)
        return await self.describe(project, definition)

    async def update(self, project: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        _check_fields(body)
        if "name" in body and body["name"] != name:
            raise BadRequest("a collection cannot be renamed", code="invalid_collection",
                             details={"field": "name"})
        current = await self.get(project, name, fresh=True)
        changes: dict[str, Any] = {}
        if "rules" in body:
            if not isinstance(body["rules"], dict):
                raise BadRequest("rules must be an object", code="invalid_rule",
                                 details={"field": "rules"})
            merged = {op: current.rules[op].text for op in OPERATIONS}
            merged.update(body["rules"])
            changes["rules"] = {op: r.text for op, r in parse_rules(merged).items()}
        if "schema" in body:
            schema = parse_schema(body["schema"])
            changes["schema"] = schema.to_json() if schema else None
        if "indexes" in body:
            changes["indexes"] = [index_json(s) for s in parse_indexes(body["indexes"])]
        if not changes:
            return await self.describe(project, current)
        changes["updated_at"] = clock.now_iso()
        updated = await self._database(project).collection(DEFS).update(
            name, changes, expected_version=current.version)
        if updated is None:
            raise Conflict(f"collection {name!r} changed at the same time; try again",
                           code="collection_changed")
        definition = _definition(updated)
        self._remember((project, name), definition)
        if "indexes" in body or "schema" in body:
            self._build_indexes(project, definition)
        return await self.describe(project, definition)

    async def delete(self, project: str, name: str) -> None:
        await self.get(project, name, fresh=True)
        db = self._database(project)
        # The definition goes first, so no new request finds the collection while its
        # documents are dropped.
        await db.collection(DEFS).delete(name)
        await db.drop_collection(store_name(name))
        self._cache.pop((project, name), None)
        self._ready = {k for k in self._ready if not k.startswith(f"{project}/{name}/")}
        self._failed = {k: v for k, v in self._failed.items() if k[:2] != (project, name)}

    async def describe(self, project: str, definition: Definition) -> dict[str, Any]:
        record = definition.record
        existing = await self._existing(project, definition)
        indexes = []
        for spec in definition.indexes:
            item = index_json(spec)
            failure = self._failed.get((project, definition.name, spec.name))
            if failure is not None:
                item.update(status="failed", error=failure)
            else:
                item["status"] = "ready" if spec.name in existing else "building"
            indexes.append(item)
        return {
            "name": definition.name,
            "schema": record.get("schema"),
            "rules": {op: rule.text for op, rule in definition.rules.items()},
            "indexes": indexes,
            "created_at": record["created_at"],
            "updated_at": record["updated_at"],
            "version": record["version"],
        }

    async def _existing(self, project: str, definition: Definition) -> set[str]:
        try:
            specs = await self._database(project).collection(definition.store_name).indexes()
        except StoreError:
            return set()
        return {s.name for s in specs}

    async def ensure_ready(self, project: str, definition: Definition) -> None:
        """Indexes a first write needs (unique ones) exist before documents arrive.

        These are the indexes a developer declares, built in the background when the
        definition changes (not migrations); this covers a write that comes before the
        build is done. It reads which indexes exist and builds only missing ones, so a
        restarted process runs no index DDL on its first writes."""
        key = f"{project}/{definition.name}/{definition.generation}"
        if key in self._ready:
            return
        wanted = [spec for spec in definition.all_indexes()
                  if spec.unique and (project, definition.name, spec.name) not in self._failed]
        if wanted:
            existing = await self._existing(project, definition)
            collection = self._database(project).collection(definition.store_name)
            for spec in wanted:
                if spec.name not in existing:
                    await self._ensure(project, definition.name, collection, spec)
        self._ready.add(key)

    def _build_indexes(self, project: str, definition: Definition) -> None:
        task = asyncio.create_task(self._build(project, definition),
                                   name=f"indexes {project}/{definition.name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _build(self, project: str, definition: Definition) -> None:
        """Bring the store's indexes to the definition as it is *now*: builds run one at
        a time per collection, and each re-reads the definition, so an older build can
        never bring back an index a later change dropped."""
        lock = self._locks.setdefault((project, definition.name), asyncio.Lock())
        async with lock:
            record = await self._database(project).collection(DEFS).get(definition.name)
            if record is None or record["created_at"] != definition.record["created_at"]:
                return
            current = _definition(record)
            collection = self._database(project).collection(current.store_name)
            await self._drop_undeclared(project, current)
            for spec in current.all_indexes():
                await self._ensure(project, current.name, collection, spec)

    async def _ensure(self, project: str, name: str, collection: Any, spec: IndexSpec) -> None:
        self._failed.pop((project, name, spec.name), None)
        try:
            await collection.ensure_index(spec)
        except DuplicateKeyError:
            self._failed[(project, name, spec.name)] = (
                "existing documents hold duplicate values for a unique index")
            log.warning("index build failed", extra={"project": project, "collection": name,
                                                     "index": spec.name})
        except StoreError as exc:
            reason = str(exc)[:200]
            if spec.unique:  # the stand-in reports duplicates as a generic refusal
                reason = ("could not build the unique index; do existing documents hold "
                          f"duplicate values? ({reason})")
            self._failed[(project, name, spec.name)] = reason
            log.warning("index build failed", extra={"project": project, "collection": name,
                                                     "index": spec.name, "error": str(exc)})

    async def _drop_undeclared(self, project: str, definition: Definition) -> None:
        collection = self._database(project).collection(definition.store_name)
        wanted = {s.name for s in definition.all_indexes()}
        for spec in await collection.indexes():
            if spec.name not in wanted:
                await collection.drop_index(spec.name)

    def forget(self, project: str) -> None:
        self._cache = {k: v for k, v in self._cache.items() if k[0] != project}
        self._failed = {k: v for k, v in self._failed.items() if k[0] != project}
        self._ready = {k for k in self._ready if not k.startswith(f"{project}/")}

    async def drain(self) -> None:
        """Wait for index builds (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
