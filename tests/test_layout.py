"""The code's layout rules, read from the source with ``ast`` (nothing is imported or run).

Why: the packages are layered so that each can be understood, tested and reused without the ones above
it (the index without the web app, ingest without the quiz), and short modules stay readable. Imports
written inside functions count like top-level ones: a lazy import still ties the two modules together.

(a) Import direction. Layers, lowest first::

    npcqa  ->  index  ->  ingest | quiz  ->  web  ->  app  ->  evals

A module may import from its own package or from a package of a lower layer only. ``ingest`` and ``quiz``
share a layer and must not import each other; ``evals`` (question sets, harness, benchmarks) sits on top
and may import anything, ``app`` everything but ``evals``. The tests are outside the rule.
(b) No import cycles between modules (function-level imports included).
(c) No Python module (product or test) over ``MAX_LINES`` lines. Data files (``.json``, ``.jsonl``,
``.toml``, ``.npz``; generated or not) are not modules and are not counted.

Violations that exist today are listed by name in the ``KNOWN_*`` tables, each with the reason it is still
there, so that this test passes now and fails on any new one; once a violation is fixed, its entry must be
removed (the test says so), so a fixed one cannot come back unnoticed.
"""
from __future__ import annotations

import ast
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from support import REPO

LAYERS = {"npcqa": 0, "index": 1, "ingest": 2, "quiz": 2, "web": 3, "app": 4, "evals": 5}
# Past this a module does more than one thing; the style guide's soft limit is about 300.
MAX_LINES = 400

# (importing module, imported module): why it is still there. Empty: keep it so.
KNOWN_UPWARD_IMPORTS: dict[tuple[str, str], str] = {}
# modules that import each other (directly or around a loop): why. Empty: keep it so.
KNOWN_CYCLES: dict[frozenset[str], str] = {}
# path relative to the repo: why it is still longer than MAX_LINES. Empty: keep it so.
KNOWN_LONG_MODULES: dict[str, str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    imported: str  # dotted module name (one of the repo's modules)
    line: int


@cache
def product_modules() -> dict[str, Path]:
    """Every module of the packages and top-level modules that pyproject.toml installs."""
    tool = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mods = {name: REPO / f"{name}.py" for name in tool["py-modules"]}
    for package in tool["packages"]:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return mods


def imported_names(module: str, source: str, is_package: bool = False) -> list[tuple[str, int]]:
    """(dotted name, line) of every import statement anywhere in the source (inside functions too),
    relative ones resolved; ``from pkg import x`` also yields ``pkg.x`` (x may be a module)."""
    package = module if is_package else module.rpartition(".")[0]
    out: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            out.append((base, node.lineno))
            out += [(f"{base}.{alias.name}", node.lineno) for alias in node.names]
    return out


@cache
def imports() -> tuple[Import, ...]:
    mods = product_modules()
    found = {Import(m, name, line) for m, path in mods.items()
             for name, line in imported_names(m, path.read_text(encoding="utf-8"), path.name == "__init__.py")
             if name in mods and name != m}
    return tuple(sorted(found, key=lambda i: (i.importer, i.imported, i.line)))


def package_of(module: str) -> str:
    return module.split(".")[0]


def allowed(importer: str, imported: str) -> bool:
    a, b = package_of(importer), package_of(imported)
    return a == b or LAYERS[b] < LAYERS[a]


def cycles() -> list[frozenset[str]]:
    graph: dict[str, set[str]] = {m: set() for m in product_modules()}
    for imp in imports():
        graph[imp.importer].add(imp.imported)
    return find_cycles(graph)


def find_cycles(graph: dict[str, set[str]]) -> list[frozenset[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(frozenset(component))
    return found


def python_files() -> dict[str, Path]:
    """The product modules and the test modules, by path relative to the repo."""
    paths = list(product_modules().values()) + sorted((REPO / "tests").glob("*.py"))
    return {p.relative_to(REPO).as_posix(): p for p in paths}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


# ------------------------------------------------------------------ the rules
def test_every_package_has_a_layer():
    packages = {package_of(m) for m in product_modules()}
    assert packages <= set(LAYERS), f"give these packages a layer in LAYERS: {sorted(packages - set(LAYERS))}"
    assert len(product_modules()) > 50 and len(imports()) > 200  # the scan really sees the code


def test_imports_go_down_the_layers():
    upward = {}
    for imp in imports():
        if not allowed(imp.importer, imp.imported) and (imp.importer, imp.imported) not in KNOWN_UPWARD_IMPORTS:
            upward.setdefault((imp.importer, imp.imported), imp.line)
    assert not upward, "imports against the layers (npcqa -> index -> ingest|quiz -> web -> app -> evals): " + \
        ", ".join(f"{a} imports {b} (line {n})" for (a, b), n in sorted(upward.items()))


def test_no_import_cycles():
    new = [sorted(c) for c in cycles() if c not in KNOWN_CYCLES]
    assert not new, f"modules that import each other (directly or around a loop): {new}"


def test_no_module_is_too_long():
    long = {rel: n for rel, p in python_files().items() if (n := line_count(p)) > MAX_LINES and rel not in KNOWN_LONG_MODULES}
    assert not long, f"modules over {MAX_LINES} lines (split them): {long}"


def test_known_violations_are_still_real():
    """A fixed violation leaves its table, so that it cannot come back unnoticed."""
    edges = {(i.importer, i.imported) for i in imports()}
    fixed = [f"KNOWN_UPWARD_IMPORTS {k}" for k in KNOWN_UPWARD_IMPORTS if k not in edges or allowed(*k)]
    fixed += [f"KNOWN_CYCLES {sorted(k)}" for k in KNOWN_CYCLES if k not in cycles()]
    files = python_files()
    fixed += [f"KNOWN_LONG_MODULES {k!r}" for k in KNOWN_LONG_MODULES if k not in files or line_count(files[k]) <= MAX_LINES]
    assert not fixed, f"fixed, remove from the list: {fixed}"


def test_the_checks_catch_what_they_name():
    """The checks themselves: imports inside functions and relative ones are seen, a ring of three modules
    is one cycle, upward and lateral (ingest/quiz) imports are refused."""
    source = "import os\nfrom . import lawdb\ndef f():\n    from index.store import ChunkStore\n    import web.chat\n"
    assert [n for n, _ in imported_names("ingest.sync", source)] == [
        "os", "ingest", "ingest.lawdb", "index.store", "index.store.ChunkStore", "web.chat"]
    ring = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e"}}
    assert find_cycles(ring) == [frozenset({"a", "b", "c"})]
    assert allowed("web.chat", "index.engine") and allowed("index.engine", "npcqa.settings")
    assert allowed("evals.harness", "app") and allowed("quiz.select", "quiz.model")
    assert not allowed("index.engine", "web.chat") and not allowed("npcqa.settings", "index.store")
    assert not allowed("ingest.sync", "quiz.select") and not allowed("quiz.select", "ingest.sync")
    assert not allowed("app", "evals.harness")
