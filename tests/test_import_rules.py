"""Import rules between the layers, read from the source files with ast (nothing is
imported, so a rule holds for code no test runs):

- the core (tvirt/ outside tvirt/cli) imports neither textual nor tvirt.cli;
- the screens (tvirt.screens) never import tvirt.cli, and the screens that still import
  libvirt are an allow-list that may only shrink (screens should call core operations);
- the command line (tvirt.cli) has no import circle among its module-level imports.

Every import counts for the first two rules, even one inside a function.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Where each installed package's files live (pyproject's package-dir).
PACKAGES = {"tvirt": ROOT / "tvirt", "tvirt.screens": ROOT / "screens",
            "tvirt.themes": ROOT / "themes"}
# Screens that still import libvirt themselves. Remove a name once that screen only calls
# core operations; never add one. None is left: every screen calls tvirt/ops.
SCREENS_WITH_LIBVIRT: set[str] = set()


def modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            name = ".".join([package, *parts])
            if package == "tvirt" and name.startswith(("tvirt.screens", "tvirt.themes")):
                continue
            found[name] = path
    return found


MODULES = modules()


def _is_type_checking(node: ast.stmt) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _targets(name: str, node: ast.Import | ast.ImportFrom) -> Iterator[str]:
    """The modules an import statement in module `name` names."""
    if isinstance(node, ast.Import):
        yield from (alias.name for alias in node.names)
        return
    base = node.module or ""
    if node.level:
        package = name if MODULES[name].name == "__init__.py" else name.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    for alias in node.names:
        # `from tvirt.cli import pipes` names the submodule, not the package.
        sub = f"{base}.{alias.name}"
        yield sub if sub in MODULES else base


def imports(name: str, top_level_only: bool = False) -> set[str]:
    tree = ast.parse(MODULES[name].read_text(), str(MODULES[name]))
    if top_level_only:
        nodes = [n for n in tree.body if not _is_type_checking(n)]
        stack: list[ast.AST] = list(nodes)
        found: list[ast.AST] = []
        while stack:  # module-level statements, into if/try but not def or class bodies
            node = stack.pop()
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            found.append(node)
            stack.extend(ast.iter_child_nodes(node))
    else:
        found = list(ast.walk(tree))
    return {
        target
        for node in found
        if isinstance(node, ast.Import | ast.ImportFrom)
        for target in _targets(name, node)
    }


def _under(target: str, *packages: str) -> bool:
    return any(target == p or target.startswith(f"{p}.") for p in packages)


def core() -> list[str]:
    return [m for m in MODULES
            if _under(m, "tvirt") and not _under(m, "tvirt.cli", "tvirt.screens", "tvirt.themes")]


def screens() -> list[str]:
    return [m for m in MODULES if _under(m, "tvirt.screens")]


def graph_of(nodes: list[str]) -> dict[str, set[str]]:
    """Who imports whom among these modules, at module level."""
    return {n: {t for t in imports(n, top_level_only=True) if t in nodes} for n in nodes}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every strongly connected group of more than one module (or a module importing
    itself): each is an import circle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1 or node in graph[node]:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def test_the_layers_are_found() -> None:
    assert {"tvirt.host", "tvirt.errors", "tvirt.storage"} <= set(core())
    assert {"tvirt.screens.app", "tvirt.screens.vm_hardware"} <= set(screens())
    assert {"tvirt.cli", "tvirt.cli.plumbing", "tvirt.cli.vms", "tvirt.cli.storage"} <= set(
        MODULES
    )
    # The walk sees imports inside functions too: the CLI starts the app lazily.
    assert "tvirt.screens.app" in imports("tvirt.cli")
    assert "tvirt.screens.app" not in imports("tvirt.cli", top_level_only=True)


def test_the_core_imports_neither_textual_nor_the_command_line() -> None:
    bad = sorted(
        f"{m} imports {t}"
        for m in core()
        for t in imports(m)
        if _under(t, "textual", "tvirt.cli")
    )
    assert bad == []


def test_screens_never_import_the_command_line() -> None:
    bad = sorted(
        f"{m} imports {t}" for m in screens() for t in imports(m) if _under(t, "tvirt.cli")
    )
    assert bad == []


def test_screens_importing_libvirt_only_shrink() -> None:
    using = {m for m in screens() if any(_under(t, "libvirt") for t in imports(m))}
    assert using - SCREENS_WITH_LIBVIRT == set()


def test_no_import_circle_inside_the_command_line() -> None:
    cli = [m for m in MODULES if _under(m, "tvirt.cli")]
    assert len(cli) >= 10
    assert cycles(graph_of(cli)) == []


def test_the_circle_finder_finds_circles() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}, "f": set()}
    assert sorted(cycles(graph)) == [["a", "b", "c"], ["e"]]


def test_no_import_circle_inside_the_core_or_the_screens() -> None:
    assert len(core()) >= 30 and len(screens()) >= 20
    assert cycles(graph_of(core())) == []
    assert cycles(graph_of(screens())) == []


def test_the_domain_never_imports_the_operations() -> None:
    """The operations sit on the domain modules; a domain module that called back up into
    tvirt.ops would make a circle across the layers."""
    domain = [m for m in core() if not _under(m, "tvirt.ops")]
    assert "tvirt.ops.run" in core() and "tvirt.storage" in domain
    upward = {m: sorted(t for t in imports(m) if _under(t, "tvirt.ops")) for m in domain}
    assert {m: t for m, t in upward.items() if t} == {}
