"""Which of our packages may import which, held as data (docs/architecture.md, "Import rules").

The imports are read with ``ast``, never by importing: ``import``/``from`` statements
(relative ones resolved), those under ``if TYPE_CHECKING:`` (marked type-only), and string
imports through ``importlib.import_module("...")`` and the CLI's ``import_server("...")``.
A package may always import itself; a rule is about what lies outside it.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Where each top-level package of ours lives.
SOURCES = {"baas": ROOT / "baas", "baas_cli": ROOT / "cli" / "baas_cli",
           "baas_sdk": ROOT / "sdk" / "baas_sdk"}
OURS = tuple(SOURCES)
# Calls whose first argument, a string literal, names a module that gets imported.
STRING_IMPORTERS = frozenset({"import_module", "import_server", "__import__"})
ENGINES = ("baas.store.sqlite", "baas.store.mongo")


@dataclass(frozen=True)
class Rule:
    """What the modules in ``importers`` (a package and everything under it) may import of
    ours: nothing in ``forbidden``; with ``only``, nothing outside ``only``; with
    ``public``, a package in it only through its top module and names in its ``__all__``."""

    importers: str
    why: str
    forbidden: tuple[str, ...] = ()
    only: tuple[str, ...] | None = None
    public: tuple[str, ...] = ()


RULES: tuple[Rule, ...] = (
    Rule("baas.store", "the store is the bottom layer: it knows nothing of ours but itself",
         only=("baas.store",)),
    Rule("baas", "nothing names an engine but create_engine in baas/store/__init__.py",
         forbidden=ENGINES),
    Rule("baas.core", "core is domain logic under every transport: never the HTTP layer or "
         "the process around it", forbidden=("baas.api", "baas.app", "baas.server")),
    Rule("baas.api", "the routes are assembled into the app, not the other way round",
         forbidden=("baas.app", "baas.server")),
    *(Rule(f"baas.{package}", "transport-free capabilities beside the store: they use the "
           "store and record metrics and logs (issue 11, part 7), nothing above",
           only=(f"baas.{package}", "baas.store", "baas.metrics", "baas.logs"))
      for package in ("files", "realtime", "push")),
    *(Rule(f"baas.{module}", "leaf modules every layer uses; they must not pull in the layers",
           forbidden=("baas.core", "baas.api", "baas.app", "baas.server"))
      for module in ("metrics", "logs", "settings")),
    Rule("baas.transport", "the HTTP protocol under the app (issue 12, item 1): it knows "
         "uvicorn and the client's bytes, none of our layers", only=("baas.transport",)),
    Rule("baas_sdk", "the SDK installs and runs without the server or the CLI",
         forbidden=("baas", "baas_cli")),
    Rule("baas_cli", "the CLI talks HTTP through the SDK's public surface and starts the "
         "server through its entry points", only=("baas_cli", "baas_sdk", "baas.server",
                                                  "baas.settings"), public=("baas_sdk",)),
)


@dataclass(frozen=True)
class KnownViolation:
    """A known import that breaks a rule, with the reason it stands; ``type_only``: it is
    allowed only under ``if TYPE_CHECKING:``."""

    importer: str
    imported: str
    why: str
    type_only: bool = False


KNOWN: tuple[KnownViolation, ...] = (
    KnownViolation("baas.store", "baas.settings",
               "create_engine(settings) reads the engine settings; Settings is imported for "
               "the annotation only, so the store does not depend on settings at run time",
               type_only=True),
    KnownViolation("baas.store", "baas.store.sqlite", "create_engine: the one place that names "
               "an engine"),
    KnownViolation("baas.store", "baas.store.mongo", "create_engine: the one place that names "
               "an engine"),
)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    names: tuple[str, ...] = ()  # for `from X import a, b`: a, b
    type_only: bool = False

    def __str__(self) -> str:
        names = f" ({', '.join(self.names)})" if self.names else ""
        kind = " [TYPE_CHECKING]" if self.type_only else ""
        return f"{self.importer}:{self.line} imports {self.imported}{names}{kind}"


def within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def is_ours(module: str) -> bool:
    return any(within(module, top) for top in OURS)


# -- reading imports --------------------------------------------------------------------


def tree_modules() -> dict[str, tuple[str, bool]]:
    """Every module of ours: its name -> (source, is a package)."""
    found: dict[str, tuple[str, bool]] = {}
    for top, folder in SOURCES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [top, *path.relative_to(folder).with_suffix("").parts]
            package = parts[-1] == "__init__"
            name = ".".join(parts[:-1] if package else parts)
            found[name] = (path.read_text(encoding="utf-8"), package)
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, type_only: bool = False) -> Iterator[tuple[ast.AST, bool]]:
    """Every node, with whether it sits under ``if TYPE_CHECKING:`` (not its ``else``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            yield child, type_only
            for sub in child.body:
                yield sub, True
                yield from _walk(sub, True)
            for sub in child.orelse:
                yield sub, type_only
                yield from _walk(sub, type_only)
            continue
        yield child, type_only
        yield from _walk(child, type_only)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def imports_of(name: str, source: str, package: bool,
               modules: Iterable[str] = ()) -> list[Import]:
    """The imports of one module; ``modules`` (every module name of the tree) tells a
    submodule in ``from pkg import sub`` from a name defined in ``pkg``."""
    known = set(modules)
    here = name if package else name.rpartition(".")[0]
    found: list[Import] = []
    for node, type_only in _walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.Import):
            found += [Import(name, alias.name, line, type_only=type_only)
                      for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = here.split(".")
                parent = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            plain = []
            for alias in node.names:
                if f"{base}.{alias.name}" in known:
                    found.append(Import(name, f"{base}.{alias.name}", line, type_only=type_only))
                else:
                    plain.append(alias.name)
            if plain:
                found.append(Import(name, base, line, tuple(plain), type_only))
        elif (isinstance(node, ast.Call) and _called_name(node) in STRING_IMPORTERS
              and node.args and isinstance(node.args[0], ast.Constant)
              and isinstance(node.args[0].value, str)):
            found.append(Import(name, node.args[0].value, line, type_only=type_only))
    return found


def public_names(source: str) -> set[str]:
    """The names in a module's ``__all__`` (a literal list or tuple of strings)."""
    for node in ast.parse(source).body:
        if (isinstance(node, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
                and isinstance(node.value, ast.List | ast.Tuple)):
            return {e.value for e in node.value.elts
                    if isinstance(e, ast.Constant) and isinstance(e.value, str)}
    return set()


# -- checking ---------------------------------------------------------------------------


def broken_rule(imp: Import, rule: Rule, public: Mapping[str, set[str]]) -> str | None:
    """Why ``imp`` breaks ``rule``, or None."""
    target = imp.imported
    if not within(imp.importer, rule.importers) or not is_ours(target):
        return None
    for banned in rule.forbidden:
        if within(target, banned) and not within(imp.importer, banned):
            return f"must not import {banned}"
    if rule.only is not None and not any(within(target, ok) for ok in rule.only):
        return f"may import only {', '.join(rule.only)} of ours"
    for package in rule.public:
        if within(target, package):
            if target != package:
                return f"{target} is private: import from {package}"
            hidden = sorted(set(imp.names) - public.get(package, set()))
            if hidden:
                return f"{', '.join(hidden)} not in {package}.__all__"
    return None


def _excused(imp: Import, known: Iterable[KnownViolation]) -> KnownViolation | None:
    for exc in known:
        if (imp.importer == exc.importer and within(imp.imported, exc.imported)
                and (imp.type_only or not exc.type_only)):
            return exc
    return None


def check(modules: Mapping[str, tuple[str, bool]], rules: Iterable[Rule] = RULES,
          known: Iterable[KnownViolation] = KNOWN) -> tuple[list[str], set[KnownViolation]]:
    """The violations that no known exception covers, and the exceptions that were used."""
    known = tuple(known)
    public = {name: public_names(src) for name, (src, package) in modules.items() if package}
    violations: list[str] = []
    used: set[KnownViolation] = set()
    for name, (source, package) in sorted(modules.items()):
        for imp in imports_of(name, source, package, modules):
            for rule in rules:
                why = broken_rule(imp, rule, public)
                if why is None:
                    continue
                excuse = _excused(imp, known)
                if excuse is not None:
                    used.add(excuse)
                else:
                    violations.append(f"{imp}: {why} ({rule.why})")
    return violations, used


# -- the tree as it is ------------------------------------------------------------------


def test_the_tree_keeps_the_import_rules() -> None:
    violations, _ = check(tree_modules())
    assert violations == []


def test_every_known_exception_still_occurs() -> None:
    """An exception that no longer happens is dropped from KNOWN, so it cannot return."""
    _, used = check(tree_modules())
    assert sorted(e.importer + " -> " + e.imported for e in set(KNOWN) - used) == []


def test_the_reader_sees_the_clis_string_imports() -> None:
    modules = tree_modules()
    cli_serve = {i.imported for i in imports_of("baas_cli.serve", *modules["baas_cli.serve"],
                                                 modules)}
    assert {"baas.server", "baas.settings"} <= cli_serve


def test_nothing_imports_httpx_only_httpx2() -> None:
    """The SDK, CLI, server, tests and bench use httpx2, the maintained fork; the original
    package has had no release since December 2024 (issue 11, part 8)."""
    offenders = []
    for folder in ("baas", "cli", "sdk", "tests", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                offenders += [f"{path.relative_to(ROOT)}:{node.lineno}" for n in names
                              if within(n, "httpx")]
    assert offenders == []


# -- the checker catches what it should -------------------------------------------------


def _violations(sources: Mapping[str, str], known: Iterable[KnownViolation] = ()) -> list[str]:
    modules = {name.removesuffix(".__init__"): (src, name.endswith(".__init__"))
               for name, src in sources.items()}
    modules.setdefault("baas_sdk", ('__all__ = ["Client"]\n', True))
    return check(modules, known=known)[0]


@pytest.mark.parametrize(("module", "source", "expected"), [
    ("baas.core.data.rows", "from baas.api import routing\n", "must not import baas.api"),
    ("baas.core.data.rows", "from ...api.http import Router\n", "must not import baas.api"),
    ("baas.core.data.rows", "import baas.store.sqlite.engine\n",
     "must not import baas.store.sqlite"),
    ("baas.store.base", "from baas.core import errors\n", "may import only baas.store"),
    ("baas.store.base", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
     "    from baas.settings import Settings\n", "[TYPE_CHECKING]: may import only"),
    ("baas.api.routing", "import baas.app\n", "must not import baas.app"),
    ("baas.metrics", "from baas.core.errors import ApiError\n", "must not import baas.core"),
    ("baas.realtime.broker", "from baas.core.hooks import Hooks\n",
     "may import only baas.realtime"),
    ("baas_sdk._client", "from baas.settings import Settings\n", "must not import baas"),
    ("baas_cli.users", "from baas_sdk._admin import Users\n",
     "baas_sdk._admin is private: import from baas_sdk"),
    ("baas_cli.users", "from baas_sdk import Client, Users\n", "Users not in baas_sdk.__all__"),
    ("baas_cli.users", "from baas.core.errors import ApiError\n", "may import only"),
    ("baas_cli.admin", 'import_server("baas.core.tenancy.bootstrap")\n', "may import only"),
    ("baas_cli.admin", 'import importlib\nimportlib.import_module("baas.api.http")\n',
     "may import only"),
])
def test_the_checker_catches_a_violation(module: str, source: str, expected: str) -> None:
    found = _violations({module: source})
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize(("module", "source"), [
    ("baas.core.data.rows", "from baas.store import Collection\nfrom baas.settings import S\n"),
    ("baas.store.sqlite.engine", "from baas.store.sqlite.sql import quote\nfrom . import ops\n"),
    ("baas.api.routing", "from baas.core.errors import ApiError\nimport json\n"),
    ("baas_cli.users", "from baas_sdk import Client\nfrom .errors import CliError\n"),
    ("baas_cli.serve", 'server = import_server("baas.server")\n'),
    ("baas_sdk._client", "import httpx2\nfrom ._core import Call\n"),
])
def test_the_checker_allows_what_the_rules_allow(module: str, source: str) -> None:
    assert _violations({module: source}) == []


def test_a_known_exception_covers_only_its_own_import() -> None:
    known = [KnownViolation("baas.store", "baas.settings", "annotation", type_only=True)]
    typed = "if TYPE_CHECKING:\n    from baas.settings import Settings\n"
    assert _violations({"baas.store.__init__": typed}, known) == []
    # The same import at run time, or from another module, is still a violation.
    assert len(_violations({"baas.store.__init__": "from baas.settings import S\n"}, known)) == 1
    assert len(_violations({"baas.store.base": typed}, known)) == 1
