"""Import rules between isoflow's packages (docs/architecture.md, "Who may import what").

Every module of engine/, api/ and cli/ is parsed (ast, so imports inside functions count
too) and each import is checked against LAYERS and LIBRARY_BANS below; imports between
layers must also be free of cycles. Imports under `if TYPE_CHECKING:` are annotations,
not dependencies: they are exempt from the layer rules and the cycle check, but not from
the library bans (the pure core must not even name a framework's types). Imports made
with importlib from computed names (the lazy CLI commands, the API's resource modules)
are not seen; they stay inside their own package.

KNOWN_VIOLATIONS lists what the code breaks today. It can only shrink: a new violation
fails `test_no_new_violations`, and an entry that is no longer real fails
`test_known_violations_are_still_real`, so whoever fixes one deletes its line.
"""
from __future__ import annotations

import ast
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
ROOTS = ("engine", "api", "cli")

# The shared kernel at engine/'s top level: adapters and every layer above them may import it.
KERNEL = ("engine.errors", "engine.config", "engine.security", "engine.audit", "engine.permissions")
CORE = ("engine.domain", "engine.errors")

# layer (module prefix, longest match wins) -> project modules it may import besides itself.
# An entry "a.b" allows "a.b" and everything under it; "api.create_app" allows that one name.
# The runtime kernel: the runtime (its caches), the unit of work (the only way to open a
# transaction) and the commune calendars every use case and view reads; it sits on the
# adapters and below the use cases and views.
RUNTIME = ("engine.runtime", "engine.unit_of_work", "engine.unit_calendars")
LAYERS: dict[str, tuple[str, ...]] = {
    "engine": (),  # engine/__init__.py only (see PACKAGE_ONLY): a new engine/x.py needs its own line
    "engine.errors": (),
    "engine.config": (),
    "engine.security": (),
    "engine.caching": (),  # a pure LRU with a lock, for the runtime's caches
    "engine.audit": CORE,
    "engine.permissions": CORE,
    "engine.domain": ("engine.errors",),
    "engine.procedure": (*CORE, "engine.caching"),
    "engine.adapters": (*CORE, *KERNEL, "engine.procedure"),
    **{module: (*CORE, *KERNEL, "engine.caching", "engine.procedure", "engine.adapters", *RUNTIME)
       for module in RUNTIME},
    "engine.services": (*CORE, *KERNEL, "engine.procedure", "engine.adapters", *RUNTIME),
    "engine.views": (*CORE, *KERNEL, "engine.procedure", "engine.adapters", *RUNTIME),
    # printable documents are the read side's output: they read through the views
    "engine.adapters.documents": (*CORE, *KERNEL, "engine.procedure", "engine.adapters", *RUNTIME, "engine.views"),
    "engine.scheduler": (*CORE, *KERNEL, "engine.procedure", "engine.adapters", *RUNTIME, "engine.services",
                         "engine.views"),
    "engine.demo": ("engine",),  # seeds the demo province through the real services, like a command
    "api": ("engine",),
    "cli": ("engine", "api.create_app"),  # `isoflow serve` / `isoflow demo` start the web app
}

# Layers that are a package's own __init__ and do not extend to the modules under it.
PACKAGE_ONLY = frozenset({"engine"})

WEB = ("flask", "flask_smorest", "flask_babel", "werkzeug")
# layer -> third-party packages (top-level import names) it must never import.
LIBRARY_BANS: dict[str, tuple[str, ...]] = {
    "engine": WEB,  # and everything under engine/
    "engine.domain": ("sqlalchemy", "SpiffWorkflow", "alembic"),
    "engine.procedure": ("sqlalchemy", "alembic"),
    "engine.errors": ("sqlalchemy", "SpiffWorkflow"),
    "engine.config": ("sqlalchemy", "SpiffWorkflow"),
    "engine.security": ("sqlalchemy", "SpiffWorkflow"),
    "engine.audit": ("sqlalchemy", "SpiffWorkflow"),
    "engine.permissions": ("sqlalchemy", "SpiffWorkflow"),
}
# engine/domain imports only the standard library and these pure libraries.
PURE_LIBRARIES: dict[str, tuple[str, ...]] = {
    "engine.domain": ("holidays",),
}

# What the code breaks today (Redesign issue). "A -> B": module A imports B, which A's
# layer may not import. "cycle A -> B": an import from layer A to layer B that closes a
# cycle between layers.
KNOWN_VIOLATIONS: frozenset[str] = frozenset({
    # the event log and the permission policy sit at engine/'s top level and use the database
    "engine.audit -> engine.adapters.db.models",
    "engine.audit -> engine.adapters.db.revisions",
    "engine.audit -> sqlalchemy",
    "engine.permissions -> engine.adapters.db.models",
    "engine.permissions -> engine.adapters.db.revisions",
    "engine.permissions -> sqlalchemy",
})


# --- the checker ----------------------------------------------------------------------

@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # dotted name imported: a module, or module.name for `from module import name`
    typing_only: bool  # under `if TYPE_CHECKING:`


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool) -> None:
        self.module, self.is_package = module, is_package
        self.imports: list[Import] = []
        self._typing_depth = 0

    def visit_If(self, node: ast.If) -> None:
        self.visit(node.test)
        if _is_type_checking(node.test):
            self._typing_depth += 1
            for child in node.body:
                self.visit(child)
            self._typing_depth -= 1
        else:
            for child in node.body:
                self.visit(child)
        for child in node.orelse:
            self.visit(child)

    def _add(self, target: str) -> None:
        self.imports.append(Import(self.module, target, self._typing_depth > 0))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            package = self.module.split(".") if self.is_package else self.module.split(".")[:-1]
            package = package[: len(package) - (node.level - 1)]
            base = ".".join(package + ([node.module] if node.module else []))
        for alias in node.names:
            self._add(f"{base}.{alias.name}" if alias.name != "*" else base)


def collect_imports(root: Path, roots: tuple[str, ...] = ROOTS) -> tuple[set[str], list[Import]]:
    """Every project module under `roots` and every import statement they contain."""
    modules: set[str] = set()
    imports: list[Import] = []
    for top in roots:
        for path in sorted((root / top).rglob("*.py")):
            name = module_name(root, path)
            modules.add(name)
            collector = _ImportCollector(name, path.name == "__init__.py")
            collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
            imports.extend(collector.imports)
    return modules, imports


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_of(name: str, layers: dict[str, tuple[str, ...]]) -> str | None:
    matches = [layer for layer in layers
               if name == layer or (name.startswith(layer + ".") and layer not in PACKAGE_ONLY)]
    return max(matches, key=len) if matches else None


def _module_part(target: str, modules: set[str]) -> str:
    """The longest project module naming `target` (`a.b.Name` -> `a.b`)."""
    parts = target.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return target


def _rules_for(layer: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    """Union of the table's entries for `layer` and every layer above it (`engine` for `engine.x`)."""
    return {item for key, items in table.items() if _under(layer, key) for item in items}


def find_violations(root: Path, *, layers: dict[str, tuple[str, ...]] = LAYERS,
                    library_bans: dict[str, tuple[str, ...]] = LIBRARY_BANS,
                    pure_libraries: dict[str, tuple[str, ...]] = PURE_LIBRARIES,
                    roots: tuple[str, ...] = ROOTS) -> set[str]:
    modules, imports = collect_imports(root, roots)
    found: set[str] = set()
    for module in sorted(modules):
        if layer_of(module, layers) is None:
            found.add(f"{module} has no layer in LAYERS")
    edges: set[tuple[str, str]] = set()
    for imp in imports:
        source_layer = layer_of(imp.module, layers)
        if source_layer is None:
            continue
        top = imp.target.split(".")[0]
        if top in roots:
            target_module = _module_part(imp.target, modules)
            target_layer = layer_of(target_module, layers)
            if imp.typing_only:
                continue
            if target_layer is not None and target_layer != source_layer:
                edges.add((source_layer, target_layer))
            allowed = _under(imp.target, source_layer) or any(_under(imp.target, a) for a in layers[source_layer])
            if not allowed:
                found.add(f"{imp.module} -> {target_module}")
            continue
        if top in _rules_for(source_layer, library_bans):
            found.add(f"{imp.module} -> {top}")
        elif (any(_under(source_layer, key) for key in pure_libraries)
                and top not in sys.stdlib_module_names and top not in _rules_for(source_layer, pure_libraries)):
            found.add(f"{imp.module} -> {top} (not a pure library)")
    found |= {f"cycle {a} -> {b}" for a, b in edges_on_cycles(edges)}
    return found


def edges_on_cycles(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """The edges a -> b with a path back from b to a."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)

    def reaches(start: str, goal: str) -> bool:
        seen, stack = {start}, [start]
        while stack:
            node = stack.pop()
            if node == goal:
                return True
            for nxt in graph.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    stack.append(nxt)
        return False

    return {(a, b) for a, b in edges if reaches(b, a)}


# --- the rules on isoflow --------------------------------------------------------------

@pytest.fixture(scope="module")
def violations() -> set[str]:
    return find_violations(REPO)


def test_no_new_violations(violations: set[str]) -> None:
    new = sorted(violations - KNOWN_VIOLATIONS)
    assert not new, ("imports that break the rules of docs/architecture.md (fix the import, or change "
                     "LAYERS together with the doc if the rule itself should change):\n  " + "\n  ".join(new))


def test_known_violations_are_still_real(violations: set[str]) -> None:
    fixed = sorted(KNOWN_VIOLATIONS - violations)
    assert not fixed, "fixed, so delete from KNOWN_VIOLATIONS:\n  " + "\n  ".join(fixed)


def test_every_layer_is_a_real_package_or_module() -> None:
    modules, _ = collect_imports(REPO)
    missing = [layer for layer in LAYERS if layer not in modules]
    assert not missing, f"LAYERS names modules that do not exist: {missing}"


# --- the checker itself, on a synthetic project ---------------------------------------

def _write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


CLEAN = {
    "engine/__init__.py": "",
    "engine/errors.py": "class IsoflowError(Exception): ...\n",
    "engine/domain/__init__.py": "",
    "engine/domain/calendar.py": "import datetime\nimport holidays\nfrom engine.errors import IsoflowError\n",
    "engine/procedure/__init__.py": "from .model import compile_model\n",
    "engine/procedure/model.py": "from SpiffWorkflow.bpmn import BpmnWorkflow\nfrom ..domain import calendar\n",
    "engine/adapters/__init__.py": "",
    "engine/adapters/db.py": "import sqlalchemy\nfrom engine.procedure import compile_model\n",
    "engine/services/__init__.py": "",
    "engine/services/dossiers.py": "from engine.adapters import db\nfrom engine.domain.calendar import x\n",
    "engine/views/__init__.py": "",
    "engine/views/inbox.py": (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from engine.services.dossiers import Dossier\n"
        "from engine.adapters.db import Row\n"),
    "engine/scheduler/__init__.py": "",
    "engine/scheduler/sweep.py": "from engine.services import dossiers\nfrom engine.views import inbox\n",
    "api/__init__.py": "import flask\nfrom engine.services import dossiers\n\ndef create_app(): ...\n",
    "cli/__init__.py": "",
    "cli/serve.py": "def run():\n    from api import create_app\n",
}
SMALL_LAYERS = {key: LAYERS[key] for key in (
    "engine", "engine.errors", "engine.domain", "engine.procedure", "engine.adapters", "engine.services",
    "engine.views", "engine.scheduler", "api", "cli")}


def _check(tmp_path: Path, changes: dict[str, str]) -> set[str]:
    return find_violations(_write(tmp_path, {**CLEAN, **changes}), layers=SMALL_LAYERS)


def test_checker_accepts_a_clean_project(tmp_path: Path) -> None:
    assert _check(tmp_path, {}) == set()


def test_checker_finds_a_framework_in_the_domain_even_inside_a_function(tmp_path: Path) -> None:
    found = _check(tmp_path, {
        "engine/domain/calendar.py": "import datetime\n\ndef f():\n    import sqlalchemy.orm\n",
        "engine/domain/roles.py": "from SpiffWorkflow.bpmn import BpmnWorkflow\n",
        "engine/domain/clock.py": "import jsonschema\n",
    })
    assert found == {"engine.domain.calendar -> sqlalchemy", "engine.domain.roles -> SpiffWorkflow",
                     "engine.domain.clock -> jsonschema (not a pure library)"}


def test_checker_finds_flask_anywhere_in_engine_but_allows_it_in_api(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/scheduler/sweep.py": "from flask import current_app\n"})
    assert found == {"engine.scheduler.sweep -> flask"}


def test_checker_finds_sqlalchemy_in_the_dialect(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/procedure/model.py": "from sqlalchemy import select\n"})
    assert found == {"engine.procedure.model -> sqlalchemy"}


def test_checker_finds_a_forbidden_layer_import_and_the_cycle_it_closes(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/adapters/db.py": "def f():\n    from engine.services.dossiers import receive\n"})
    assert found == {"engine.adapters.db -> engine.services.dossiers",
                     "cycle engine.adapters -> engine.services", "cycle engine.services -> engine.adapters"}


def test_checker_resolves_relative_imports(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/views/inbox.py": "from ..services import dossiers\n"})
    assert found == {"engine.views.inbox -> engine.services.dossiers"}


def test_checker_ignores_imports_under_type_checking_for_layers_not_for_frameworks(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/domain/calendar.py": (
        "import typing\nif typing.TYPE_CHECKING:\n    from engine.services.dossiers import D\n"
        "    from sqlalchemy import Connection\nelse:\n    from engine.views import inbox\n")})
    assert found == {"engine.domain.calendar -> sqlalchemy", "engine.domain.calendar -> engine.views.inbox",
                     # views -> adapters -> procedure -> domain -> views
                     "cycle engine.domain -> engine.views", "cycle engine.views -> engine.adapters",
                     "cycle engine.adapters -> engine.procedure", "cycle engine.procedure -> engine.domain"}


def test_checker_keeps_api_and_cli_apart_except_the_app_factory(tmp_path: Path) -> None:
    found = _check(tmp_path, {"api/web.py": "from cli import serve\n", "cli/demo.py": "import api\n"})
    assert found == {"api.web -> cli.serve", "cli.demo -> api", "cycle api -> cli", "cycle cli -> api"}


def test_checker_wants_every_module_in_a_layer(tmp_path: Path) -> None:
    found = _check(tmp_path, {"engine/newthing.py": "import os\n"})
    assert found == {"engine.newthing has no layer in LAYERS"}
