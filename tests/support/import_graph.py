"""The import graph of a package, read from the source with `ast` (nothing is imported).

Used by tests/test_boundaries.py and, as a script, to measure a tree:
`python tests/support/import_graph.py [ROOT]` prints modules, edges, cycles and the edges themselves.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

PACKAGE = "otel_claude"


@dataclass(frozen=True)
class ImportRef:
    """One imported thing as written: `module` is absolute; `name` is the imported attribute (None for `import x`)."""

    importer: str
    module: str
    name: str | None
    line: int
    in_function: bool
    bound: str  # the local name the import binds


@dataclass
class ModuleInfo:
    name: str
    path: Path
    imports: list[ImportRef] = field(default_factory=list)
    # (line, local name, attribute) for every `name.attr` whose name an import binds (`spool.pending_names`).
    attribute_uses: list[tuple[int, str, str]] = field(default_factory=list)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def _walk(tree: ast.AST) -> Iterator[tuple[ast.AST, bool]]:
    """Every node with whether it sits inside a function (a deferred import still counts as an edge)."""
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, in_function = stack.pop()
        yield node, in_function
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def read_package(root: Path, package: str = PACKAGE) -> dict[str, ModuleInfo]:
    """Every module of `package` under `root`, with the imports its source spells."""
    modules: dict[str, ModuleInfo] = {}
    for path in sorted((root / package).rglob("*.py")):
        info = ModuleInfo(_module_name(root, path), path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node, in_function in _walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    info.imports.append(ImportRef(info.name, alias.name, None, node.lineno, in_function, bound))
            elif isinstance(node, ast.ImportFrom):
                module = _resolve(info.name, path.name == "__init__.py", node)
                for alias in node.names:
                    bound = alias.asname or alias.name
                    info.imports.append(ImportRef(info.name, module, alias.name, node.lineno, in_function, bound))
        modules[info.name] = info
        aliases = {ref.bound for ref in info.imports}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
                info.attribute_uses.append((node.lineno, node.value.id, node.attr))
    return modules


def target(ref: ImportRef, modules: dict[str, ModuleInfo]) -> str | None:
    """The package module an import reaches (`from pkg import sub` reaches pkg.sub), or None if outside."""
    if ref.name is not None and f"{ref.module}.{ref.name}" in modules:
        return f"{ref.module}.{ref.name}"
    return ref.module if ref.module in modules else None


def edges(modules: dict[str, ModuleInfo], *, load_time_only: bool = False) -> dict[str, set[str]]:
    """Module -> the package modules it imports; `load_time_only` keeps the imports that run when it is loaded."""
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for info in modules.values():
        for ref in info.imports:
            if load_time_only and ref.in_function:
                continue
            reached = target(ref, modules)
            if reached is not None and reached != info.name:
                graph[info.name].add(reached)
    return graph


def _parents(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def closure(modules: dict[str, ModuleInfo], starts: Iterable[str]) -> set[str]:
    """Every module that running `starts` may load.

    All imports of the started modules and of what they reach count, deferred ones too (their functions run);
    a parent package Python loads on the way contributes only what its loading imports (`cli/__init__` loads
    `cli.main`, whose dispatcher defers each command's imports until that command is chosen).
    """
    every = edges(modules)
    load_time = edges(modules, load_time_only=True)
    full: set[str] = set()
    loaded: set[str] = set()
    todo: list[tuple[str, bool]] = [(name, True) for name in starts]
    while todo:
        name, runs = todo.pop()
        if name in full or (not runs and name in loaded):
            continue
        (full if runs else loaded).add(name)
        todo.extend((child, runs) for child in (every if runs else load_time).get(name, ()))
        todo.extend((parent, False) for parent in _parents(name) if parent in modules)
    return full | loaded


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
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


def layers(modules: dict[str, ModuleInfo], graph: dict[str, set[str]]) -> dict[str, dict[str, int]]:
    """Folder (or top-level module) -> the folders it imports from, with how many module edges."""

    def layer(name: str) -> str:
        parts = name.split(".")
        return parts[1] if len(parts) > 1 else parts[0]

    found: dict[str, dict[str, int]] = {}
    for source, targets in graph.items():
        for reached in targets:
            if layer(source) != layer(reached):
                counts = found.setdefault(layer(source), {})
                counts[layer(reached)] = counts.get(layer(reached), 0) + 1
    return found


def main(argv: list[str]) -> int:
    """`import_graph.py [ROOT] [--layers]`: the summary line, then every edge (or, with --layers, folder edges)."""
    by_layer = "--layers" in argv
    args = [a for a in argv if a != "--layers"]
    root = Path(args[0]) if args else Path(__file__).resolve().parents[2]
    modules = read_package(root)
    graph = edges(modules)
    print(f"modules {len(modules)} edges {sum(len(v) for v in graph.values())} cycles {cycles(graph)}")
    if by_layer:
        for source, counts in sorted(layers(modules, graph).items()):
            print(f"{source} -> {', '.join(f'{t} ({n})' for t, n in sorted(counts.items()))}")
        return 0
    for name in sorted(graph):
        if graph[name]:
            print(f"{name} -> {', '.join(sorted(graph[name]))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
