"""`procvision migrate`: upstream (SDK 0.x) projects of both layouts become valid pyproject.toml projects,
with every field that does not carry over named; an existing pyproject.toml is never touched."""

from __future__ import annotations

import json
import textwrap
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from procvision_build.artifacts import wheel
from procvision_build.config.load import load_config
from procvision_build.develop.migrate import (
    SDK_MIN_PYTHON,
    Migrated,
    plan_migration,
    write_migration,
)
from procvision_build.develop.upstream import read_dependencies
from procvision_build.develop.upstream_source import read_interface, resolve_entry_point
from procvision_build.errors import PathConflict, UsageError
from procvision_build.files import read_toml

from .conftest import ROOT, procvision

# The seed's layout: the 0.0.x/0.2 manifest with PIDs, steps and assets, a frozen requirements.txt, assets/.
EXAMPLE_MANIFEST = {
    "name": "algorithm-example",
    "version": "1.0",
    "entry_point": "algorithm_example.main:AlgorithmExample",
    "description": "示例算法（p001/p002）",
    "supported_pids": ["p001", "p002"],
    "steps": [
        {"index": 1, "name": "定位主板", "params": [
            {"key": "roi", "type": "rect", "required": True, "description": "定位区域"},
            {"key": "exposure", "type": "float", "default": 12.5, "min": 8.0, "max": 16.0, "unit": "ms"}]},
        {"index": 2, "name": "检测左上角螺丝", "params": [
            {"key": "threshold", "type": "float", "default": 0.7, "min": 0.5, "max": 0.9, "description": "置信度阈值"},
            {"key": "mode", "type": "enum", "choices": ["fast", "accurate"], "default": "fast"}]},
    ],
    "required_assets": {"p001": {"config": "assets/p001/config.json"}, "p002": {"config": "assets/p002/config.json"}},
    "default_config": {"model": "assets/default/model.onnx"},
}
EXAMPLE_REQUIREMENTS = """\
# pip freeze, then hashes added
--index-url https://factory:s3cret@mirror.example/simple
numpy==1.26.4 \\
    --hash=sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa \\
    --hash=sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
pillow==10.3.0 --hash=sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc
pywin32==306; sys_platform == "win32"    # the factory PC only
procvision_algorithm_sdk==0.0.7
"""
SIX_ARGS = "self, step_index, pid, session, user_params, shared_mem_id, image_meta"
EXAMPLE_SOURCE = f"""\
from procvision_algorithm_sdk import BaseAlgorithm, read_image_from_shared_memory


class AlgorithmExample(BaseAlgorithm):
    def get_info(self):
        return {{"name": "algorithm-example", "version": "1.0", "supported_pids": ["p001", "p002"], "steps": []}}

    def pre_execute({SIX_ARGS}):
        return {{"status": "OK", "data": {{}}}}

    def execute({SIX_ARGS}):
        image = read_image_from_shared_memory(shared_mem_id, image_meta)
        return {{"status": "OK", "data": {{"result_status": "OK"}}}}
"""
EXAMPLE_ASSETS = ("assets/p001/config.json", "assets/p002/config.json", "assets/default/model.onnx")
# What `procvision-cli init` of 0.3.2 writes (its template, trimmed), with the env file of a Linux factory PC.
INIT_03X_SOURCE = """\
from typing import Any, Dict

from procvision_algorithm_sdk import BaseAlgorithm


class BoardCheckAlgorithm(BaseAlgorithm):
    def __init__(self) -> None:
        super().__init__()

    def execute(self, step_index: int, step_desc: str, cur_image: Any, guide_image: Any,
                guide_info: Any) -> Dict[str, Any]:
        return {"status": "OK", "data": {"result_status": "OK", "defect_rects": []}}
"""
INIT_03X_ENV = {"python_version": "3.11", "implementation": "cp", "abi": "cp311",
                "wheels_platform": "manylinux_2_17_x86_64", "auto_freeze": True}


def write_upstream(root: Path, manifest: Mapping[str, Any], *, package: str, source: str,
                   files: Mapping[str, str] = {}) -> Path:
    """An upstream project: manifest.json, ``package/main.py`` (``source``) and ``files`` (path -> text)."""
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("", encoding="utf-8")
    (root / package / "main.py").write_text(textwrap.dedent(source), encoding="utf-8")
    for relative, text in {"manifest.json": json.dumps(manifest, ensure_ascii=False, indent=2), **files}.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text, encoding="utf-8")
    return root


@pytest.fixture
def example(tmp_path: Path) -> Path:
    return write_upstream(tmp_path / "algorithm-example", EXAMPLE_MANIFEST, package="algorithm_example",
                          source=EXAMPLE_SOURCE, files={"requirements.txt": EXAMPLE_REQUIREMENTS,
                                                        **{path: "{}" for path in EXAMPLE_ASSETS}})


@pytest.fixture
def init_03x(tmp_path: Path) -> Path:
    manifest = {"name": "board check", "version": "1.0.0", "entry_point": "board_check.main:BoardCheckAlgorithm",
                "description": "board check 算法包"}
    return write_upstream(tmp_path / "board_check", manifest, package="board_check", source=INIT_03X_SOURCE,
                          files={".procvision_env.json": json.dumps(INIT_03X_ENV)})


def migrate(root: Path) -> Migrated:
    return write_migration(plan_migration(root))


def findings_of(migrated: Migrated) -> dict[str, str]:
    """field -> the problems and hints of its findings, one string."""
    found: dict[str, str] = {}
    for finding in migrated.findings:
        found[finding.field] = found.get(finding.field, "") + f"{finding.problem} | {finding.hint}\n"
    return found


def test_the_upstream_example_becomes_a_valid_project_that_builds(example: Path, tmp_path: Path) -> None:
    migrated = migrate(example)
    assert migrated.valid, migrated.findings
    assert migrated.migration.interface == "1.x"
    config = load_config(example)
    assert (config.name, config.version, config.description) == ("algorithm-example", "1.0", "示例算法（p001/p002）")
    assert config.requires_python == ">=3.10"
    assert [str(r) for r in config.dependencies] == [
        "procvision-algorithm-sdk>=1.0", "numpy==1.26.4", "pillow==10.3.0", 'pywin32==306; sys_platform == "win32"']
    algorithm = config.algorithm
    assert algorithm.entry_point == "algorithm_example.main:AlgorithmExample"
    assert algorithm.supported_pids == ("p001", "p002")
    assert algorithm.required_assets == {"p001": {"config": "assets/p001/config.json"},
                                         "p002": {"config": "assets/p002/config.json"}}
    assert algorithm.default_assets == {"model": "assets/default/model.onnx"}
    assert [(s.index, s.name) for s in algorithm.steps] == [(1, "定位主板"), (2, "检测左上角螺丝")]
    roi, exposure = algorithm.steps[0].params
    assert (roi.type, roi.required, roi.description) == ("rect", True, "定位区域")
    assert (exposure.default, exposure.min, exposure.max, exposure.unit) == (12.5, 8.0, 16.0, "ms")
    assert algorithm.steps[1].params[1].choices == ("fast", "accurate")
    assert [(t.platform, t.python) for t in config.targets] == [("win_amd64", "3.10"),
                                                                ("manylinux_2_17_x86_64", "3.10")]

    findings = findings_of(migrated)
    assert "3 --hash value(s) not carried" in findings["requirements.txt"]
    assert "https://factory:****@mirror.example/simple" in findings["requirements.txt:2"]
    assert config.index is not None and [(i.name, i.url, i.default) for i in config.index.indexes] == [
        ("main", "https://mirror.example/simple", True)]  # carried in the [[tool.procvision.index]] form
    assert "s3cret" not in json.dumps(migrated.record()) + migrated.migration.text
    assert "procvision_algorithm_sdk==0.0.7 replaced by procvision-algorithm-sdk>=1.0" in findings["requirements.txt"]
    assert "delete it" in findings["manifest.json"]
    assert "delete the override" in findings["algorithm_example/main.py: AlgorithmExample.get_info"]
    assert (example / "manifest.json").is_file()  # left in place; the findings say it can go

    built = wheel.build_wheel(config, tmp_path / "dist")
    with zipfile.ZipFile(built) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("algorithm_example-1.0.dist-info/procvision/manifest.json"))
    assert "algorithm_example/main.py" in names
    assert {f"algorithm_example-1.0.dist-info/procvision/{path}" for path in EXAMPLE_ASSETS} <= names
    assert manifest["supported_pids"] == ["p001", "p002"] and manifest["sdk_version"] == ">=1.0"


def test_unknown_fields_are_carried_into_project_or_named(tmp_path: Path) -> None:
    manifest = {
        **EXAMPLE_MANIFEST, "supported_pids": ["p001", 'B "2"'],
        "author": "Southwest AI Team <ai@southwest.example>", "license": "mit", "homepage": "https://vision.example",
        "camera": {"exposure": 12}, "sdk_version": "0.0.7",
        "steps": [{"index": 0, "name": "locate", "timeout_ms": 500, "params": [
            {"key": "mode", "type": "select", "options": ["a", "b"], "unit": "mm"},
            {"key": "count", "type": "int", "default": 3, "step": 1, "label": "Count"},
            {"name": "roi", "type": "rect", "default": [0, 0, 64, 48]}]}],
        "required_assets": {'B "2"': {"config": "assets\\p001\\config.json"}},
        "default_config": {"model": "assets/default/model.onnx", "threshold": 0.5},
    }
    root = write_upstream(tmp_path / "algo", manifest, package="algorithm_example", source=EXAMPLE_SOURCE,
                          files={path: "{}" for path in EXAMPLE_ASSETS})
    migrated = migrate(root)
    assert migrated.valid, migrated.findings
    config = load_config(root)
    assert [(p.name, p.email) for p in config.authors] == [("Southwest AI Team", "ai@southwest.example")]
    assert config.license_expression == "MIT" and config.urls == {"Homepage": "https://vision.example"}
    assert migrated.migration.carried["project"] == ["authors", "license", "urls"]
    assert config.algorithm.supported_pids == ("p001", 'B "2"')
    assert config.algorithm.required_assets == {'B "2"': {"config": "assets/p001/config.json"}}
    [step] = config.algorithm.steps
    assert step.index == 1  # numbered from 0 upstream
    mode, count, roi = step.params
    assert (mode.type, mode.choices, count.default, roi.key) == ("enum", ("a", "b"), 3, "roi")
    assert roi.default == {"x": 0, "y": 0, "width": 64, "height": 48}

    findings = findings_of(migrated)
    assert "no place for it" in findings["manifest.json: camera"]
    assert "the build generates it" in findings["manifest.json: sdk_version"]
    assert "not carried" in findings["manifest.json: steps[0].timeout_ms"]
    assert "not carried" in findings["manifest.json: steps[0].params[0].unit"]
    assert "not carried" in findings["manifest.json: steps[0].params[1].step"]
    assert "not a file path" in findings["manifest.json: default_config.threshold"]
    assert "moved up by one" in findings["manifest.json: steps[].index"]
    assert all(not field.startswith("pyproject.toml") for field in findings)


def test_files_under_assets_that_no_asset_names_still_ship(example: Path, tmp_path: Path) -> None:
    (example / "assets" / "templates").mkdir()
    (example / "assets" / "templates" / "p001.png").write_bytes(b"png")
    migrated = migrate(example)
    assert migrated.valid, migrated.findings
    config = load_config(example)
    assert config.algorithm.default_assets == {"model": "assets/default/model.onnx", "assets": "assets"}
    assert "assets/templates/p001.png" in findings_of(migrated)["assets/"]
    with zipfile.ZipFile(wheel.build_wheel(config, tmp_path / "dist")) as archive:
        assert "algorithm_example-1.0.dist-info/procvision/assets/templates/p001.png" in archive.namelist()


def test_a_03x_init_project_takes_its_target_and_names_its_interface(init_03x: Path) -> None:
    migrated = migrate(init_03x)
    assert not migrated.valid and migrated.migration.interface == "0.3.x"
    data = read_toml(init_03x / "pyproject.toml")
    assert data["project"]["name"] == "board-check" and data["project"]["requires-python"] == ">=3.11"
    assert data["tool"]["procvision"]["targets"] == [{"platform": "manylinux_2_17_x86_64", "python": "3.11"}]
    assert data["project"]["dependencies"] == ["procvision-algorithm-sdk>=1.0"]

    findings = findings_of(migrated)
    execute = findings["board_check/main.py: BoardCheckAlgorithm.execute"]
    assert "0.3.x interface" in execute and "self.read_image(shared_mem_id, image_meta)" in execute
    assert "step_index, pid, session, user_params, shared_mem_id, image_meta" in execute
    assert "abstract" in findings["board_check/main.py: BoardCheckAlgorithm.pre_execute"]
    assert "missing" in findings["manifest.json: supported_pids"] and "missing" in findings["manifest.json: steps"]
    assert "not carried" in findings[".procvision_env.json: auto_freeze"]
    # load_config's problems for what the findings already explain are not repeated
    assert not any(field.startswith("pyproject.toml: tool.procvision.s") for field in findings)


def test_an_existing_pyproject_is_refused_and_nothing_is_written(example: Path, tmp_path: Path) -> None:
    (example / "pyproject.toml").write_text("# mine\n", encoding="utf-8")
    before = sorted(path.name for path in example.iterdir())
    with pytest.raises(PathConflict, match="refusing to overwrite .*pyproject.toml"):
        migrate(example)
    assert sorted(path.name for path in example.iterdir()) == before
    assert (example / "pyproject.toml").read_text(encoding="utf-8") == "# mine\n"

    (example / "pyproject.toml").unlink()
    planned = plan_migration(example)
    (example / "pyproject.toml").write_text("# appeared meanwhile\n", encoding="utf-8")
    with pytest.raises(PathConflict):
        write_migration(planned)
    assert (example / "pyproject.toml").read_text(encoding="utf-8") == "# appeared meanwhile\n"
    assert not list(example.glob(".pyproject.toml*"))

    with pytest.raises(UsageError, match="no such directory"):
        plan_migration(tmp_path / "missing")
    with pytest.raises(UsageError, match="no manifest.json"):
        plan_migration(tmp_path)


def test_requirements_lose_hashes_and_options_and_keep_markers(tmp_path: Path) -> None:
    path = tmp_path / "requirements.txt"
    path.write_text("-r base.txt\n-e ./vendor/lib\nopencv-python==4.9.0.80 \\\n  ; platform_machine == 'x86_64'\n"
                    "torch==2.2.0 --config-settings=x=1  # cuda\n./wheels/local-1.0-py3-none-any.whl\n"
                    "mylib @ https://user:token@git.example/mylib-1.0.tar.gz\n"
                    "procvision-algorithm-sdk>=1.0\n", encoding="utf-8")
    dependencies, findings = read_dependencies(path)
    assert dependencies == ["procvision-algorithm-sdk>=1.0", 'opencv-python==4.9.0.80; platform_machine == "x86_64"',
                            "torch==2.2.0", "mylib"]
    by_field = {finding.field: finding.problem for finding in findings}
    assert "that file was not read" in by_field["requirements.txt:1"]
    assert "editable" in by_field["requirements.txt:2"]
    assert "--config-settings=x=1" in by_field["requirements.txt:5"]
    assert "not a PEP 508 requirement" in by_field["requirements.txt:6"]
    assert "****" in by_field["requirements.txt:7"] and "token" not in by_field["requirements.txt:7"]
    assert not any("replaced by" in problem for problem in by_field.values())  # already on the 1.x line
    path.write_text("numpy==1.26.4\n", encoding="utf-16")  # pip freeze > requirements.txt in PowerShell 5
    assert read_dependencies(path)[0] == ["procvision-algorithm-sdk>=1.0", "numpy==1.26.4"]


@pytest.mark.parametrize("written, expected", [
    ("algorithm_example.main:AlgorithmExample", "algorithm_example.main:AlgorithmExample"),
    ("algorithm_example/main.py:AlgorithmExample", "algorithm_example.main:AlgorithmExample"),
    ("algorithm_example\\main.py:AlgorithmExample", "algorithm_example.main:AlgorithmExample"),
    ("algorithm_example.main.AlgorithmExample", "algorithm_example.main:AlgorithmExample"),
    ("main:AlgorithmExample", "algorithm_example.main:AlgorithmExample"),  # package folder on sys.path upstream
    ("", "algorithm_example.main:AlgorithmExample"),  # the one BaseAlgorithm subclass
])
def test_entry_point_forms(example: Path, written: str, expected: str) -> None:
    assert resolve_entry_point(example, written)[0] == expected


def test_a_top_level_main_module_is_named(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text("class Algo:\n    pass\n", encoding="utf-8")
    entry_point, [finding] = resolve_entry_point(tmp_path, "main:Algo")
    assert entry_point == "main:Algo" and "top-level module 'main'" in finding.problem


def test_parameters_in_another_order_are_named(tmp_path: Path) -> None:
    source = "class Algo(BaseAlgorithm):\n    def execute(self, step_index, pid, session, shared_mem_id, " \
             "image_meta, user_params):\n        pass\n"
    root = write_upstream(tmp_path, {}, package="algo", source=source)
    interface, findings = read_interface(root, "algo.main:Algo")
    assert interface == "1.x"
    assert "by position" in findings[0].problem and findings[0].field == "algo/main.py: Algo.execute"
    assert read_interface(root, "algo.main:Missing")[0] is None


def test_sdk_min_python_is_the_sdks() -> None:
    assert read_toml(ROOT / "sdk" / "pyproject.toml")["project"]["requires-python"] == \
        ">={}.{}".format(*SDK_MIN_PYTHON)


@pytest.mark.slow
def test_the_command_prints_one_json_record_and_exits_by_outcome(example: Path, init_03x: Path,
                                                                 tmp_path: Path) -> None:
    done = procvision("migrate", example, "--json")
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert set(record) == {"project", "pyproject", "carried", "findings", "interface", "valid"}
    assert record["valid"] is True and record["interface"] == "1.x"
    assert record["pyproject"] == str(example / "pyproject.toml")
    assert record["carried"]["supported_pids"] == ["p001", "p002"] and record["carried"]["steps"] == 2
    assert all(set(finding) == {"field", "problem", "hint"} for finding in record["findings"])

    done = procvision("migrate", init_03x)
    assert done.returncode == 1 and done.stdout == ""
    assert f"wrote {init_03x / 'pyproject.toml'}" in done.stderr and "interface: 0.3.x" in done.stderr
    assert "self.read_image(shared_mem_id, image_meta)" in done.stderr and "needs edits" in done.stderr

    again = procvision("migrate", init_03x, "-q")
    missing = procvision("migrate", tmp_path / "missing")
    for refused in (again, missing):
        assert refused.returncode == 2 and refused.stdout == "" and "Traceback" not in refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert "refusing to overwrite" in again.stderr and "no such directory" in missing.stderr


@pytest.mark.slow
def test_a_migrated_seed_project_passes_validate(tmp_path: Path) -> None:
    source = f"""\
from procvision_algorithm_sdk import BaseAlgorithm


class AlgorithmExample(BaseAlgorithm):
    def pre_execute({SIX_ARGS}):
        return {{"status": "OK", "data": {{}}}}

    def execute({SIX_ARGS}):
        image = self.read_image(shared_mem_id, image_meta)
        return {{"status": "OK", "data": {{"result_status": "OK", "debug": {{"mean": float(image.mean())}}}}}}
"""
    root = write_upstream(tmp_path / "algorithm-example", EXAMPLE_MANIFEST, package="algorithm_example",
                          source=source, files={"requirements.txt": EXAMPLE_REQUIREMENTS,
                                                **{path: "{}" for path in EXAMPLE_ASSETS}})
    assert procvision("migrate", root, "-q").returncode == 0
    checked = procvision("validate", root, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
