"""Expand: the documents a get or list answer references, inline beside its fields.

``expand=list_id,list_id.owner`` follows reference fields of the collection's schema
(``{"type": "reference", "collection": ...}``, or an ``array`` of them), up to
``MAX_DEPTH`` hops. Each document holding an expansion gains ``"_expand": {field: doc}``
(a list of docs for an array of references); the stored ids stay in the fields. The key
starts with ``_``, which no user field name can, so it never hides a field.

What is left out, silently: a referenced document that is missing, or that its own
collection's ``get`` rule refuses to this caller. So an expansion tells nothing a
``GET`` of that id would not; the references themselves are in fields the caller reads.

Bounds: ``MAX_DEPTH`` hops (a longer path is a 400 ``invalid_expand`` naming it), and
``MAX_EXPANDED`` references followed per answer, counted before the rules (the ids are
in fields the caller already sees, so the count reveals nothing): past it the request
is a 400 ``expand_too_large`` rather than a silently short answer. Lookups are batched:
one ``id in [...]`` query per collection per hop.

A back-reference ``<collection>_via_<field>`` (``items_via_list_id`` on a list) brings
the documents of that collection whose reference field holds this document's id, as a
list in creation order: all of them, as a list of ``<collection>`` filtered by
``<field>`` would give them (its list rule goes into the query, its get rule is checked
per document; a closed list rule gives an empty list). They count toward
``MAX_EXPANDED`` once found (after the list rule); for more, list that collection with
``filter=<field> = "<id>"`` and page it.

``fields`` reaches expanded documents by path: with ``expand=list_id``,
``fields=title,list_id.name`` keeps ``title`` (and ``list_id``, which the expansion needs)
on the document and ``name`` on the expanded list. An expanded document without such
paths is whole; the reference fields an expansion follows are always kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as _field
from typing import Any

from baas.core.data.collections import Definition
from baas.core.data.documents import Documents, parse_fields, view
from baas.core.data.rules import Access, decide, list_filter
from baas.core.data.schema import Field
from baas.core.errors import BadRequest, Forbidden, NotFound, Unavailable
from baas.core.language import LanguageError, parse_path
from baas.store import Collection, Filter, Has, In, Or, QueryTimeout, all_of
from baas.store.docs import project as project_fields

EXPAND_KEY = "_expand"
VIA = "_via_"
MAX_DEPTH = 3
MAX_EXPANDED = 1000
MAX_PATHS = 16
MAX_ID_LENGTH = 128


def invalid(message: str, path: str) -> BadRequest:
    return BadRequest(f"expand: {message}", code="invalid_expand", details={"path": path})


def parse_paths(text: str) -> list[list[str]]:
    """``list_id,list_id.owner`` as lists of field names; 400 ``invalid_expand``."""
    paths: list[list[str]] = []
    for item in text.split(","):
        name = item.strip()
        if not name:
            continue
        try:
            segments = parse_path(name).split(".")
        except LanguageError:
            raise invalid(f"{name[:60]!r} is not a field path such as list_id.owner",
                          name[:60]) from None
        if len(segments) > MAX_DEPTH:
            raise invalid(f"{name[:60]!r} is {len(segments)} references deep; at most "
                          f"{MAX_DEPTH} hops are expanded (expand fewer levels)", name[:60])
        if segments not in paths:
            paths.append(segments)
    if len(paths) > MAX_PATHS:
        raise BadRequest(f"expand: at most {MAX_PATHS} paths", code="invalid_expand")
    return paths


def reference_of(definition: Definition, name: str) -> tuple[str, bool] | None:
    """The collection a top-level reference field points at, and whether it holds a
    list of references; None when ``name`` is no such field."""
    spec: Field | None = definition.schema.fields.get(name) if definition.schema else None
    if spec is None:
        return None
    if spec.type == "reference" and spec.collection:
        return spec.collection, False
    items = spec.items
    if spec.type == "array" and items is not None and items.type == "reference" \
            and items.collection:
        return items.collection, True
    return None


@dataclass
class Node:
    """One expanded field: where it points, what to keep of what it finds, and what to
    expand in that in turn."""

    field: str
    collection: str
    many: bool
    children: dict[str, Node] = _field(default_factory=dict)
    fields: list[str] | None = None
    via: str | None = None  # a back-reference: the field of ``collection`` pointing here


@dataclass(frozen=True)
class Opened:
    definition: Definition
    collection: Collection
    access: Access


class Expansion:
    """A parsed ``expand`` (and the ``fields`` it splits) for one request."""

    def __init__(self, documents: Documents, project: str, root: dict[str, Node],
                 opened: dict[str, Opened], document_fields: list[str] | None) -> None:
        self._documents = documents
        self._project = project
        self.root = root
        self._opened = opened
        self.document_fields = document_fields

    @classmethod
    async def prepare(cls, documents: Documents, project: str, name: str, access: Access,
                      expand: str, fields: str | None = None) -> Expansion:
        """Check every path against the schemas (400 ``invalid_expand``), and split
        ``fields`` between the documents and what is expanded into them."""
        opened: dict[str, Opened] = {}

        async def open_collection(collection: str, path: str) -> Opened:
            if collection not in opened:
                try:
                    definition, store, caller = await documents.open(project, collection,
                                                                      access)
                except NotFound:
                    raise invalid(f"{path!r} references collection {collection!r}, which "
                                  "does not exist", path) from None
                opened[collection] = Opened(definition, store, caller)
            return opened[collection]

        async def back_reference(definition: Definition, segment: str) -> Node | None:
            """``items_via_list_id``: a collection with a reference field to this one."""
            parts = segment.split(VIA)
            for cut in range(1, len(parts)):
                collection, via = VIA.join(parts[:cut]), VIA.join(parts[cut:])
                try:
                    source = (await open_collection(collection, segment)).definition
                except BadRequest:
                    continue
                target = reference_of(source, via)
                if target is not None and target[0] == definition.name:
                    return Node(segment, collection, target[1], via=via)
            return None

        root_definition, store, caller = await documents.open(project, name, access)
        opened[name] = Opened(root_definition, store, caller)
        root: dict[str, Node] = {}
        for segments in parse_paths(expand):
            level, definition = root, root_definition
            for depth, segment in enumerate(segments):
                path = ".".join(segments[:depth + 1])
                node = level.get(segment)
                if node is None:
                    target = reference_of(definition, segment)
                    if target is not None:
                        node = Node(segment, *target)
                    else:
                        node = await back_reference(definition, segment)
                    if node is None:
                        raise invalid(f"{path!r}: {segment!r} is not a reference field of "
                                      f"{definition.name!r} (its schema must declare it "
                                      '{"type": "reference", "collection": ...}), nor '
                                      "<collection>_via_<field> naming a reference to it",
                                      path)
                    level[segment] = node
                definition = (await open_collection(node.collection, path)).definition
                level = node.children
        return cls(documents, project, root, opened,
                   split_fields(root, parse_fields(fields)) if fields else None)

    @property
    def document_fields_text(self) -> str | None:
        return None if self.document_fields is None else ",".join(self.document_fields)

    async def apply(self, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Copies of ``documents`` (already read by this caller) with what they reference
        under ``_expand``, hop by hop."""
        results = [dict(document) for document in documents]
        frontier: list[tuple[dict[str, Any], dict[str, Node]]] = [
            (document, self.root) for document in results]
        followed = 0
        while frontier:
            places: list[tuple[dict[str, Any], Node, list[str]]] = []
            wanted: dict[str, set[str]] = {}
            backs: dict[tuple[str, str], list[tuple[dict[str, Any], Node]]] = {}
            for holder, level in frontier:
                for node in level.values():
                    if node.via is not None:
                        backs.setdefault((node.collection, node.via), []).append(
                            (holder, node))
                        continue
                    ids = ids_in(holder.get(node.field), node.many)
                    places.append((holder, node, ids))
                    wanted.setdefault(node.collection, set()).update(ids)
                    followed += len(ids)
            _check_bound(followed)
            found = {collection: await self._readable(collection, ids)
                     for collection, ids in wanted.items() if ids}
            for (collection, via), backed in backs.items():
                followed = await self._referring(collection, via, backed, places, found,
                                                 followed)
            frontier = []
            for holder, node, ids in places:
                shown = []
                for doc_id in ids:
                    stored = found.get(node.collection, {}).get(doc_id)
                    if stored is None:
                        continue
                    item = (dict(view(stored)) if node.fields is None
                            else project_fields(stored, node.fields))
                    shown.append(item)
                    if node.children:
                        frontier.append((item, node.children))
                if node.many or node.via is not None:
                    holder.setdefault(EXPAND_KEY, {})[node.field] = shown
                elif shown:
                    holder.setdefault(EXPAND_KEY, {})[node.field] = shown[0]
        return results

    async def _readable(self, collection: str, ids: set[str]) -> dict[str, dict[str, Any]]:
        """The documents of ``ids`` that exist and that the get rule lets this caller read:
        one query."""
        opened = self._opened[collection]
        found = await self._find(collection, In("id", tuple(sorted(ids))), len(ids))
        rule = opened.definition.rules["get"]
        return {stored["id"]: stored for stored in found
                if decide(rule, opened.access, stored).allowed}

    async def _referring(self, collection: str, via: str,
                         backed: list[tuple[dict[str, Any], Node]],
                         places: list[tuple[dict[str, Any], Node, list[str]]],
                         found: dict[str, dict[str, dict[str, Any]]], followed: int) -> int:
        """Add the places of a back-reference: per holder, the documents of ``collection``
        whose ``via`` holds its id (one query for all holders); the count so far."""
        opened = self._opened[collection]
        many = backed[0][1].many
        ids = sorted({holder["id"] for holder, _ in backed})
        match: Filter = (In(via, tuple(ids)) if not many
                         else Or(tuple(Has(via, doc_id) for doc_id in ids)))
        room = MAX_EXPANDED - followed
        try:
            rule = list_filter(opened.definition, opened.access)
        except Forbidden:  # a closed list rule: the caller may not search this collection
            documents: list[dict[str, Any]] = []
        else:
            documents = await self._find(collection, all_of(rule, match), room + 1)
            # Counted before the get rule: the list rule already lets the caller see them.
            if len(documents) > room:
                _check_bound(MAX_EXPANDED + 1)
        rule_get = opened.definition.rules["get"]
        by_target: dict[str, list[str]] = {}
        pool = found.setdefault(collection, {})
        for stored in documents:
            if not decide(rule_get, opened.access, stored).allowed:
                continue
            pool[stored["id"]] = stored
            for target in ids_in(stored.get(via), many):
                by_target.setdefault(target, []).append(stored["id"])
        for holder, node in backed:
            referring = by_target.get(holder["id"], [])
            places.append((holder, node, referring))
            followed += len(referring)
        _check_bound(followed)
        return followed

    async def _find(self, collection: str, match: Filter | None, limit: int
                    ) -> list[dict[str, Any]]:
        """Documents of ``collection`` matching, in creation order: one query."""
        timeout = self._documents.query_timeout_ms
        try:
            page = await self._opened[collection].collection.find(
                match, sort=[("id", 1)], limit=limit, max_time_ms=timeout)
        except QueryTimeout:
            raise Unavailable(f"expanding {collection!r} ran longer than {timeout} ms",
                              code="query_timeout", headers={"Retry-After": "1"}) from None
        return list(page.items)


def _check_bound(followed: int) -> None:
    if followed > MAX_EXPANDED:
        raise BadRequest(f"expand would bring more than {MAX_EXPANDED} documents into one "
                         "answer; ask for a smaller page (limit) or fewer paths",
                         code="expand_too_large", details={"max_expanded": MAX_EXPANDED})


def ids_in(value: Any, many: bool) -> list[str]:
    """The ids a field holds (each once, in order); anything that is not an id is none."""
    values = value if many and isinstance(value, list) else [] if many else [value]
    ids: list[str] = []
    for item in values:
        if isinstance(item, str) and 0 < len(item) <= MAX_ID_LENGTH and item not in ids:
            ids.append(item)
    return ids


def split_fields(root: dict[str, Node], paths: list[str]) -> list[str]:
    """Give each expanded node the ``fields`` paths under it; return the documents' own
    (with the fields that expansions follow, which they need)."""
    own: list[str] = []
    for path in paths:
        segments = path.split(".")
        level, node, depth = root, None, 0
        while depth < len(segments) - 1 and segments[depth] in level:
            node = level[segments[depth]]
            level = node.children
            depth += 1
        if node is None:
            own.append(path)
        else:
            node.fields = [*(node.fields or []), ".".join(segments[depth:])]
    _keep_followed(root)
    return [*own, *(name for name, node in root.items()
                    if node.via is None and name not in own)]


def _keep_followed(level: dict[str, Node]) -> None:
    for node in level.values():
        if node.fields is not None:
            node.fields += [name for name, child in node.children.items()
                            if child.via is None and name not in node.fields]
        _keep_followed(node.children)
