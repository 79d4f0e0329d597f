"""The package's layers, derived from its own source: no upward import, no cycle, no oversized module."""

from __future__ import annotations

import ast
from pathlib import Path

import xlkit

PACKAGE = Path(xlkit.__file__).parent
# Lowest first. A module may import its own layer and the layers below it, never one above.
LAYERS = {
    "xlkit.version": 0, "xlkit.errors": 0, "xlkit.kinds": 0, "xlkit.files": 0, "xlkit.caches": 0,
    "xlkit.form": 1,
    "xlkit.intake": 2,
    "xlkit.write": 3,
    "xlkit.bureau": 4,
    "xlkit.campaign": 5,
    "xlkit.web": 6,
    "xlkit.demo": 7,
    "xlkit.cli": 8, "xlkit.__main__": 8,
    "xlkit": 9,  # the façade (xlkit/__init__.py) re-exports the library API
}
MAX_LINES = 400


def module_name(path: Path) -> str:
    parts = ["xlkit", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> int:
    while module not in LAYERS:
        module = module.rpartition(".")[0]
        assert module, "every module belongs to a layer"
    return LAYERS[module]


def imports_of(path: Path) -> set[str]:
    """xlkit modules imported by a source file, relative imports resolved (TYPE_CHECKING blocks included)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "xlkit":
                continue
            modules = {f"{target}.{alias.name}" for alias in node.names}
            known = {m for m in modules if (PACKAGE.parent / (m.replace(".", "/") + ".py")).exists()}
            found |= known or {target}
        elif isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "xlkit"}
    return found


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports_of(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_no_upward_import() -> None:
    upward = [f"{m} (layer {layer(m)}) imports {t} (layer {layer(t)})" for m, targets in graph().items()
              for t in targets if m != "xlkit" and layer(t) > layer(m)]
    assert not upward, "\n".join(upward)


def test_no_module_imports_the_facade() -> None:
    assert not [m for m, targets in graph().items() if "xlkit" in targets and m != "xlkit"]


def test_no_import_cycle() -> None:
    g = graph()
    edges = {m: {t for t in targets if t in g and t != "xlkit"} for m, targets in g.items() if m != "xlkit"}
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                raise AssertionError("import cycle: " + " → ".join([*path[path.index(target):], target]))
            if target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module)


def test_graph_sees_relative_imports() -> None:
    """The test itself can fail: it finds the known edges of the layering."""
    g = graph()
    assert "xlkit.form.layout" in g["xlkit.form.placement"]
    assert "xlkit.errors" in g["xlkit.form.formula"]
    assert "xlkit.intake.identify" in g["xlkit.write.fill"]


def test_modules_stay_small() -> None:
    long = [f"{p.relative_to(PACKAGE)}: {n} lines" for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert not long, long


def test_facade_exports_the_library_api() -> None:
    assert sorted(xlkit.__all__) == sorted(["__version__", *xlkit._EXPORTS])
    for name in xlkit.__all__:
        assert getattr(xlkit, name) is not None, name
