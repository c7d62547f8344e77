import json

import numpy as np
import pytest

from procvision_algorithm_sdk import BaseAlgorithm, ErrorCode, RecoverableError, Session
from procvision_algorithm_sdk.shared_memory import write_image

MANIFEST = {
    "manifest_version": 1,
    "name": "algo-test",
    "version": "1.2.3",
    "description": "test algorithm",
    "entry_point": "tests.sdk.test_base:Algo",
    "supported_pids": ["p001", "p002"],
    "steps": [{"index": 1, "name": "Inspect", "params": []}],
    "required_assets": {"p001": {"model": "assets/p001/model.json"}},
    "default_config": {"model": "assets/default.json", "missing": "assets/nope.json"},
    "sdk_version": ">=1.0",
    "target": None,
}


class Algo(BaseAlgorithm):
    def pre_execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        return {"status": "OK"}

    def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        image = self.read_image(shared_mem_id, image_meta)
        return {"status": "OK", "data": {"result_status": "OK", "debug": {"mean": float(image.mean())}}}


@pytest.fixture
def root(tmp_path):
    (tmp_path / "assets" / "p001").mkdir(parents=True)
    (tmp_path / "assets" / "p001" / "model.json").write_text("{}")
    (tmp_path / "assets" / "default.json").write_text("{}")
    (tmp_path / "manifest.json").write_text(json.dumps(MANIFEST))
    return tmp_path


def test_subclass_must_implement_both_calls():
    class Incomplete(BaseAlgorithm):
        def execute(self, *args):
            return {}

    with pytest.raises(TypeError):
        Incomplete()


def test_get_info_defaults_to_the_manifest(root):
    algo = Algo()
    algo.bind(root)
    assert algo.get_info() == {"name": "algo-test", "version": "1.2.3", "description": "test algorithm",
                               "supported_pids": ["p001", "p002"], "steps": MANIFEST["steps"]}


def test_what_the_algorithm_does_to_its_manifest_stays_its_own(root):
    given = json.loads(json.dumps(MANIFEST))
    algo = Algo()
    algo.bind(root, given)
    algo.manifest["supported_pids"].append("p999")
    algo.get_info()["steps"].clear()
    assert given == MANIFEST  # the adapter's copy, which it checks pids and params against


def test_asset_paths_per_pid_then_default(root):
    algo = Algo()
    algo.bind(root)
    assert algo.asset_path("model", "p001") == root / "assets/p001/model.json"
    assert algo.asset_path("model", "p002") == root / "assets/default.json"
    with pytest.raises(RecoverableError) as missing_file:
        algo.asset_path("missing", "p002")
    assert missing_file.value.error_code == ErrorCode.MODEL_NOT_FOUND
    with pytest.raises(RecoverableError, match="no asset 'weights'"):
        algo.asset_path("weights", "p001")


def test_root_found_from_the_working_directory(root, monkeypatch):
    monkeypatch.chdir(root)
    assert Algo().manifest["name"] == "algo-test"


def test_no_manifest_anywhere_is_1003(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RecoverableError) as caught:
        Algo().manifest
    assert caught.value.error_code == ErrorCode.MODEL_NOT_FOUND
    assert "manifest.json" in caught.value.message


def test_read_image_raises_1002_when_unreadable(root):
    algo = Algo()
    algo.bind(root)
    with pytest.raises(RecoverableError) as caught:
        algo.read_image("pv_missing", {"width": 4, "height": 4})
    assert caught.value.error_code == ErrorCode.IMAGE_LOAD_FAILED
    with write_image(np.full((4, 4, 3), 10, dtype=np.uint8)) as shared:
        result = algo.execute(1, "p001", Session("s"), {}, shared.shared_mem_id, shared.image_meta)
    assert result["data"]["debug"]["mean"] == 10.0


def test_default_hooks_do_nothing(root):
    algo = Algo()
    session = Session("s")
    session.set("count", 1)
    results = [algo.setup(), algo.on_step_start(1, session, {}), algo.on_step_finish(1, session, {"status": "OK"}),
               algo.reset(session), algo.teardown()]
    assert results == [None] * 5
    assert session.get("count") == 1  # the default hooks leave the session's state alone
