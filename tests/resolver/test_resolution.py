"""Resolution per target against a real index on 127.0.0.1: markers, tags, rules, conflicts, local sources."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from packaging.utils import parse_wheel_filename

from procvision_build.config.model import SourceSpec, TargetSpec
from procvision_build.errors import LocalSourceError, ResolutionError, UndecidableMarker
from procvision_build.resolve.local_sources import LocalSources
from procvision_build.resolve.resolver import resolve
from procvision_build.resolve.targets import target_from_spec
from tests.support.wheels import WheelSpec, build_wheel

COMMON = {"mm-app", "mm-cpy", "mm-extra", "mm-base", "mm-gui"}

MARKER_MATRIX = {
    ("win_amd64", "3.10"): COMMON | {"mm-win", "mm-win-deep", "mm-windows-sys", "mm-tomli", "mm-exc", "mm-gui-win"},
    ("manylinux_2_17_x86_64", "3.10"): COMMON | {"mm-posix", "mm-tomli", "mm-exc", "mm-linux"},
    ("macosx_11_0_arm64", "3.12"): COMMON | {"mm-posix", "mm-arm", "mm-mac", "mm-new"},
    ("musllinux_1_2_x86_64", "3.11"): COMMON | {"mm-posix", "mm-linux", "mm-impl"},
}


@pytest.mark.parametrize("platform, python", list(MARKER_MATRIX))
def test_marker_matrix_gives_exactly_the_set_an_installer_on_the_target_would(pins, platform, python) -> None:
    assert set(pins(["mm-app", "mm-extra[gui]"], platform, python)) == MARKER_MATRIX[(platform, python)]


def test_an_undecidable_marker_names_itself_and_the_line_that_settles_it(pins) -> None:
    with pytest.raises(UndecidableMarker) as caught:
        pins(["mm-patch"], "win_amd64", "3.10")
    message = str(caught.value)
    assert "python_full_version >= \"3.10.2\"" in message and "mm-patch 1.0 requires" in message
    assert 'markers = { python_full_version = "3.10.12" }' in message
    assert "mm-leaf" in pins(["mm-patch"], "win_amd64", "3.10", markers={"python_full_version": "3.10.12"})
    assert "mm-leaf" not in pins(["mm-patch"], "win_amd64", "3.10.1")


TAG_MATRIX = {
    ("manylinux_2_17_x86_64", "3.10"): "cp310-cp310-manylinux2014_x86_64",
    ("manylinux_2_28_x86_64", "3.10"): "cp310-cp310-manylinux_2_28_x86_64",
    ("manylinux_2_17_x86_64", "3.11"): "py3-none-any",
    ("manylinux_2_28_aarch64", "3.12"): "cp311-abi3-manylinux_2_17_aarch64.manylinux2014_aarch64",
    ("win_amd64", "3.10"): "cp310-cp310-win_amd64",
    ("win_amd64", "3.11"): "cp311-cp311-win_amd64",
    ("win_amd64", "3.12"): "cp39-abi3-win_amd64",
    ("win_arm64", "3.10"): "py3-none-any",
    ("musllinux_1_2_x86_64", "3.11"): "cp311-cp311-musllinux_1_1_x86_64",
    ("macosx_11_0_arm64", "3.12"): "cp312-cp312-macosx_10_9_universal2",
    ("macosx_12_0_arm64", "3.12"): "cp312-cp312-macosx_12_0_arm64",
    ("macosx_10_15_x86_64", "3.12"): "cp312-cp312-macosx_10_9_x86_64",
}


def chosen_files(finder, requirements, platform, python, **options) -> dict[str, str]:
    resolution = resolve(requirements, target_from_spec(TargetSpec(platform, python)), finder, **options)
    return {pick.name: pick.link.filename for pick in resolution.picks}


@pytest.mark.parametrize("platform, python", list(TAG_MATRIX))
def test_tag_matrix_picks_the_wheel_an_installer_on_the_target_would(finder, platform, python) -> None:
    assert chosen_files(finder, ["tm-core"], platform, python)["tm-core"] == f"tm_core-1.0-{TAG_MATRIX[(platform, python)]}.whl"


def test_a_build_tag_breaks_ties_and_the_newest_fitting_release_wins(finder) -> None:
    files = chosen_files(finder, ["tm-build", "tm-fallback"], "manylinux_2_17_x86_64", "3.10")
    assert files["tm-build"] == "tm_build-1.0-2-py3-none-any.whl"
    # 2.0 only has a manylinux_2_28 wheel: a glibc 2.17 PC gets 1.5 instead of a failure
    assert files["tm-fallback"].startswith("tm_fallback-1.5-")
    assert chosen_files(finder, ["tm-fallback"], "manylinux_2_28_x86_64", "3.10")["tm-fallback"].startswith(
        "tm_fallback-2.0-")


def test_no_fitting_wheel_explains_every_file_that_exists(pins) -> None:
    with pytest.raises(ResolutionError) as caught:
        pins(["tm-only"], "manylinux_2_17_x86_64", "3.10")
    message = str(caught.value)
    assert "target cp310-manylinux_2_17_x86_64" in message and "'tm-only' <- the project" not in message
    assert "tm-only is required as the project -> 'tm-only'" in message
    assert "tm_only-2.0-cp312-cp312-win_amd64.whl: wrong platform tag win_amd64" in message
    assert "tm_only-2.0-cp312-cp312-manylinux_2_17_x86_64.whl: wrong Python/ABI tag cp312-cp312" in message
    assert "tm_only-1.0-cp310-cp310-macosx_11_0_arm64.whl: wrong platform tag macosx_11_0_arm64" in message
    assert "tm_only-2.0.tar.gz: source distribution only" in message


def test_the_explanation_lists_files_newest_release_first_in_pep440_order(pins) -> None:
    with pytest.raises(ResolutionError) as caught:
        pins(["tm-order"], "manylinux_2_17_x86_64", "3.10")
    message = str(caught.value)
    order = [message.index(f"tm_order-{version}-cp312") for version in ("1.10", "1.2.1", "1.2.post1", "1.2")]
    assert order == sorted(order), message


def test_a_name_no_index_knows_is_named_with_where_it_was_looked_for(pins) -> None:
    with pytest.raises(ResolutionError) as caught:
        pins(["mm-app", "no-such-project>=1"], "win_amd64", "3.10")
    message = str(caught.value)
    assert message.startswith("no project named no-such-project is on the configured indexes and find-links")
    assert "no-such-project is required as the project -> 'no-such-project>=1'" in message


def test_yanked_releases_are_skipped_unless_pinned_exactly(pins) -> None:
    assert pins(["yk-lib"], "win_amd64", "3.10")["yk-lib"] == "1.0"
    assert pins(["yk-lib==1.1"], "win_amd64", "3.10")["yk-lib"] == "1.1"
    with pytest.raises(ResolutionError, match="yanked: broken build"):
        pins(["yk-lib>1.0"], "win_amd64", "3.10")


def test_requires_python_from_the_index_and_from_metadata_hold(pins) -> None:
    assert pins(["rp-lib"], "win_amd64", "3.10")["rp-lib"] == "1.0"
    assert pins(["rp-lib"], "win_amd64", "3.12")["rp-lib"] == "2.0"
    # rpm-lib 2.0 says Requires-Python >=3.11 only in its METADATA: found, then backtracked
    assert pins(["rpm-lib"], "manylinux_2_17_x86_64", "3.10")["rpm-lib"] == "1.0"
    assert pins(["rpm-lib"], "manylinux_2_17_x86_64", "3.11")["rpm-lib"] == "2.0"
    with pytest.raises(ResolutionError) as caught:
        pins(["rpm-lib>=2"], "manylinux_2_17_x86_64", "3.10")
    assert "rpm-lib 2.0 requires Python >=3.11, but the target runs Python 3.10" in str(caught.value)
    with pytest.raises(ResolutionError, match="requires Python >=3.12, the target runs 3.10"):
        pins(["rp-lib>=2"], "win_amd64", "3.10")


def test_a_conflict_names_both_requirement_chains(pins) -> None:
    with pytest.raises(ResolutionError) as caught:
        pins(["cf-a", "cf-b"], "win_amd64", "3.10")
    message = str(caught.value)
    assert "the project -> cf-a 1.0 -> 'cf-c<2'" in message
    assert "the project -> cf-b 1.0 -> 'cf-c>=2'" in message


def test_backtracking_moves_to_an_older_release_when_a_dependency_has_no_wheel(pins) -> None:
    assert pins(["bt-x"], "win_amd64", "3.10") == {"bt-x": "1.0", "bt-y": "2.0"}
    assert pins(["bt-x"], "manylinux_2_17_x86_64", "3.10") == {"bt-x": "2.0", "bt-y": "3.0"}


def test_locked_versions_are_preferred_over_newer_ones(pins) -> None:
    assert pins(["cf-c"], "win_amd64", "3.10")["cf-c"] == "2.0"
    assert pins(["cf-c"], "win_amd64", "3.10", preferred={"cf-c": "1.0"})["cf-c"] == "1.0"


# -- local sources ---------------------------------------------------------------------------


def test_a_local_source_beats_any_index_version_and_the_index_is_never_asked(world, tmp_path) -> None:
    local_wheel = build_wheel(WheelSpec("procvision-algorithm-sdk", "1.0.0"), tmp_path / "dist")
    local = LocalSources([SourceSpec("procvision-algorithm-sdk", local_wheel, "wheel")], tmp_path / "builds")
    finder = world.finder()  # a fresh client: nothing cached from other tests
    world.index.clear_log()
    target = target_from_spec(TargetSpec("win_amd64", "3.10"))
    resolution = resolve(["dc-app", "procvision-algorithm-sdk"], target, finder, local=local, local_names=local.names)
    picks = {p.name: p for p in resolution.picks}
    assert str(picks["procvision-algorithm-sdk"].version) == "1.0.0"  # not 9.0.0 from the index
    assert picks["procvision-algorithm-sdk"].local and picks["procvision-algorithm-sdk"].link.url.startswith("file:")
    asked = [r.path for r in world.index.requests]
    assert "/simple/dc-app/" in asked
    assert not [path for path in asked if "procvision" in path]


def test_a_local_wheel_that_does_not_fit_the_target_is_explained(world, tmp_path) -> None:
    wheel = build_wheel(WheelSpec("procvision-algorithm-sdk", "1.0.0", tag="cp312-cp312-win_amd64"), tmp_path)
    local = LocalSources([SourceSpec("procvision-algorithm-sdk", wheel, "wheel")], tmp_path / "builds")
    target = target_from_spec(TargetSpec("win_amd64", "3.10"))
    with pytest.raises(ResolutionError) as caught:
        resolve(["procvision-algorithm-sdk"], target, world.finder(), local=local, local_names=local.names)
    assert "procvision_algorithm_sdk-1.0.0-cp312-cp312-win_amd64.whl: wrong Python/ABI tag cp312-cp312" in str(caught.value)


BACKEND = '''
"""A minimal in-tree PEP 517 backend: enough to prove the hook runs in a child process."""
import base64, hashlib, os, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name, version = "local-lib", "{version}"
    dist = "local_lib-" + version
    files = {{
        "local_lib/__init__.py": b"PID = " + str(os.getpid()).encode() + b"\\n",
        dist + ".dist-info/METADATA": b"Metadata-Version: 2.1\\nName: local-lib\\nVersion: " + version.encode()
            + b"\\nRequires-Dist: lk-core\\n",
        dist + ".dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}
    record = "".join(f"{{p}},sha256={{base64.urlsafe_b64encode(hashlib.sha256(d).digest()).rstrip(b'=').decode()}},{{len(d)}}\\n"
                     for p, d in files.items()) + dist + ".dist-info/RECORD,,\\n"
    filename = dist + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(dist + ".dist-info/RECORD", record)
    return filename
'''


def make_source_tree(root: Path, version: str = "2.5", backend: str = "inline_backend") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text(textwrap.dedent(f"""
        [build-system]
        requires = []
        build-backend = "{backend}"
        backend-path = ["_backend"]
    """))
    (root / "_backend").mkdir(exist_ok=True)
    (root / "_backend" / "inline_backend.py").write_text(BACKEND.format(version=version))
    return root


@pytest.mark.slow
def test_a_source_directory_is_built_with_its_own_backend_and_reused(world, tmp_path) -> None:
    tree = make_source_tree(tmp_path / "local-lib")
    local = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds")
    target = target_from_spec(TargetSpec("manylinux_2_17_x86_64", "3.10"))
    resolution = resolve(["local-lib"], target, world.finder(), local=local, local_names=local.names)
    assert resolution.pins() == {"local-lib": "2.5", "lk-core": "1.1"}
    first = local.wheel("local-lib")
    again = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib")
    assert again == first  # same tree: the earlier build is reused, not rebuilt
    (tree / "_backend" / "inline_backend.py").write_text(BACKEND.format(version="2.6"))
    rebuilt = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib")
    assert rebuilt.name == "local_lib-2.6-py3-none-any.whl"


@pytest.mark.slow
def test_a_source_tree_is_rebuilt_when_a_nested_build_package_changes(tmp_path) -> None:
    tree = make_source_tree(tmp_path / "local-lib")
    (tree / "local_lib" / "build").mkdir(parents=True)  # a subpackage named like build output
    (tree / "local_lib" / "build" / "steps.py").write_text("STEPS = 1\n")
    (tree / "build").mkdir()  # real build output at the top stays out of the tree's identity
    (tree / "build" / "junk.txt").write_text("1")
    first = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib")
    (tree / "build" / "junk.txt").write_text("2")
    assert LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib") == first
    (tree / "local_lib" / "build" / "steps.py").write_text("STEPS = 2\n")
    again = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib")
    assert again.parent != first.parent  # a new build, not the stale one


@pytest.mark.slow
def test_a_stale_build_folder_without_a_wheel_is_replaced(tmp_path) -> None:
    from procvision_build.resolve.local_sources import tree_digest

    tree = make_source_tree(tmp_path / "local-lib")
    stale = tmp_path / "builds" / f"local-lib-{tree_digest(tree)[:32]}"
    stale.mkdir(parents=True)
    (stale / "leftover.txt").write_text("a killed build, or a wheel deleted by hand")
    built = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds").wheel("local-lib")
    assert built == stale / "local_lib-2.5-py3-none-any.whl" and built.is_file()


def test_a_damaged_local_wheel_is_a_clear_error(world, tmp_path) -> None:
    damaged = tmp_path / "procvision_algorithm_sdk-1.0.0-py3-none-any.whl"
    damaged.write_bytes(b"truncated download")
    local = LocalSources([SourceSpec("procvision-algorithm-sdk", damaged, "wheel")], tmp_path / "builds")
    target = target_from_spec(TargetSpec("win_amd64", "3.10"))
    with pytest.raises(LocalSourceError, match="is not a readable wheel .*rebuild it"):
        resolve(["procvision-algorithm-sdk"], target, world.finder(), local=local, local_names=local.names)


@pytest.mark.slow
def test_a_backend_that_is_not_importable_is_a_clear_error(tmp_path) -> None:
    tree = make_source_tree(tmp_path / "broken", backend="no_such_backend_module")
    local = LocalSources([SourceSpec("local-lib", tree, "directory")], tmp_path / "builds")
    with pytest.raises(LocalSourceError) as caught:
        local.wheel("local-lib")
    message = str(caught.value)
    assert "no_such_backend_module" in message and "cannot import" in message and "pip install" in message


def test_the_real_sdk_is_built_in_process_and_resolved_against_real_wheels(wheelhouse, tmp_path, repo_root) -> None:
    from procvision_build.index.client import IndexClient
    from procvision_build.index.pipconfig import IndexSources
    from procvision_build.store.cache import Cache
    from procvision_build.ui import UI
    from tests.support.index_server import IndexServer

    # The wheelhouse holds, per Python, the wheels pip picked on this machine (glibc 2.36 or
    # newer x86_64 Linux, as CI), the newest of its cp310 ones, and older manylinux_2_17 ones for
    # the factory bundles: a manylinux_2_36 cp310 target must get exactly the newest.
    def cp310_wheel(name: str) -> str:
        found = sorted(wheelhouse.glob(f"{name}-*-cp310-*.whl"), key=lambda w: parse_wheel_filename(w.name)[1])
        assert found, name
        return found[-1].name

    sdk = SourceSpec("procvision-algorithm-sdk", repo_root / "sdk", "directory")
    local = LocalSources([sdk], tmp_path / "builds")
    with IndexServer(wheelhouse) as index:
        finder = IndexClient(IndexSources.pip_style((index.url,)), Cache(tmp_path / "cache"), UI(quiet=True))
        target = target_from_spec(TargetSpec("manylinux_2_36_x86_64", "3.10"))
        resolution = resolve(["procvision-algorithm-sdk>=1.0"], target, finder, local=local, local_names=local.names)
        files = {pick.name: pick.link.filename for pick in resolution.picks}
        assert files["procvision-algorithm-sdk"].startswith("procvision_algorithm_sdk-1.")
        assert files["numpy"] == cp310_wheel("numpy") and files["pillow"] == cp310_wheel("pillow")
        # a Windows PC: the wheelhouse has nothing for it, and the error says so file by file
        with pytest.raises(ResolutionError) as caught:
            resolve(["procvision-algorithm-sdk>=1.0"], target_from_spec(TargetSpec("win_amd64", "3.10")),
                    finder, local=local, local_names=local.names)
        message = str(caught.value)
        assert "the project -> procvision-algorithm-sdk 1." in message
        assert f"{cp310_wheel('numpy')}: wrong platform tag" in message or \
            f"{cp310_wheel('pillow')}: wrong platform tag" in message


def test_constraints_limit_versions_without_adding_requirements_per_target(pins) -> None:
    assert pins(["lk-core"], "win_amd64", "3.10", constraints=["lk-core<1.1"])["lk-core"] == "1.0"
    assert "cf-c" not in pins(["lk-core"], "win_amd64", "3.10", constraints=["cf-c<2"])
    linux_only = ["lk-core<1.1; sys_platform == 'linux'"]
    assert pins(["lk-core"], "manylinux_2_17_x86_64", "3.10", constraints=linux_only)["lk-core"] == "1.0"
    assert pins(["lk-core"], "win_amd64", "3.10", constraints=linux_only)["lk-core"] == "1.1"
    with pytest.raises(ResolutionError):
        pins(["lk-core>=1.1"], "win_amd64", "3.10", constraints=["lk-core<1.1"])


def test_overrides_replace_what_every_requirer_declares(pins) -> None:
    with pytest.raises(ResolutionError):
        pins(["cf-a", "cf-b"], "win_amd64", "3.10")  # cf-a wants cf-c<2, cf-b cf-c>=2
    assert pins(["cf-a", "cf-b"], "win_amd64", "3.10", overrides=["cf-c>=2"])["cf-c"] == "2.0"
    assert pins(["cf-b"], "win_amd64", "3.10", overrides=["cf-c<2"])["cf-c"] == "1.0"
    assert "cf-c" not in pins(["lk-core"], "win_amd64", "3.10", overrides=["cf-c>=2"])  # adds nothing
