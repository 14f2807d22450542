"""The package's layers, read from its import statements: front ends reach the core through one seam, and
no module imports itself back through others.

Read from the source (every `import`, at the top of a module or inside a function, except under
`if TYPE_CHECKING:`, which never runs), not from what happens to be imported at run time.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"
PACKAGE = "tickets_mcp"
FRONT_ENDS = ("tickets_mcp.mcp", "tickets_mcp.http")
# What a front end is handed instead (core.backend.Backend): the local tracker, the stores, the entry point.
BEHIND_THE_SEAM = (
    "tickets_mcp.core.local",
    "tickets_mcp.core.local_backend",
    "tickets_mcp.core.local_webhooks",
    "tickets_mcp.dispatch",
    "tickets_mcp.stores",
    "tickets_mcp.cli",
)
FRONT_ENDS_AND_ENTRY = ("tickets_mcp.mcp", "tickets_mcp.http", "tickets_mcp.cli")


def modules() -> dict[str, Path]:
    """Every module of the package by dotted name (a package by its own name, for its __init__.py)."""
    found: dict[str, Path] = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements under `node` that run: a TYPE_CHECKING block's body is skipped, its else kept."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child.test):
            for other in child.orelse:
                yield from _import_nodes_of(other)
            continue
        yield from _import_nodes_of(child)


def _import_nodes_of(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    if isinstance(node, ast.Import | ast.ImportFrom):
        yield node
    else:
        yield from _import_nodes(node)


def imports_of(name: str, path: Path, known: Mapping[str, Path]) -> set[str]:
    """The package's modules that `name` imports: `from a.b import c` is a.b.c when c is a module, else a.b."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports_of(name, path, known) for name, path in known.items()}


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_front_ends_import_neither_the_local_tracker_nor_a_store_nor_the_entry_point() -> None:
    graph = import_graph()
    crossings = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if within(name, FRONT_ENDS)
        for target in targets
        if within(target, BEHIND_THE_SEAM)
    )
    assert crossings == []


def test_the_core_imports_no_front_end_nor_the_entry_point() -> None:
    graph = import_graph()
    crossings = sorted(
        f"{name} imports {target}"
        for name, targets in graph.items()
        if within(name, ("tickets_mcp.core", "tickets_mcp.domain", "tickets_mcp.stores"))
        for target in targets
        if within(target, FRONT_ENDS_AND_ENTRY)
    )
    assert crossings == []


def test_no_module_imports_itself_back_through_others() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_circle_and_nothing_else() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set[str]()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_imports_under_type_checking_are_not_counted(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "import tickets_mcp.errors\n"
        "if TYPE_CHECKING:\n    import tickets_mcp.config\n"
        "def later() -> None:\n    from tickets_mcp.domain import rules\n",
        encoding="utf-8",
    )
    assert imports_of("m", module, modules()) == {"tickets_mcp.errors", "tickets_mcp.domain.rules"}
