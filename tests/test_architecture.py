"""The architecture as a test: imports run one way down the stages, with no cycle and no strings.

The import graph of ``engine/`` and ``strategies/`` is read with ``ast`` (imports inside functions
and under ``TYPE_CHECKING`` included; module names passed to ``importlib.import_module`` or
``__import__`` too) and checked against :data:`STAGES`, the table docs/architecture.md draws.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("engine", "strategies")
#: The one package whose ``__init__`` is code: ``import engine.api as bt`` is the public API,
#: so its ``__init__`` re-exports ``engine.api.backtests`` and holds the two lazy wrappers that
#: load ``engine.api.sweeps`` on first use (see LAZY). It registers nothing either.
PUBLIC_API = ("engine.api",)

#: Stage of every module, by longest name prefix: (rank, stage). A module may import modules of
#: a lower rank, and of its own rank only inside its own stage. ``engine`` itself (the
#: package's ``__init__``) is the top: it may hold a public API that imports any stage.
STAGES: dict[str, tuple[int, str]] = {
    "engine.errors": (0, "foundation"),
    "engine.result": (0, "foundation"),
    "engine.files": (0, "foundation"),
    "engine.folders": (0, "foundation"),
    "engine.params": (0, "foundation"),
    "engine.checks": (0, "foundation"),
    "engine.sizing": (0, "foundation"),
    "engine.distinct": (0, "foundation"),
    "engine.data": (1, "data"),
    "engine.analysis": (1, "analysis"),
    "engine.rules": (1, "rules"),
    "engine.backtest": (2, "backtest"),
    "strategies": (3, "strategies"),
    "engine.fast": (4, "fast"),
    "engine.variants": (4, "variants"),
    "engine.jobs.runner": (5, "runner"),
    "engine.jobs.tickers": (5, "runner"),
    "engine.jobs.montecarlo_exec": (5, "montecarlo"),
    "engine.jobs.montecarlo_run": (5, "montecarlo"),
    "engine.report": (6, "report"),
    "engine.sweep": (7, "sweep"),
    "engine.regress": (7, "regress"),
    "engine.api": (8, "api"),
    "engine.api.backtests": (8, "api"),
    "engine.api.sweeps": (8, "api"),
    "engine.cli": (9, "cli"),
    "engine.__main__": (10, "entry points"),
    "engine.testing": (10, "testing"),
    "engine": (11, "the package"),
}

#: Third-party packages that only some modules may import (by module-name prefix).
RESTRICTED = {
    "backtrader": ("engine.backtest", "strategies"),
    "matplotlib": (
        "engine.report.figures",
        "engine.report.charts",
        "engine.report.price_chart",
        "engine.report.labels",
        "engine.report.montecarlo_chart",
        "engine.sweep.charts",
    ),
    "numba": ("engine.fast",),
    "yfinance": ("engine.data.download",),
    "dask": ("engine.sweep.backends",),
}

#: The only imports inside functions, and why (each has a comment with the measured cost).
LAZY = {
    ("engine.data.download", "yfinance"): "~1.1 s to import; only a download needs it",
    ("engine.sweep.backends", "dask.distributed"): "~0.35 s; only --backend dask needs it",
    ("engine.cli.sweep_cmd", "engine.cli.sweep_run"): "the sweep stage: numba, its kernels, ...",
    ("engine.report.chart_set", "engine.report.charts"): "matplotlib ~0.4 s; drawer, pool",
    ("engine.report.chart_set", "engine.report.figures"): "matplotlib; drawer, pool",
    ("engine.report.chart_set", "engine.report.price_chart"): "matplotlib; drawer, pool",
    ("engine.report.chart_set", "engine.report.montecarlo_chart"): "matplotlib; drawer, pool",
    ("engine.jobs.montecarlo_exec", "engine.fast.api"): "numba + kernels, 0.5-0.9 s; replays only",
    ("engine.sweep.engines", "engine.fast.api"): "numba + kernels ~0.2-0.3 s; not on a resume",
    ("engine.jobs.montecarlo_exec", "engine.fast.replay"): "numba + kernels; replays only",
    ("engine.jobs.montecarlo_exec", "engine.fast.trace"): "numba + kernels; replays only",
    ("engine.api", "engine.api.sweeps"): "the sweep stage again: only sweep() / walkforward()",
    ("engine.sweep.outputs", "engine.sweep.charts"): "matplotlib ~0.27 s; not with --no-files",
    ("engine.api.sweeps", "engine.sweep.charts"): "matplotlib ~0.27 s; heatmap_figure() only",
    ("engine", "engine.api"): "the whole engine; `import engine` stays light",
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    target: str  # the module (or package) imported, as written
    line: int
    in_function: bool


def module_files() -> dict[str, Path]:
    """Module name -> file, for every module of :data:`PACKAGES` (packages by ``__init__``)."""
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out[".".join(parts)] = path
    return out


MODULES = module_files()


def _parents(tree: ast.AST) -> dict[ast.AST, ast.AST]:
    return {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}


def _in_function(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            return True
    return False


def _absolute(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    if MODULES[module].name != "__init__.py":
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _names_a_module(value: object) -> bool:
    """``"engine.x.y"``: a dotted name of one of our modules (not a word like ``"engine"``)."""
    return isinstance(value, str) and "." in value and value in MODULES


def _is_string_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name in ("import_module", "__import__")


def imports_of(module: str) -> Iterator[Import]:
    """Every import of ``module``: statements anywhere, and importlib / __import__ calls."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    parents = _parents(tree)
    for node in ast.walk(tree):
        lazy = _in_function(node, parents)
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno, lazy)
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, node)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield Import(module, sub if sub in MODULES else base, node.lineno, lazy)
        elif isinstance(node, ast.Call) and _is_string_import(node):
            arg = node.args[0] if node.args else None
            literal = isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            name = arg.value if literal else "<not a literal>"
            yield Import(module, f"string:{name}", node.lineno, lazy)
        elif isinstance(node, ast.Constant) and _names_a_module(node.value):
            # a module's name as a string (e.g. a tuple later fed to importlib): an import too
            yield Import(module, f"string:{node.value}", node.lineno, lazy)


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def _internal(target: str) -> str | None:
    """The module of ours that ``target`` names (longest known prefix), or None."""
    parts = target.split(".")
    while parts:
        name = ".".join(parts)
        if name in MODULES:
            return name
        parts.pop()
    return None


def graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in ALL_IMPORTS:
        target = _internal(imp.target.removeprefix("string:"))
        if target is not None and target != imp.module:
            edges[imp.module].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), plus self-loops."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in edges[v]:
                found.append(sorted(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def stage(module: str) -> tuple[int, str]:
    """(rank, stage) of a module: its longest prefix in :data:`STAGES`."""
    parts = module.split(".")
    while parts:
        name = ".".join(parts)
        if name in STAGES:
            return STAGES[name]
        parts.pop()
    raise KeyError(module)


# ------------------------------------------------------------------------------------ the checker


def test_the_checker_finds_a_cycle_and_reads_every_kind_of_import(tmp_path: Path) -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"a"}}) == [["a"]] and cycles({"a": {"b"}, "b": set()}) == []
    code = (
        "import importlib\n"
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from engine.result import RunResult\n"
        "def f():\n    from engine.files import plain_json\n"
        "    return importlib.import_module('engine.jobs.runner')\n"
        "MODS = ('engine.report.display',)\n"
    )
    fake = "engine.zz_probe"
    MODULES[fake] = tmp_path / "zz_probe.py"
    MODULES[fake].write_text(code)
    try:
        got = {(i.target, i.in_function) for i in imports_of(fake)}
    finally:
        del MODULES[fake]
    assert ("engine.result", False) in got and ("engine.files", True) in got
    assert ("string:engine.jobs.runner", True) in got
    assert ("string:engine.report.display", False) in got


# ------------------------------------------------------------------------------------ the rules


def test_no_import_cycles() -> None:
    assert cycles(graph()) == []


def test_no_module_is_imported_by_name() -> None:
    found = [
        f"{i.module}:{i.line} {i.target}" for i in ALL_IMPORTS if i.target.startswith("string:")
    ]
    assert found == [], "import modules with an import statement, not by name"


def test_every_module_has_a_stage() -> None:
    missing = []
    for module in MODULES:
        try:
            stage(module)
        except KeyError:
            missing.append(module)
    assert missing == [], "add the new package to STAGES here and to docs/architecture.md"


def test_imports_run_down_the_stages() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        target = _internal(imp.target)
        if target is None or target == imp.module:
            continue
        (mine, my_stage), (theirs, their_stage) = stage(imp.module), stage(target)
        if theirs > mine or (theirs == mine and my_stage != their_stage):
            wrong.append(
                f"{imp.module}:{imp.line} imports {target} ({their_stage} from {my_stage})"
            )
    assert wrong == []


@pytest.mark.parametrize("package", sorted(RESTRICTED))
def test_heavy_libraries_stay_in_their_modules(package: str) -> None:
    allowed = RESTRICTED[package]
    wrong = [
        f"{i.module}:{i.line} imports {i.target}"
        for i in ALL_IMPORTS
        if i.target.split(".")[0] == package and not i.module.startswith(allowed)
    ]
    assert wrong == []


def test_analysis_is_numpy_and_pandas_only() -> None:
    wrong = []
    for imp in ALL_IMPORTS:
        if not imp.module.startswith("engine.analysis"):
            continue
        root = imp.target.split(".")[0]
        ours = _internal(imp.target)
        if ours is not None:
            ok = ours.startswith("engine.analysis") or ours in ("engine.errors", "engine.result")
        else:
            ok = root in ("numpy", "pandas") or root in sys.stdlib_module_names
        if not ok:
            wrong.append(f"{imp.module}:{imp.line} imports {imp.target}")
    assert wrong == []


def test_imports_are_at_the_top_unless_listed() -> None:
    lazy = {
        (i.module, i.target)
        for i in ALL_IMPORTS
        if i.in_function and not i.target.startswith("string:")
    }
    assert lazy == set(LAZY), "import at the top, or list it in LAZY with its measured cost"


def test_subpackages_register_nothing_on_import() -> None:
    # a subpackage's __init__ is its docstring, at most re-exporting names of its own modules:
    # importing it runs nothing and registers nothing
    busy = []
    for module, path in MODULES.items():
        if path.name != "__init__.py" or module in PACKAGES + PUBLIC_API:
            continue
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            docstring = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            own = isinstance(node, ast.ImportFrom) and (
                node.module == "__future__" or (node.module or "").startswith(module + ".")
            )
            names = isinstance(node, ast.Assign) and [
                getattr(t, "id", "") for t in node.targets
            ] == ["__all__"]
            if not (docstring or own or names):
                busy.append(f"{module}:{node.lineno}")
    assert busy == []


def test_test_modules_never_import_each_other() -> None:
    wrong = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            wrong += [
                f"{path.relative_to(ROOT)} imports {n}"
                for n in names
                if n.split(".")[0] == "tests" or n.split(".")[-1].startswith("test_")
            ]
    assert wrong == [], "shared test code goes in engine/testing/"


def test_tests_mirror_the_packages() -> None:
    # one test folder per stage package, each a package, and no two test modules share a name
    folders = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and p.name != "__pycache__"}
    packages = {p.name for p in (ROOT / "engine").iterdir() if (p / "__init__.py").exists()}
    assert packages - {"testing"} <= folders | {"testing"}
    for folder in folders:
        assert (ROOT / "tests" / folder / "__init__.py").exists(), folder
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert len(names) == len(set(names))
