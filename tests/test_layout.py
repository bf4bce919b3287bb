"""The tree's three parts keep their roles: the live engine never imports the command line or the model
workshop, the bridge never imports the runtime, and no two of our modules import each other in a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"runtime": "facecast.runtime", "bridge": "facecast.bridge"}


def _modules(root: Path = ROOT) -> dict[str, Path]:
    mods = {}
    for folder, pkg in PACKAGES.items():
        for path in (root / folder).rglob("*.py"):
            rel = path.relative_to(root / folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            mods[".".join([pkg, *parts])] = path
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """Every module of ours that `name` imports, at top level or inside a function."""
    base = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = base.split(".")[:len(base.split(".")) - (node.level - 1)]
                mod = ".".join(parts + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            targets = [mod] + [f"{mod}.{a.name}" for a in node.names]
        for t in targets:
            while t and t not in mods:
                t = t.rsplit(".", 1)[0] if "." in t else ""
            if t and t != name and not name.startswith(t + "."):
                out.add(t)
    return out


def _graph(root: Path = ROOT) -> dict[str, set[str]]:
    mods = _modules(root)
    return {name: _imports(name, path, mods) for name, path in mods.items()}


def test_the_engine_imports_neither_the_command_line_nor_the_workshop():
    bad = {f"{m} -> {t}" for m, ts in _graph().items() if m.startswith("facecast.runtime.engine")
           for t in ts if t.startswith(("facecast.runtime.cli", "facecast.runtime.workshop"))}
    assert not bad, sorted(bad)


def test_the_bridge_imports_no_runtime_module():
    bad = {f"{m} -> {t}" for m, ts in _graph().items() if m.startswith("facecast.bridge")
           for t in ts if t.startswith("facecast.runtime")}
    assert not bad, sorted(bad)


def test_the_product_adapters_import_no_test_double():
    bad = {f"{m} -> {t}" for m, ts in _graph().items() if not m.startswith("facecast.runtime.workshop")
           and not m.startswith("facecast.bridge.testing") for t in ts if t.startswith("facecast.bridge.testing")}
    assert not bad, sorted(bad)


def test_no_import_cycles():
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(v: str) -> None:   # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
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
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    assert not cycles, cycles


def test_every_command_module_registers_itself():
    from facecast.runtime import cli

    names = {m.__name__.rsplit(".", 1)[1] for m in cli.COMMAND_MODULES}
    files = {p.stem for p in (ROOT / "runtime" / "cli").glob("*.py")} - {"__init__", "progress", "checks"}
    assert files <= names, f"command modules not registered in cli.COMMAND_MODULES: {sorted(files - names)}"
    parser = cli.build_parser()
    assert {"run", "render", "bake", "listen", "bench", "eval", "vmc", "vts", "virtualcam"} <= set(
        parser._subparsers._group_actions[0].choices)


def test_the_import_reader_sees_imports_inside_functions(tmp_path):
    """The rules above are not vacuous: a function-level import is an import."""
    (tmp_path / "runtime").mkdir()
    (tmp_path / "bridge").mkdir()
    (tmp_path / "runtime" / "a.py").write_text("from facecast.runtime import b\n")
    (tmp_path / "runtime" / "b.py").write_text("def f():\n    from facecast.runtime.a import x\n")
    graph = _graph(tmp_path)
    assert graph["facecast.runtime.a"] == {"facecast.runtime.b"}
    assert graph["facecast.runtime.b"] == {"facecast.runtime.a"}
