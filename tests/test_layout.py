"""The layout's rules, checked on the source: small modules, no import circle, a report that reads the database alone."""

import ast
from pathlib import Path

from conftest import ROOT

SUITE = ROOT / "suite"
MAX_LINES = 500


def modules() -> dict[str, Path]:
    """Every module of the `suite` package by dotted name."""
    out = {}
    for path in sorted(SUITE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def imports(path: Path, top_level_only: bool) -> set[str]:
    """The `suite` modules a file imports (at module level only, or anywhere)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("suite"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)  # `from suite.data import core`
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("suite"))
    return found


def test_no_module_is_over_500_lines():
    long = {name: n for name, path in modules().items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines (make a folder of files): {long}"


def import_graph() -> dict[str, set[str]]:
    """module -> the `suite` modules it imports, at module level or inside functions. A package's
    `__init__` importing its own modules is how it registers them, not a dependency: left out."""
    mods = modules()
    graph: dict[str, set[str]] = {}
    for name, path in mods.items():
        for target in imports(path, top_level_only=False):
            while target not in mods and "." in target:
                target = target.rsplit(".", 1)[0]
            if target not in mods or target == name:
                continue
            if path.name == "__init__.py" and target.startswith(name + "."):
                continue
            graph.setdefault(name, set()).add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt, path + [nxt])
                if found:
                    return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start, [start])
            if found:
                return found
    return None


def test_find_cycle_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_circle_between_modules():
    """No module of the suite imports, directly or through others, a module that imports it back
    (at module level or inside a function: an import inside a function only hides a circle)."""
    cycle = find_cycle(import_graph())
    assert cycle is None, f"import circle: {' -> '.join(cycle)}"


def test_the_report_reads_the_database_alone():
    """The report imports the store, the claims, their statistics (the sequential procedure's too), competence gates
    and aggregation, the metrics' directions, the registry, the learning-rate choice, the lesson's statements and
    its own modules: nothing that trains or loads data."""
    allowed = ("suite.report", "suite.store", "suite.claims", "suite.statistics", "suite.sequential", "suite.adequacy",
               "suite.aggregation", "suite.metrics", "suite.registry", "suite.selection", "suite.differences",
               "suite.lesson")
    for name, path in modules().items():
        if name.startswith("suite.report"):
            bad = {m for m in imports(path, top_level_only=False)
                   if m != "suite" and not m.startswith(allowed) and not m.startswith("suite.UsageError")}
            assert not bad, f"{name} imports {sorted(bad)}"


def test_no_private_keras_api():
    for path in [*SUITE.rglob("*.py"), *(ROOT / "tasks").rglob("*.py")]:
        assert "keras.src" not in path.read_text(), path


def test_no_private_name_is_imported_from_another_module():
    """A leading underscore means "only this module": another module that needs the name gets a public one."""
    found = []
    for path in [*SUITE.rglob("*.py"), *(ROOT / "tasks").rglob("*.py"), *(ROOT / "bench").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in ("suite", "tasks"):
                found += [f"{path.relative_to(ROOT)}: {node.module}.{a.name}" for a in node.names
                          if a.name.startswith("_") and not a.name.startswith("__")]
            elif isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__") \
                    and isinstance(node.value, ast.Name) and node.value.id in MODULE_ALIASES:
                found.append(f"{path.relative_to(ROOT)}: {node.value.id}.{node.attr}")
    assert not found, found


# names under which the suite's modules are imported whole (`from suite.data import core`)
MODULE_ALIASES = {"core", "transforms", "workers", "worker", "store", "frames", "tables", "plan", "objectives"}
