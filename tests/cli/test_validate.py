"""`procvision validate`: config, then the algorithm in a real child process through the runner and adapter."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import EXAMPLE, GOOD_BODY, procvision, report_of

pytestmark = pytest.mark.slow  # every test here starts a child process


def statuses(report: dict) -> dict[str, str]:
    return {name: check["status"] for name, check in report["by_name"].items()}


def test_the_example_algorithm_passes() -> None:
    done = procvision("validate", EXAMPLE)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""  # the readable report is on stderr
    for line in ("ok       config", "ok       get_info", "ok       execute p002 step 2", "ok       teardown"):
        assert line in done.stderr
    assert "passed: 0 error(s), 0 warning(s)" in done.stderr
    assert not (EXAMPLE / "manifest.json").exists()


def test_the_example_on_a_given_image_and_one_pid_as_json(tmp_path: Path) -> None:
    Image.fromarray(np.full((240, 320, 3), 128, np.uint8)).save(tmp_path / "flat.png")
    done = procvision("--json", "validate", EXAMPLE, "--image", tmp_path / "flat.png", "--pid", "p001")
    assert done.returncode == 0, done.stderr
    report = report_of(done)
    assert report["image"] == str(tmp_path / "flat.png")
    assert [name for name in report["by_name"] if name.endswith("step 1")] == \
        ["pre_execute p001 step 1", "execute p001 step 1"]
    assert "verdict NG (low contrast, 1 defect rect(s))" in report["by_name"]["execute p001 step 1"]["message"]


def test_a_flat_layout_project_passes_and_its_verdicts_are_reported(make_project) -> None:
    root = make_project(layout="flat")
    assert (root / "broken_algo" / "main.py").is_file()
    done = procvision("validate", root, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = report_of(done)
    assert report["ok"] and {check["status"] for check in report["checks"]} == {"ok"}
    assert [name for name in report["by_name"] if name.startswith(("pre_execute", "execute"))] == [
        "pre_execute p1 step 1", "execute p1 step 1", "pre_execute p2 step 1", "execute p2 step 1"]
    assert report["by_name"]["pre_execute p1 step 1"]["message"].startswith("OK, 1 calibration rect(s)")
    assert report["by_name"]["execute p2 step 1"]["message"].startswith("OK, verdict OK")


def test_config_problems_are_all_listed_and_nothing_runs(make_project) -> None:
    root = make_project(assets='model = "assets/missing.json", other = "../outside.json"')
    done = procvision("validate", root, "--json")
    assert done.returncode == 1
    report = report_of(done)
    assert list(report["by_name"]) == ["config"]
    config = report["by_name"]["config"]
    assert config["status"] == "error" and config["message"].endswith("2 problem(s)")
    assert any("tool.procvision.assets.default.model" in p and "assets/missing.json" in p for p in config["details"])
    assert any("outside.json" in p for p in config["details"])


def test_a_missing_asset_is_an_error_in_the_readable_report(make_project) -> None:
    root = make_project(files=())
    done = procvision("validate", root)
    assert done.returncode == 1
    assert "error    config" in done.stderr and "assets/model.json" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_class_that_is_not_a_base_algorithm(make_project) -> None:
    root = make_project(base="", body="    pass\n")
    done = procvision("validate", root, "--json")
    assert done.returncode == 1
    report = report_of(done)
    assert statuses(report) == {"config": "ok", "assets": "ok", "import": "ok", "class": "error",
                                "setup": "skipped", "get_info": "skipped"}
    assert "not a subclass of BaseAlgorithm" in report["by_name"]["class"]["message"]
    assert "Traceback" not in done.stderr


def test_an_import_error_names_the_missing_module_and_the_fix(make_project) -> None:
    root = make_project(header="import procvision_missing_dependency\n")
    done = procvision("validate", root)
    assert done.returncode == 1
    assert "error    import" in done.stderr
    assert "No module named 'procvision_missing_dependency'" in done.stderr
    assert f"pip install --no-build-isolation -e {root}" in done.stderr
    assert "Traceback" not in done.stderr

    verbose = procvision("validate", root, "--verbose")
    assert verbose.returncode == 1
    assert "Traceback (most recent call last)" in verbose.stderr  # the algorithm's own, with --verbose


def test_get_info_disagreeing_with_the_manifest(make_project) -> None:
    body = GOOD_BODY + "\n    def get_info(self):\n        return dict(super().get_info(), version=\"9.9\")\n"
    done = procvision("validate", make_project(body=body), "--json")
    assert done.returncode == 1
    report = report_of(done)
    assert statuses(report)["setup"] == "ok" and statuses(report)["get_info"] == "error"
    assert "'version'" in report["by_name"]["get_info"]["message"] and "9.9" in report["by_name"]["get_info"]["message"]


def test_setup_failure(make_project) -> None:
    body = GOOD_BODY + "\n    def setup(self):\n        raise RuntimeError('cannot load the weights')\n"
    done = procvision("validate", make_project(body=body), "--json")
    assert done.returncode == 1
    check = report_of(done)["by_name"]["setup"]
    assert check["status"] == "error" and "cannot load the weights" in check["message"]
    assert statuses(report_of(done))["class"] == "ok" and statuses(report_of(done))["get_info"] == "skipped"


def test_an_attribute_error_in_setup_is_not_mistaken_for_a_missing_class(make_project) -> None:
    body = GOOD_BODY + "\n    def setup(self):\n        self.model.load()\n"
    report = report_of(procvision("validate", make_project(body=body), "--json"))
    assert statuses(report)["class"] == "ok" and statuses(report)["setup"] == "error"
    assert "object has no attribute 'model'" in report["by_name"]["setup"]["message"]


def test_ng_without_defect_rects_is_an_error_per_pid(make_project) -> None:
    body = GOOD_BODY.replace('"result_status": "OK"', '"result_status": "NG", "ng_reason": "scratch"')
    done = procvision("validate", make_project(body=body), "--json")
    assert done.returncode == 1
    report = report_of(done)
    assert report["errors"] == 2  # execute for p1 and p2
    for pid in ("p1", "p2"):
        assert statuses(report)[f"pre_execute {pid} step 1"] == "ok"
        check = report["by_name"][f"execute {pid} step 1"]
        assert check["status"] == "error" and "1006" in check["message"] and "defect_rects" in check["message"]
    assert statuses(report)["teardown"] == "ok"


def test_a_long_message_is_a_warning_only(make_project) -> None:
    body = GOOD_BODY.replace('return {"status": "OK", "data": {"result_status": "OK"',
                             'return {"status": "OK", "message": "m" * 150, "data": {"result_status": "OK"')
    assert body != GOOD_BODY
    done = procvision("validate", make_project(body=body), "--json")
    assert done.returncode == 0, done.stdout
    report = report_of(done)
    assert report["ok"] and report["errors"] == 0 and report["warnings"] == 2
    check = report["by_name"]["execute p1 step 1"]
    assert check["status"] == "warning"
    assert check["details"] == ["message is 150 characters; keep it under 100"]
    assert statuses(report)["pre_execute p1 step 1"] == "ok"

    readable = procvision("validate", report["project"])
    assert readable.returncode == 0
    assert "warning  execute p1 step 1" in readable.stderr and "passed: 0 error(s), 2 warning(s)" in readable.stderr
    quiet = procvision("validate", report["project"], "-q")
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_an_exception_in_execute_is_an_error_with_its_message(make_project) -> None:
    body = GOOD_BODY.replace("image = self.read_image", "raise ValueError('no board found')\n        image = ")
    root = make_project(body=body)
    done = procvision("validate", root)
    assert done.returncode == 1
    assert "error    execute p1 step 1" in done.stderr and "ERROR 9999: ValueError: no board found" in done.stderr
    assert "--image" in done.stderr  # the generated image may be why
    assert "Traceback" not in done.stderr
    check = report_of(procvision("validate", root, "--json", "--verbose"))["by_name"]["execute p1 step 1"]
    assert check["details"][0].startswith("Traceback (most recent call last)")
    assert "raise ValueError('no board found')" in check["details"][0]


def test_an_unknown_pid_and_an_unreadable_image(make_project, tmp_path: Path) -> None:
    root = make_project()
    done = procvision("validate", root, "--pid", "p9")
    assert done.returncode == 1 and "--pid p9 is not declared" in done.stderr and "p1, p2" in done.stderr
    (tmp_path / "notes.png").write_text("not an image", encoding="utf-8")
    done = procvision("validate", root, "--image", tmp_path / "notes.png")
    assert done.returncode == 1 and "not a readable JPEG or PNG" in done.stderr


def test_an_algorithm_that_keeps_dying_is_given_up_without_a_traceback(make_project) -> None:
    body = GOOD_BODY.replace("image = self.read_image", "raise FatalError('camera driver lost')\n        image = ")
    root = make_project(header="from procvision_algorithm_sdk import FatalError\n", body=body,
                        pids=("p1", "p2", "p3", "p4", "p5"))
    done = procvision("validate", root, "--json")
    assert done.returncode == 1
    report = report_of(done)
    status = statuses(report)
    assert [status[f"execute p{n} step 1"] for n in range(1, 5)] == ["error"] * 4
    assert "camera driver lost" in report["by_name"]["execute p1 step 1"]["message"]
    assert [status[f"pre_execute p{n} step 1"] for n in range(1, 5)] == ["ok"] * 4  # each in a fresh process
    assert status["pre_execute p5 step 1"] == "error"  # 3 restarts within 60 s: the runner gives up
    assert "marked failed" in report["by_name"]["pre_execute p5 step 1"]["message"]
    assert status["execute p5 step 1"] == "skipped" and status["teardown"] == "skipped"
    assert "Traceback" not in done.stderr
