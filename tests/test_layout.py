"""House rules that lint-imports cannot state: no module reaches for the package's own __init__, no
comprehension variable shadows a name its function reads (CPython 3.12.0/3.12.1), no module passes 400 lines and
no public class name is defined twice across both distributions.
(The error-code table is held equal to the SDK's in tests/deploy/test_rules.py.)"""

from __future__ import annotations

import ast
from pathlib import Path


PACKAGE = Path(__file__).resolve().parent.parent / "procvision_build"


def test_no_module_imports_the_package_init() -> None:
    """``import procvision_build`` or ``from procvision_build import x`` inside the package runs its __init__
    (the PEP 517 hooks) as a side effect; modules import the module they need instead."""
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.parent == PACKAGE and path.name in ("__init__.py", "__main__.py"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import) and any(alias.name == "procvision_build" for alias in node.names):
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and node.module == "procvision_build" and node.level == 0:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert offenders == []


SHIPPED = (PACKAGE, PACKAGE.parent / "sdk" / "procvision_algorithm_sdk")
MAX_LINES = 400
#: deploy ships alone in every bundle, so it keeps its copy of the SDK's table (held equal in test_rules.py)
TWICE_ON_PURPOSE = {"ErrorCode"}


def _shipped_modules() -> list[Path]:
    return sorted(path for folder in SHIPPED for path in folder.rglob("*.py") if "_vendor" not in path.parts)


def test_no_module_passes_400_lines() -> None:
    """A module over 400 lines holds more than one job: split it along them."""
    long = [f"{path.relative_to(PACKAGE.parent)}: {count}" for path in _shipped_modules()
            if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES]
    assert long == []


def test_no_public_class_is_defined_twice() -> None:
    """One name per thing: a public class name is defined in one module of procvision-build and the SDK."""
    where: dict[str, list[str]] = {}
    for path in _shipped_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                where.setdefault(node.name, []).append(str(path.relative_to(PACKAGE.parent)))
    twice = {name: places for name, places in where.items() if len(places) > 1 and name not in TWICE_ON_PURPOSE}
    assert twice == {}


CHECKED = ("procvision_build", "sdk", "bench", "tests")  # under the repository root
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _own_nodes(scope: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> list[ast.AST]:
    """The nodes a function's own scope runs: its body with its comprehensions, not nested functions or classes
    (their decorators, defaults and bases do run here)."""
    nodes: list[ast.AST] = []
    stack: list[ast.AST] = list(scope.body) if isinstance(scope.body, list) else [scope.body]
    while stack:
        node = stack.pop()
        nodes.append(node)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            stack += [*getattr(node, "decorator_list", []), *node.args.defaults,
                      *(default for default in node.args.kw_defaults if default is not None)]
        elif isinstance(node, ast.ClassDef):
            stack += [*node.decorator_list, *node.bases, *node.keywords]
        else:
            stack += ast.iter_child_nodes(node)
    return nodes


def _local_names(scope: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda, own: list[ast.AST],
                 loop_targets: set[int]) -> set[str]:
    """Names the function binds itself: parameters, assignments, loops, with/except targets, defs, imports."""
    arguments = scope.args
    names = {arg.arg for arg in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names |= {arg.arg for arg in (arguments.vararg, arguments.kwarg) if arg is not None}
    for node in own:
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store) and id(node) not in loop_targets:
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names |= {alias.asname or alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
    return names


def _shadowing_loop_variables(tree: ast.AST) -> list[tuple[int, str, str, int]]:
    """(line, name, function, read line) for each comprehension loop variable whose name the rest of its
    function reads from outside (a global, builtin or enclosing function's name) and does not bind itself."""
    found = []
    for scope in ast.walk(tree):
        if not isinstance(scope, _SCOPES):
            continue
        own = _own_nodes(scope)
        loop_targets: dict[int, tuple[int, str]] = {}  # id(Name node) -> (line, name)
        bound_reads: set[int] = set()  # reads of a comprehension's own loop variable
        for comprehension in (node for node in own if isinstance(node, _COMPREHENSIONS)):
            targets = [name for generator in comprehension.generators for name in ast.walk(generator.target)
                       if isinstance(name, ast.Name)]
            loop_targets |= {id(name): (name.lineno, name.id) for name in targets}
            own_names = {name.id for name in targets}
            bound_reads |= {id(node) for node in ast.walk(comprehension)
                            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in own_names}
        if not loop_targets:
            continue
        local = _local_names(scope, own, set(loop_targets))
        reads: dict[str, int] = {}  # name -> first line reading it from outside the function
        for node in own:
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and id(node) not in bound_reads:
                reads[node.id] = min(node.lineno, reads.get(node.id, node.lineno))
        function = getattr(scope, "name", "<lambda>")
        found += [(line, name, function, reads[name]) for line, name in sorted(set(loop_targets.values()))
                  if name in reads and name not in local]
    return found


def test_no_comprehension_variable_shadows_a_name_its_function_reads() -> None:
    """CPython 3.12.0 and 3.12.1 inline comprehensions (PEP 709) and get it wrong when a function's
    comprehension binds a name that the function also reads from outside: after ``[... for key in x]``,
    ``[key(v) for v in y]`` (the module's function ``key``) raises UnboundLocalError. Names the function binds
    itself are safe; a global, builtin or enclosing function's name is not. Give the loop variable its own name."""
    root = PACKAGE.parent
    offenders = []
    for top in CHECKED:
        for path in sorted((root / top).rglob("*.py")):
            for line, name, function, read in _shadowing_loop_variables(ast.parse(path.read_text(encoding="utf-8"))):
                offenders.append(f"{path.relative_to(root)}:{line}: comprehension variable {name!r} in {function}() "
                                 f"shadows the {name!r} it reads from outside on line {read} "
                                 f"(UnboundLocalError on CPython 3.12.0/3.12.1); rename the loop variable")
    assert offenders == [], "\n" + "\n".join(offenders)
