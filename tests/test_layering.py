"""The import layering of ``opencasb``: lower layers never import higher ones, and no module
imports itself through others.

Every module under ``src/opencasb`` is parsed with :mod:`ast` (no module is imported), and every
``import`` counts: at module level, under ``if TYPE_CHECKING:``, and inside function bodies,
since an import in a function is a dependency all the same (it only fails later). ``from a
import b`` is an edge to ``a.b`` when ``a.b`` is a module, else to ``a``.

Rules:
    * ``opencasb.http`` never imports ``opencasb.apps`` (HTTP serves the apps, not the reverse);
    * ``opencasb.apps`` never imports ``opencasb.ingest`` (the runner drives the apps);
    * the module import graph has no cycle (a package's ``__init__`` counts as a module).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import opencasb

ROOT = Path(opencasb.__file__).resolve().parent
FORBIDDEN = [
    ("opencasb.http", "opencasb.apps"),
    ("opencasb.apps", "opencasb.ingest"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> Iterator[str]:
    """The ``opencasb`` modules that module ``name`` imports, anywhere in its body."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _resolve(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = name.split(".")
                # A package's own module is itself; a module's package is its parent.
                package = package if is_package else package[:-1]
                package = package[: len(package) - (node.level - 1)]
                base = ".".join([*package, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                if sub in known:
                    yield sub
                else:
                    yield from _resolve(base, known)


def _resolve(module: str, known: set[str]) -> Iterator[str]:
    # "import a.b.c" runs a, a.b and a.b.c; the edge that matters is the deepest known one.
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        candidate = ".".join(parts[:i])
        if candidate in known:
            yield candidate
            return


def import_graph() -> dict[str, set[str]]:
    """Module -> the ``opencasb`` modules it imports (itself excluded)."""
    modules = _modules()
    known = set(modules)
    return {
        name: {m for m in _imports(name, path, known) if m != name}
        for name, path in modules.items()
    }


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path that starts and ends on the same module, or None."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for start in sorted(graph):
        if colour[start] != white:
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        colour[start] = grey
        while stack:
            node, edges = stack[-1]
            nxt = next(edges, None)
            if nxt is None:
                colour[node] = black
                stack.pop()
            elif colour.get(nxt, black) == grey:
                path = [n for n, _ in stack]
                return [*path[path.index(nxt) :], nxt]
            elif colour.get(nxt) == white:
                colour[nxt] = grey
                stack.append((nxt, iter(sorted(graph[nxt]))))
    return None


def test_the_graph_sees_every_kind_of_import() -> None:
    """The parser finds function-level, relative and ``from package import module`` imports
    (a parser that missed them would pass every rule below)."""
    graph = import_graph()
    # cli/main.py imports its commands inside functions or at module level; either counts.
    assert graph["opencasb.cli.main"]
    assert "opencasb.apps.base" in graph["opencasb.ingest.runner"]
    assert "opencasb.errors" in graph["opencasb.apps.base"]


def test_find_cycle_reports_the_path() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_lower_layers_never_import_higher_ones() -> None:
    graph = import_graph()
    bad = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        for low, high in FORBIDDEN
        if _within(module, low) and _within(target, high)
    ]
    assert not bad, "\n".join(bad)


def test_no_import_cycles() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


MAX_LINES = 600


def test_no_module_is_over_600_lines() -> None:
    """Small modules with one concept each (design.md); a module that grows past this is
    split, not let be."""
    long = {
        name: n
        for name, path in _modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, long
