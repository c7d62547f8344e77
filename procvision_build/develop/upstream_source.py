"""The algorithm's source, read with ``ast`` and never imported: its entry point as ``module:Class`` and the
SDK interface its class is written against."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from procvision_build.develop.upstream import UpstreamFinding

INTERFACE_1X = ("step_index", "pid", "session", "user_params", "shared_mem_id", "image_meta")
INTERFACE_03X = ("step_index", "step_desc", "cur_image", "guide_image", "guide_info")
_ONLY_03X = frozenset(INTERFACE_03X) - {"step_index"}
_ENTRY_POINT = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_SIGNATURE_1X = f"(self, {', '.join(INTERFACE_1X)})"
_HOW_TO_1X = ("read the image with image = self.read_image(shared_mem_id, image_meta) (H x W x 3 uint8 RGB) "
              "instead of cur_image; 1.x sends one image, so guide_image has no counterpart; what guide_info "
              "and step_desc carried comes in user_params, as params declared on the step in pyproject.toml")


def module_file(root: Path, module: str) -> Path | None:
    """``a.b`` -> ``a/b.py`` or ``a/b/__init__.py``, in the project root or in ``src/``."""
    for base in (root, root / "src"):
        path = base.joinpath(*module.split("."))
        for candidate in (path.with_suffix(".py"), path / "__init__.py"):
            if candidate.is_file():
                return candidate
    return None


def resolve_entry_point(root: Path, text: str) -> tuple[str, list[UpstreamFinding]]:
    """Upstream's ``entry_point`` as ``module.path:ClassName`` that names a file of this project."""
    where = "manifest.json: entry_point"
    original = text = text.strip()
    if not text:
        found = sorted(_algorithm_classes(root))
        if len(found) == 1:
            return found[0], [UpstreamFinding(where, f"missing; {found[0]}, the one BaseAlgorithm subclass found, was "
                                      "taken", "check tool.procvision.entry-point")]
        return "", [UpstreamFinding(where, "missing" + (f"; BaseAlgorithm subclasses: {', '.join(found)}" if found else
                                                 " and no BaseAlgorithm subclass found"),
                            "write entry-point = \"package.module:ClassName\"", "tool.procvision.entry-point")]
    if ":" in text:  # "pkg/main.py:Class" or "pkg\main.py:Class"
        path, _, cls = text.rpartition(":")
        module = path.replace("\\", "/").removesuffix(".py").removeprefix("src/").replace("/", ".")
        text = f"{module}:{cls}"
    elif "." in text:  # "pkg.main.Class"
        module, _, cls = text.rpartition(".")
        text = f"{module}:{cls}"
    module, _, cls = text.partition(":")
    if module_file(root, module) is None and "." not in module:
        # upstream put the package folder on sys.path; a wheel installs the package, so its name comes first
        owners = sorted(path.parent.name for path in root.glob(f"*/{module}.py") if path.parent.name.isidentifier())
        if len(owners) == 1:
            text = f"{owners[0]}.{module}:{cls}"
    findings = []
    if text != original and _ENTRY_POINT.match(text):
        findings.append(UpstreamFinding(where, f"{original!r} became {text!r}", "nothing to do: pyproject.toml names the "
                                "module from the project root, as the installed wheel imports it"))
    else:
        text = original
    if text.partition(".")[0].partition(":")[0] == "main" and (root / "main.py").is_file():
        findings.append(UpstreamFinding(where, "main.py would install as a top-level module 'main', which any other "
                                "'main' collides with", "move it into a package (NAME/__init__.py, NAME/main.py), "
                                "then entry-point = \"NAME.main:ClassName\""))
    return text, findings


def _algorithm_classes(root: Path) -> list[str]:
    """``module:Class`` for each class in the project's packages whose bases name ``BaseAlgorithm``."""
    found = []
    for base in (root, root / "src"):
        files = [path for path in base.glob("*.py")] + [path for init in base.glob("*/__init__.py")
                                                         for path in init.parent.rglob("*.py")]
        for path in files:
            module = ".".join(path.relative_to(base).with_suffix("").parts).removesuffix(".__init__")
            found += [f"{module}:{node.name}" for node in _classes(path)
                      if any(_base_name(b) == "BaseAlgorithm" for b in node.bases)]
    return found


def _classes(path: Path) -> list[ast.ClassDef]:
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError, OSError):
        return []
    return [node for node in tree.body if isinstance(node, ast.ClassDef)]


def _base_name(node: ast.expr) -> str:
    return node.attr if isinstance(node, ast.Attribute) else node.id if isinstance(node, ast.Name) else ""


def read_interface(root: Path, entry_point: str) -> tuple[str | None, list[UpstreamFinding]]:
    """``"1.x"``, ``"0.3.x"`` or None (class not found, or a signature of neither), with what to change."""
    module, _, cls = entry_point.partition(":")
    path = module_file(root, module) if module else None
    classes = {node.name: node for node in _classes(path)} if path else {}
    if path is None or cls not in classes:
        return None, [UpstreamFinding(f"{module or 'entry point'}: {cls or '?'}", "class not found in the source, so its "
                              "interface was not checked", "run procvision validate once the project is "
                              "installed: it imports the class and calls it")]
    methods = _methods(classes[cls], classes)
    where = f"{path.relative_to(root).as_posix()}: {cls}"
    findings: list[UpstreamFinding] = []
    execute = methods.get("execute")
    names = _parameters(execute) if execute else ()
    if execute is None:
        interface = None
        findings.append(UpstreamFinding(f"{where}.execute", "not defined", f"define execute{_SIGNATURE_1X}"))
    elif names == INTERFACE_1X:
        interface = "1.x"
    elif _ONLY_03X & set(names):
        interface = "0.3.x"
        findings.append(UpstreamFinding(f"{where}.execute", f"execute(self, {', '.join(names)}) is the 0.3.x interface; "
                                f"SDK 1.x calls execute{_SIGNATURE_1X}", f"change the signature; {_HOW_TO_1X}"))
    elif set(names) == set(INTERFACE_1X):
        interface = "1.x"
        findings.append(_order_finding(f"{where}.execute", names))
    else:
        interface = None
        findings.append(UpstreamFinding(f"{where}.execute", f"execute(self, {', '.join(names)}) is neither the 1.x nor "
                                "the 0.3.x interface", f"change it to execute{_SIGNATURE_1X}"))
    pre_execute = methods.get("pre_execute")
    if pre_execute is None:
        findings.append(UpstreamFinding(f"{where}.pre_execute", "not defined; BaseAlgorithm 1.x declares it abstract",
                                f"add pre_execute{_SIGNATURE_1X} returning {{\"status\": \"OK\", \"data\": {{}}}} "
                                "when the step has nothing to calibrate"))
    elif _parameters(pre_execute) != INTERFACE_1X:
        findings.append(_order_finding(f"{where}.pre_execute", _parameters(pre_execute)))
    if "get_info" in methods:
        findings.append(UpstreamFinding(f"{where}.get_info", "overridden; 1.x returns the manifest generated from "
                                "pyproject.toml by default, and an override must agree with it",
                                "delete the override (name, version, PIDs and steps live in pyproject.toml)"))
    return interface, findings


def _methods(node: ast.ClassDef, classes: dict[str, ast.ClassDef]) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """The class's methods, with those of its bases defined in the same module underneath."""
    methods: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = {}
    for base in reversed(node.bases):
        if _base_name(base) in classes and classes[_base_name(base)] is not node:
            methods.update(_methods(classes[_base_name(base)], classes))
    methods.update({item.name: item for item in node.body if isinstance(item, (ast.FunctionDef,
                                                                             ast.AsyncFunctionDef))})
    return methods


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """The parameter names after ``self``."""
    arguments = function.args
    return tuple(arg.arg for arg in [*arguments.posonlyargs, *arguments.args][1:])


def _order_finding(where: str, names: tuple[str, ...]) -> UpstreamFinding:
    return UpstreamFinding(where, f"takes ({', '.join(names)}); the adapter passes {', '.join(INTERFACE_1X)} in this "
                   "order, by position", f"change the signature to {where.rpartition('.')[2]}{_SIGNATURE_1X}")
