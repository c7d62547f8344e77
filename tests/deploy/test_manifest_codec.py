"""One manifest codec: the build writes through ``deploy/manifest.py``, which reads and checks it, and the SDK's
own run-time reader (it runs without procvision-build) agrees with it."""

from __future__ import annotations

from pathlib import Path

from procvision_algorithm_sdk import manifest as sdk_manifest

from procvision_build.artifacts.manifest import build_manifest
from procvision_build.config.load import load_config
from procvision_build.config.model import TargetSpec
from procvision_build.deploy import manifest as codec
from tests.backend.helpers import EXAMPLE

TARGET = TargetSpec.from_text("win_amd64:3.10")


def test_the_writer_keeps_the_documented_key_order() -> None:
    config = load_config(EXAMPLE)
    for built in (build_manifest(config), build_manifest(config, TARGET, sdk_version="1.0.0")):
        assert tuple(built) == codec.MANIFEST_FIELDS
        assert set(codec.REQUIRED_FIELDS) <= set(built)


def test_the_sdk_reader_reads_what_the_deploy_codec_reads(tmp_path: Path) -> None:
    assert sdk_manifest.MANIFEST_NAME == codec.MANIFEST_NAME
    assert set(sdk_manifest._REQUIRED) <= set(codec.REQUIRED_FIELDS)
    raw = codec.dumps_manifest(build_manifest(load_config(EXAMPLE), TARGET, sdk_version="1.0.0"))
    path = tmp_path / codec.MANIFEST_NAME
    path.write_bytes(raw)
    parsed = codec.parse_manifest(raw, need_target=True)
    assert sdk_manifest.read_manifest(path) == parsed.data
    assert parsed.target is not None and codec.target_object(parsed.target) == parsed.data["target"]
