"""The package structure, read from the code's own imports (AST): what must never come back.

- no import cycles between hooklab's modules, lazy (function-level) imports included;
- no private name of one module used by another (``from x import _y``, ``obj._y``);
- the layers: ``model`` imports neither ``sim`` nor ``harness``; ``sim`` does not import
  ``harness``; nothing imports the CLI package, which holds every ``argparse`` parser;
- nothing in ``model``, ``sim``, nor in ``harness`` outside its CLI, names a ``--flag``
  in an error message.

Imports under ``if TYPE_CHECKING:`` are annotations, not imports, and are left out.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"model": "hooklab.model", "sim": "hooklab.sim", "harness": "hooklab.harness"}
CLI = "hooklab.harness.cli"

#: Private attributes of the standard library and of NamedTuple that are public API.
PUBLIC_UNDERSCORE = {"_replace", "_asdict", "_fields", "_make", "_field_defaults", "_exit",
                     "_getframe"}  # fmt: skip


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    imports: set[str] = field(default_factory=set)  # modules this one imports
    private_imports: list[str] = field(default_factory=list)  # "module._name"
    is_package: bool = False


def _module_name(top: str, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(ROOT / top).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join([PACKAGES[top], *parts]), is_package


def _type_checking_nodes(tree: ast.Module) -> set[int]:
    """ids of every node under an ``if TYPE_CHECKING:`` block."""
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                hidden.update(id(n) for n in ast.walk(child))
    return hidden


def load_modules() -> dict[str, Module]:
    modules: dict[str, Module] = {}
    for top in PACKAGES:
        for path in sorted((ROOT / top).rglob("*.py")):
            name, is_package = _module_name(top, path)
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            modules[name] = Module(name, path, tree, is_package=is_package)
    for module in modules.values():
        _read_imports(module, modules)
    return modules


def _read_imports(module: Module, modules: dict[str, Module]) -> None:
    hidden = _type_checking_nodes(module.tree)
    base = module.name if module.is_package else module.name.rpartition(".")[0]
    for node in ast.walk(module.tree):
        if id(node) in hidden:
            continue
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("hooklab."):
                    module.imports.add(_owner(alias.name, modules))
        elif isinstance(node, ast.ImportFrom):
            source = node.module or ""
            if node.level:
                anchor = base
                for _ in range(node.level - 1):
                    anchor = anchor.rpartition(".")[0]
                source = f"{anchor}.{source}" if source else anchor
            if not source.startswith("hooklab"):
                continue
            for alias in node.names:
                if f"{source}.{alias.name}" in modules:  # a submodule
                    module.imports.add(f"{source}.{alias.name}")
                else:
                    module.imports.add(_owner(source, modules))
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        module.private_imports.append(f"{source}.{alias.name}")
    module.imports.discard(module.name)
    module.imports.discard("")


def _owner(name: str, modules: dict[str, Module]) -> str:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name


def cycles(modules: dict[str, Module]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(modules[v].imports):
            if w not in modules:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(modules):
        if name not in index:
            visit(name)
    return sorted(found)


def _owned_private_names(tree: ast.Module) -> set[str]:
    """Private names a module defines: functions, classes, assignments, ``self._x``."""
    owned: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            owned.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            owned.add(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            owned.add(node.attr)
        elif isinstance(node, ast.arg):
            owned.add(node.arg)
        elif isinstance(node, ast.alias):
            owned.add(node.asname or node.name.rpartition(".")[2])
    for node in ast.walk(tree):  # __slots__ = ("_a", "_b") and dataclass fields
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            owned.add(node.target.id)
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.fullmatch(r"_[a-z]\w*", node.value)):
            owned.add(node.value)
    return owned


def foreign_private_attributes(module: Module) -> Iterator[str]:
    """``obj._name`` where ``_name`` is not defined in this module: another's private."""
    owned = _owned_private_names(module.tree)
    for node in ast.walk(module.tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__") or attr in PUBLIC_UNDERSCORE:
            continue
        if attr in owned:
            continue
        yield f"{module.path.relative_to(ROOT)}:{node.lineno}: .{attr}"


@pytest.fixture(scope="module")
def modules() -> dict[str, Module]:
    return load_modules()


def test_the_reader_sees_every_package(modules: dict[str, Module]) -> None:
    for package in PACKAGES.values():
        assert package in modules
    assert len(modules) > 60
    assert sum(len(m.imports) for m in modules.values()) > 200


def test_the_cycle_finder_finds_a_planted_cycle() -> None:
    def mod(name: str, imports: set[str]) -> Module:
        return Module(name, ROOT, ast.Module(body=[], type_ignores=[]), imports)

    planted = {"a": mod("a", {"b"}), "b": mod("b", {"c"}), "c": mod("c", {"a"}),
               "d": mod("d", {"a"})}  # fmt: skip
    assert cycles(planted) == [["a", "b", "c"]]


def test_there_are_no_import_cycles(modules: dict[str, Module]) -> None:
    assert cycles(modules) == []


def test_no_module_imports_another_modules_private_name(modules: dict[str, Module]) -> None:
    found = [f"{m.name}: {name}" for m in modules.values() for name in m.private_imports]
    assert found == []


def test_no_module_reaches_into_another_modules_private_attributes(
        modules: dict[str, Module]) -> None:
    found = [hit for m in modules.values() for hit in foreign_private_attributes(m)]
    assert found == []


def _imports_from(modules: dict[str, Module], source: str, target: str) -> list[str]:
    return sorted(f"{m.name} -> {i}" for m in modules.values()
                  if m.name.startswith(source) for i in m.imports if i.startswith(target))


@pytest.mark.parametrize(("source", "target"), [
    ("hooklab.model", "hooklab.sim"),
    ("hooklab.model", "hooklab.harness"),
    ("hooklab.sim", "hooklab.harness"),
])  # fmt: skip
def test_layers_import_only_downwards(modules: dict[str, Module], source: str,
                                      target: str) -> None:
    assert _imports_from(modules, source, target) == []


def test_nothing_imports_the_cli(modules: dict[str, Module]) -> None:
    users = sorted(f"{m.name} -> {i}" for m in modules.values() if not m.name.startswith(CLI)
                   for i in m.imports if i.startswith(CLI))
    assert users == []


def test_only_the_cli_and_the_benchmarks_parse_arguments(modules: dict[str, Module]) -> None:
    parsers = sorted(
        m.name for m in modules.values()
        if not m.name.startswith(CLI) and not m.name.endswith("bench")
        and any(isinstance(node, ast.Import | ast.ImportFrom)
                and "argparse" in ast.unparse(node) for node in ast.walk(m.tree))
    )
    assert parsers == []
    assert not [m for m in modules if m.startswith("hooklab.model") and m.endswith("bench")
                and "argparse" in modules[m].path.read_text(encoding="utf-8")]


def _in_domain(name: str) -> bool:
    return name.startswith(tuple(PACKAGES.values())) and not name.startswith(CLI)


def test_domain_errors_never_name_a_command_line_flag(modules: dict[str, Module]) -> None:
    flagged = []
    for m in modules.values():
        if not _in_domain(m.name):
            continue
        for node in ast.walk(m.tree):
            if (isinstance(node, ast.Raise) and node.exc is not None
                    and re.search(r"--[a-z][a-z-]+", ast.unparse(node.exc))):
                flagged.append(f"{m.path.relative_to(ROOT)}:{node.lineno}")
    assert flagged == []


def test_every_module_opens_with_a_docstring(modules: dict[str, Module]) -> None:
    missing = sorted(m.name for m in modules.values()
                     if m.path.read_text(encoding="utf-8").strip()
                     and ast.get_docstring(m.tree) is None)
    assert missing == []

