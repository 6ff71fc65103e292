"""Reference fields: what a write links to must exist, and deleting a linked document
applies each referring field's ``on_delete``.

On write, every id a changed reference field names (``schema.Reference``) is looked
up in its collection, in the same project (each project is its own database, so an
id of another project is simply not there). An id the caller may not read under that
collection's ``get`` rule counts as missing, as a missing document does on ``GET``:
the check tells a caller nothing it could not learn by reading. Secret keys and
admins bypass rules, so for them existence alone counts. Ids the document already
held are not looked up again, so an update of another field never fails because the
caller cannot read what someone else linked.

On delete, the documents that refer to the deleted one are found by field value (an
index per reference field is implied, see ``Definition.all_indexes``) and, following
``cascade`` further, planned into the same commit as the delete: ``restrict`` refuses
(409 ``reference_restricted``), ``cascade`` deletes the referrer, ``set_null`` removes
the field (or the id from a list). Referrers' own rules do not apply (the schema's
author chose the action, as with an SQL foreign key). Each document is visited once,
so cycles and self references end. Past ``max_cascade`` touched documents the delete
is refused whole (409 ``cascade_too_large``). A restrict's 409 tells whoever may
delete the document that something refers to it: which collection and field, and
the referrers' ids only to secret keys and admins.

Not atomic with the write: a referenced document deleted between a write's check and
its commit leaves that id dangling.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from baas.core import clock
from baas.core.data.collections import DEFS, CollectionDefs, Definition, store_name
from baas.core.data.rules import Access, decide
from baas.core.data.schema import Reference, Schema
from baas.core.errors import ApiError, BadRequest, Conflict, NotFound
from baas.store import Collection, Database, Delete, Document, Has, In, Update, eq

MAX_SHOWN = 10
MAX_LOOKUP = 1000  # ids per query (the store's ``in`` bound)
MAX_COLLECTIONS = 1000

Open = Callable[[str, str, Access], Awaitable[tuple[Definition, Collection, Access]]]


def missing(path: str, collection: str, doc_id: str) -> dict[str, str]:
    return {"field": path, "code": "reference_not_found",
            "message": f"no document {doc_id[:80]!r} in {collection!r}, or you may not read it"}


@dataclass
class Plan:
    """What one delete does beyond itself: operations with the documents they change."""

    ops: list[Delete | Update] = field(default_factory=list)
    before: list[Document | None] = field(default_factory=list)
    deleted: frozenset[tuple[str, str]] = frozenset()  # (collection, id), roots included


@dataclass
class _Walk:
    deleting: dict[tuple[str, str], Document]
    changing: dict[tuple[str, str], dict[str, Any]]  # field -> new value (None: removed)
    stored: dict[tuple[str, str], Document]
    restricted: list[tuple[str, str, str]]  # (collection, field, referrer id)


class References:
    """Reference checks on write and ``on_delete`` plans on delete, for every project."""

    def __init__(self, database: Callable[[str], Database], defs: CollectionDefs,
                 open: Open, max_cascade: int) -> None:
        self._database = database
        self._defs = defs
        self._open = open
        self.max_cascade = max_cascade
        # (project, name) -> (version, created_at, the collection's reference fields)
        self._parsed: dict[tuple[str, str], tuple[Any, Any, list[Reference]]] = {}

    # -- writes -------------------------------------------------------------------

    async def check(self, project: str, definition: Definition, access: Access,
                    document: dict[str, Any], before: dict[str, Any] | None = None) -> None:
        """400 ``reference_not_found`` naming each reference in ``document`` (the fields
        written: a new document, or an update's ``set``) that names no document the
        caller may read; ids ``before`` already held are not looked up."""
        if definition.schema is None:
            return
        wanted: dict[str, dict[str, list[str]]] = {}
        for ref in definition.schema.references():
            value = document.get(ref.field)
            if value is None:
                continue
            held = (before or {}).get(ref.field)
            old = set(held if isinstance(held, list) else [held]) if held is not None else set()
            ids = value if ref.many else [value]
            for index, doc_id in enumerate(ids):
                if isinstance(doc_id, str) and doc_id not in old:
                    path = f"{ref.field}[{index}]" if ref.many else ref.field
                    wanted.setdefault(ref.collection, {}).setdefault(doc_id, []).append(path)
        errors: list[dict[str, str]] = []
        for collection, ids in wanted.items():
            found = await self._readable(project, collection, access, list(ids))
            errors += [missing(path, collection, doc_id)
                       for doc_id, paths in ids.items() if doc_id not in found
                       for path in paths]
        refuse(errors)

    @staticmethod
    def check_not_deleted(definition: Definition, document: dict[str, Any],
                          deleted: frozenset[tuple[str, str]]) -> None:
        """400 ``reference_not_found`` when ``document`` (a batch's create or update)
        links to a document the same batch deletes."""
        errors = []
        for ref in definition.schema.references() if definition.schema else []:
            value = document.get(ref.field)
            for index, doc_id in enumerate(value if ref.many and value else [value]):
                if (ref.collection, doc_id) in deleted:
                    path = f"{ref.field}[{index}]" if ref.many else ref.field
                    errors.append(missing(path, ref.collection, str(doc_id)))
        refuse(errors)

    async def _readable(self, project: str, name: str, access: Access, ids: list[str]
                        ) -> set[str]:
        try:
            definition, collection, access = await self._open(project, name, access)
        except NotFound:
            return set()
        found: set[str] = set()
        for start in range(0, len(ids), MAX_LOOKUP):
            chunk = tuple(ids[start:start + MAX_LOOKUP])
            page = await collection.find(In("id", chunk), limit=len(chunk))
            found |= {doc["id"] for doc in page.items
                      if decide(definition.rules["get"], access, doc).allowed}
        return found

    # -- deletes ------------------------------------------------------------------

    async def plan_delete(self, project: str, definition: Definition, access: Access,
                          roots: Sequence[Document]) -> Plan:
        """The cascaded deletes and set-null updates that deleting ``roots`` (documents of
        ``definition``) needs, or 409 ``reference_restricted`` / ``cascade_too_large``."""
        referrers = await self._referrers(project)
        if definition.name not in referrers:
            return Plan(deleted=frozenset((definition.name, doc["id"]) for doc in roots))
        walk = _Walk({(definition.name, doc["id"]): doc for doc in roots}, {}, {}, [])
        queue = list(walk.deleting)
        while queue:
            target, doc_id = queue.pop(0)
            for source, ref in referrers.get(target, []):
                for doc in await self._referring(project, source, ref, doc_id):
                    key = (source, doc["id"])
                    if ref.on_delete == "restrict":
                        walk.restricted.append((source, ref.field, doc["id"]))
                    elif ref.on_delete == "cascade":
                        if key not in walk.deleting:
                            walk.deleting[key] = doc
                            walk.changing.pop(key, None)
                            queue.append(key)
                    elif key not in walk.deleting:
                        self._unlink(walk, key, doc, ref, doc_id)
                    self._bound(walk, len(roots))
        blocking = [item for item in walk.restricted if (item[0], item[2]) not in walk.deleting]
        if blocking:
            raise restricted(blocking, access)
        return self._plan(walk, len(roots))

    @staticmethod
    def _unlink(walk: _Walk, key: tuple[str, str], doc: Document, ref: Reference,
                doc_id: str) -> None:
        walk.stored.setdefault(key, doc)
        fields = walk.changing.setdefault(key, {})
        if ref.many:
            current = fields.get(ref.field, walk.stored[key].get(ref.field))
            fields[ref.field] = [item for item in current or [] if item != doc_id]
        else:
            fields[ref.field] = None

    def _bound(self, walk: _Walk, roots: int) -> None:
        if len(walk.deleting) - roots + len(walk.changing) > self.max_cascade:
            raise Conflict(f"this delete would remove or change more than {self.max_cascade} "
                           "referring documents; delete them in smaller steps first",
                           code="cascade_too_large", details={"limit": self.max_cascade})

    @staticmethod
    def _plan(walk: _Walk, roots: int) -> Plan:
        plan = Plan(deleted=frozenset(walk.deleting))
        for (name, doc_id), doc in list(walk.deleting.items())[roots:]:
            plan.ops.append(Delete(store_name(name), doc_id, expected_version=doc["version"]))
            plan.before.append(doc)
        now = clock.now_iso()
        for key, fields in walk.changing.items():
            if key in walk.deleting:
                continue
            doc = walk.stored[key]
            set_ = {name: value for name, value in fields.items() if value is not None}
            unset = tuple(name for name, value in fields.items() if value is None)
            plan.ops.append(Update(store_name(key[0]), key[1], {**set_, "updated_at": now},
                                   unset, expected_version=doc["version"]))
            plan.before.append(doc)
        return plan

    async def _referring(self, project: str, source: str, ref: Reference, doc_id: str
                         ) -> list[Document]:
        collection = self._database(project).collection(store_name(source))
        where = Has(ref.field, doc_id) if ref.many else eq(ref.field, doc_id)
        page = await collection.find(where, limit=self.max_cascade + 1)
        return list(page.items)

    async def _referrers(self, project: str) -> dict[str, list[tuple[str, Reference]]]:
        """Target collection -> the (collection, field) pairs that refer to it."""
        page = await self._database(project).collection(DEFS).find(
            sort=[("id", 1)], limit=MAX_COLLECTIONS)
        found: dict[str, list[tuple[str, Reference]]] = {}
        for record in page.items:
            for ref in self._references(project, record):
                found.setdefault(ref.collection, []).append((record["id"], ref))
        return found

    def _references(self, project: str, record: dict[str, Any]) -> list[Reference]:
        key = (project, record["id"])
        cached = self._parsed.get(key)
        if cached is not None and cached[:2] == (record["version"], record["created_at"]):
            return cached[2]
        raw = record.get("schema")
        refs = Schema.parse(raw).references() if raw is not None else []
        self._parsed[key] = (record["version"], record["created_at"], refs)
        return refs


def refuse(errors: list[dict[str, str]]) -> None:
    if errors:
        errors.sort(key=lambda error: error["field"])
        first = errors[0]
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise BadRequest(f"{first['field']}: {first['message']}{more}",
                         code="reference_not_found", details={"errors": errors})


def restricted(blocking: list[tuple[str, str, str]], access: Access) -> ApiError:
    """409 naming the collections and fields that refer; the ids only for trusted callers
    (others may not be allowed to read them)."""
    refs = sorted({(name, ref_field) for name, ref_field, _ in blocking})
    shown = ", ".join(f"{name}.{ref_field}" for name, ref_field in refs[:MAX_SHOWN])
    details: dict[str, Any] = {"referrers": [{"collection": name, "field": ref_field}
                                             for name, ref_field in refs[:MAX_SHOWN]]}
    if access.trusted:
        details["ids"] = sorted({doc_id for _, _, doc_id in blocking})[:MAX_SHOWN]
    return Conflict(f"other documents refer to this one ({shown}, on_delete: restrict); "
                    "delete or change them first", code="reference_restricted",
                    details=details)
