"""pylock.toml: `procvision lock` writes it, builds reuse it, staleness is named, concurrent builds share a cache."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from procvision_build.config.load import load_config
from procvision_build.errors import LockError
from procvision_build.lock.lockfile import read_lock
from procvision_build.lock.plan import lock_project, wheels_for_target
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.resolver.test_resolution import make_source_tree
from tests.support import projects
from tests.support.commands import clean_env, procvision
from tests.support.wheels import WheelSpec, build_wheel

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
TARGETS = [("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10"), ("macosx_11_0_arm64", "3.12")]


def write_project(root: Path, index_url: str | None, dependencies: list[str], targets=TARGETS,
                  extra_sources: str = "") -> Path:
    if not (root / "dist").is_dir():
        build_wheel(WheelSpec("procvision-algorithm-sdk", "1.0.0"), root / "dist")
    deps = ", ".join(json.dumps(d) for d in ["procvision-algorithm-sdk>=1.0", *dependencies])
    target_tables = "".join(f'\n[[tool.procvision.targets]]\nplatform = "{p}"\npython = "{v}"\n' for p, v in targets)
    return projects.write_project(root, textwrap.dedent(f"""\
        [build-system]
        requires = ["procvision-build"]
        build-backend = "procvision_build"

        [project]
        name = "pj-pkg"
        version = "1.0"
        requires-python = ">=3.10"
        dependencies = [{deps}]

        [tool.procvision]
        entry-point = "pj_pkg.main:Algo"
        supported-pids = ["p1"]

        [[tool.procvision.steps]]
        index = 1
        name = "only step"

        {f'[tool.procvision.index]{chr(10)}url = "{index_url}"' if index_url else ""}

        [tool.procvision.sources]
        procvision-algorithm-sdk = {{ path = "dist/procvision_algorithm_sdk-1.0.0-py3-none-any.whl" }}
        {extra_sources}
        """) + target_tables, package="pj_pkg")


def cli(*args: str, cache: Path, **pip_env: str) -> subprocess.CompletedProcess:
    return procvision(*args, cache=cache, env=pip_env, timeout=120)


def selected(lock_path: Path) -> dict[str, list[str]]:
    data = tomllib.loads(lock_path.read_text())
    return {key: [w["file"] for w in value["wheels"]] for key, value in data["tool"]["procvision"]["selected"].items()}


@pytest.mark.slow
def test_lock_round_trip_then_locked_builds_fetch_the_same_wheels_and_a_warm_cache_asks_nobody(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-app"])
    cache = tmp_path / "cache"
    done = cli("lock", str(project), "--isolated", cache=cache)
    assert done.returncode == 0, done.stderr
    lock_path = project / "pylock.toml"
    text = lock_path.read_bytes()
    data = tomllib.loads(text.decode())
    assert data["lock-version"] == "1.0" and data["created-by"] == "procvision-build"
    assert data["requires-python"] == ">=3.10" and len(data["environments"]) == 3
    packages = {p["name"]: p for p in data["packages"]}
    assert packages["lk-core"]["version"] == "1.1" and "marker" not in packages["lk-core"]
    assert packages["lk-win"]["marker"] == "(sys_platform == 'win32' and platform_machine == 'AMD64' and " \
                                          "implementation_name == 'cpython' and python_version == '3.10')"
    assert packages["lk-win"]["wheels"][0]["hashes"]["sha256"] and packages["lk-win"]["wheels"][0]["url"].startswith("http://127.0.0.1")
    sdk = packages["procvision-algorithm-sdk"]
    sdk_wheel = project / "dist/procvision_algorithm_sdk-1.0.0-py3-none-any.whl"
    assert sdk["version"] == "1.0.0" and "wheels" not in sdk  # a local wheel is a PEP 751 archive, with its version
    assert sdk["archive"] == {"path": "dist/procvision_algorithm_sdk-1.0.0-py3-none-any.whl",
                              "size": sdk_wheel.stat().st_size,
                              "hashes": {"sha256": hashlib.sha256(sdk_wheel.read_bytes()).hexdigest()}}
    chosen = selected(lock_path)
    assert chosen["cp310-win_amd64"] == ["lk_app-1.0-py3-none-any.whl", "lk_core-1.1-py3-none-any.whl",
                                         "lk_win-1.0-cp310-cp310-win_amd64.whl",
                                         "procvision_algorithm_sdk-1.0.0-py3-none-any.whl"]
    assert "lk_win-1.0-cp310-cp310-win_amd64.whl" not in chosen["cp312-macosx_11_0_arm64"]

    again = cli("lock", str(project), "--isolated", cache=cache)
    assert again.returncode == 0 and "unchanged" in again.stderr and "resolving" not in again.stderr
    assert lock_path.read_bytes() == text
    again = cli("lock", str(project), "--isolated", "--upgrade", cache=cache)  # resolves anew: same bytes
    assert again.returncode == 0 and "resolving" in again.stderr and "unchanged" in again.stderr
    assert lock_path.read_bytes() == text  # same inputs, same bytes
    assert cli("lock", str(project), "--locked", cache=cache).returncode == 0

    config = load_config(project)
    ui, store = UI(quiet=True), Cache(cache)
    world.index.clear_log()
    for target in config.targets:
        wheels = wheels_for_target(config, target, locked=True, ui=ui, cache=store)
        key = f"cp{target.python.replace('.', '')}-{target.platform}"
        assert [w.filename for w in wheels] == chosen[key]
        assert all(w.path.is_file() and w.path.name == w.filename for w in wheels)
    assert not [r for r in world.index.requests if "/simple/" in r.path], "a fresh lock must not resolve again"
    assert world.index.wheel_downloads()
    world.index.clear_log()
    for target in config.targets:
        wheels_for_target(config, target, locked=True, ui=ui, cache=store)
    assert world.index.requests == []  # warm cache and fresh lock: no network I/O at all


@pytest.mark.slow
def test_locked_versions_are_kept_until_upgraded(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-core==1.0"], targets=TARGETS[:1])
    cache = tmp_path / "cache"
    assert cli("lock", str(project), "--isolated", cache=cache).returncode == 0
    write_project(project, world.index.url, ["lk-core"], targets=TARGETS[:1])
    assert cli("lock", str(project), "--isolated", cache=cache).returncode == 0
    assert "lk_core-1.0-py3-none-any.whl" in selected(project / "pylock.toml")["cp310-win_amd64"]
    assert cli("lock", str(project), "--isolated", "--upgrade-package", "lk-core", cache=cache).returncode == 0
    assert "lk_core-1.1-py3-none-any.whl" in selected(project / "pylock.toml")["cp310-win_amd64"]


@pytest.mark.slow
def test_a_stale_lock_names_what_changed(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-app"], targets=TARGETS[:2])
    cache = tmp_path / "cache"
    assert cli("lock", str(project), "--isolated", cache=cache).returncode == 0
    write_project(project, world.index.url, ["lk-app", "lk-extra>=1"], targets=TARGETS)
    checked = cli("lock", str(project), "--locked", cache=cache)
    assert checked.returncode == 1
    assert "dependency added: lk-extra>=1" in checked.stderr
    assert "target added: cp312-macosx_11_0_arm64" in checked.stderr
    config = load_config(project)
    with pytest.raises(LockError, match="dependency added: lk-extra>=1"):
        wheels_for_target(config, config.targets[0], locked=True, ui=UI(quiet=True), cache=Cache(cache))
    # without --locked the build resolves for itself and leaves the lock alone
    before = (project / "pylock.toml").read_bytes()
    wheels = wheels_for_target(config, config.targets[0], locked=False, ui=UI(quiet=True), cache=Cache(cache))
    assert "lk_extra-1.0-py3-none-any.whl" in [w.filename for w in wheels]
    assert (project / "pylock.toml").read_bytes() == before


@pytest.mark.slow
def test_a_source_directory_is_built_at_lock_time_and_locked_as_an_archive(world, tmp_path) -> None:
    project = tmp_path / "pj"
    make_source_tree(project / "local-lib", version="3.0")
    write_project(project, world.index.url, ["local-lib"], targets=TARGETS[:1],
                  extra_sources='local-lib = { path = "local-lib" }')
    config = load_config(project)
    store = Cache(tmp_path / "cache")
    lock_project(config, ui=UI(quiet=True), cache=store, isolated=True)
    lock = read_lock(project / "pylock.toml")
    assert lock is not None
    data = tomllib.loads((project / "pylock.toml").read_text())
    entry = next(p for p in data["packages"] if p["name"] == "local-lib")
    # built at lock time into procvision-sources/ and locked there as an archive, with its version and hash
    built = project / "procvision-sources" / "local_lib-3.0-py3-none-any.whl"
    assert entry["version"] == "3.0" and "directory" not in entry
    assert entry["archive"] == {"path": "procvision-sources/local_lib-3.0-py3-none-any.whl",
                                "size": built.stat().st_size,
                                "hashes": {"sha256": hashlib.sha256(built.read_bytes()).hexdigest()}}
    assert "local-lib = directory local-lib" in data["tool"]["procvision"]["sources"]
    wheels = {w.name: w for w in wheels_for_target(config, config.targets[0], locked=True, ui=UI(quiet=True),
                                                   cache=store)}
    assert wheels["local-lib"].version == "3.0" and wheels["local-lib"].path.is_file()
    assert wheels["local-lib"].url is None and wheels["lk-core"].url
    # a version bump in the source directory: --locked names it, lock and unlocked builds follow it
    make_source_tree(project / "local-lib", version="3.1")
    with pytest.raises(LockError, match=r"source local-lib now builds local_lib-3.1-py3-none-any.whl \(locked: local_lib-3.0"):
        wheels_for_target(config, config.targets[0], locked=True, ui=UI(quiet=True), cache=store)
    bumped = {w.name: w for w in wheels_for_target(config, config.targets[0], locked=False, ui=UI(quiet=True),
                                                   cache=store)}
    assert bumped["local-lib"].version == "3.1"
    assert lock_project(config, ui=UI(quiet=True), cache=store, isolated=True)[1] is True
    assert "local_lib-3.1-py3-none-any.whl" in (project / "pylock.toml").read_text()
    assert sorted(p.name for p in (project / "procvision-sources").iterdir()) == ["local_lib-3.1-py3-none-any.whl"]
    # other bytes at the same version: the lock names the change
    (project / "local-lib" / "extra.txt").write_text("X = 1\n")
    with pytest.raises(LockError, match=r"source local-lib changed: local_lib-3.1-py3-none-any.whl now has sha256"):
        lock_project(load_config(project), ui=UI(quiet=True), cache=store, check=True)
    # a fresh clone has the lock but not the built wheel: `procvision lock` puts it back without resolving
    assert lock_project(load_config(project), ui=UI(quiet=True), cache=store, isolated=True)[1] is True
    (project / "procvision-sources" / "local_lib-3.1-py3-none-any.whl").unlink()
    assert lock_project(load_config(project), ui=UI(quiet=True), cache=store, isolated=True)[1] is False
    assert (project / "procvision-sources" / "local_lib-3.1-py3-none-any.whl").is_file()


CONCURRENT = """
import sys
from pathlib import Path
from procvision_build.config.load import load_config
from procvision_build.lock.plan import wheels_for_target
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
config = load_config(Path(sys.argv[1]))
for target in config.targets:
    wheels = wheels_for_target(config, target, locked=False, ui=UI(quiet=True), cache=Cache(Path(sys.argv[2])),
                               isolated=True)
    print(target.platform, sorted(str(w.path) for w in wheels))
"""


@pytest.mark.slow
def test_two_concurrent_builds_on_one_cache_both_succeed(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-app", "tm-core"])
    cache = tmp_path / "cache"
    runs = [subprocess.Popen([sys.executable, "-c", CONCURRENT, str(project), str(cache)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=clean_env()) for _ in range(2)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [err for _, err in outputs]
    assert outputs[0][0] == outputs[1][0] and outputs[0][0].count("\n") == 3


@pytest.mark.slow
def test_nothing_to_lock_and_an_unreadable_lock_are_clear_errors(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, [], targets=[])
    done = cli("lock", str(project), "--isolated", cache=tmp_path / "cache")
    assert done.returncode == 1 and "declares no [[tool.procvision.targets]]" in done.stderr
    write_project(project, world.index.url, [], targets=TARGETS[:1])
    (project / "pylock.toml").write_text("lock-version = [not toml")
    done = cli("lock", str(project), "--locked", cache=tmp_path / "cache")
    assert done.returncode == 1 and "pylock.toml: cannot read it" in done.stderr and "procvision lock" in done.stderr
    done = cli("lock", str(project), "--isolated", cache=tmp_path / "cache")  # replaced, with a warning
    assert done.returncode == 0 and "warning:" in done.stderr and "cannot read it" in done.stderr
    assert tomllib.loads((project / "pylock.toml").read_text())["lock-version"] == "1.0"


_SELECTED = '[tool.procvision.selected."cp310-win_amd64"]\nwheels = [{ name = "a", version = "1", file = "a-1-py3-none-any.whl" }]\n'
_INPUTS = 'lock-version = "1.0"\n[tool.procvision]\nfingerprint = "x"\ndependencies = []\nsources = []\ntargets = []\n'


@pytest.mark.parametrize("text", [
    'lock-version = "1.0"\ntool = "x"\n',
    'lock-version = "1.0"\n[[packages]]\nname = "a"\nwheels = [{ name = "a-1-py3-none-any.whl", hashes = "x" }]\n'
    + _INPUTS[len('lock-version = "1.0"\n'):] + _SELECTED,
    _INPUTS + _SELECTED,  # a selected wheel the packages do not list
    'lock-version = "1.0"\npackages = [1]\n' + _INPUTS[len('lock-version = "1.0"\n'):],
    # a digest or a file name that would lead outside the cache's wheel store
    'lock-version = "1.0"\n[[packages]]\nname = "a"\nwheels = [{ name = "a-1-py3-none-any.whl", url = "http://x/a", '
    'hashes = { sha256 = "../../x" } }]\n' + _INPUTS[len('lock-version = "1.0"\n'):] + _SELECTED,
    _INPUTS + _SELECTED.replace('file = "a-1', 'file = "../../a-1'),
])
def test_a_lock_of_the_wrong_shape_is_a_lock_error_not_a_traceback(tmp_path, text) -> None:
    path = tmp_path / "pylock.toml"
    path.write_text(text)
    with pytest.raises(LockError, match="not a lock this tool wrote or understands"):
        read_lock(path)


@pytest.mark.slow
def test_an_unusable_cache_directory_is_a_message_not_a_traceback(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-core"], targets=TARGETS[:1])
    (tmp_path / "a-file").write_text("")
    done = cli("lock", str(project), "--isolated", cache=tmp_path / "a-file")
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    assert "\nerror: [Errno" in done.stderr and str(tmp_path / "a-file") in done.stderr
    assert "PROCVISION_CACHE_DIR" in done.stderr


@pytest.mark.slow
def test_without_an_index_table_pip_configuration_is_used(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", None, ["lk-app"], targets=TARGETS[:1])
    done = cli("lock", str(project), cache=tmp_path / "cache", PIP_INDEX_URL=world.index.url)
    assert done.returncode == 0, done.stderr
    assert "lk_win-1.0-cp310-cp310-win_amd64.whl" in selected(project / "pylock.toml")["cp310-win_amd64"]


def test_a_find_links_wheel_is_locked_with_the_sha256_computed_here(world, tmp_path) -> None:
    folder = tmp_path / "vendor"
    wheel = build_wheel(WheelSpec("vendored-only", "4.2"), folder)
    project = write_project(tmp_path / "pj", world.index.url, ["vendored-only", "lk-core"], targets=TARGETS[:1])
    text = (project / "pyproject.toml").read_text().replace(
        f'url = "{world.index.url}"', f'url = "{world.index.url}"\nfind-links = ["{folder.as_posix()}"]')
    (project / "pyproject.toml").write_text(text)
    config = load_config(project)
    store = Cache(tmp_path / "cache")
    lock_project(config, ui=UI(quiet=True), cache=store, isolated=True)
    data = tomllib.loads((project / "pylock.toml").read_text())
    entry = next(p for p in data["packages"] if p["name"] == "vendored-only")
    import hashlib
    assert entry["wheels"][0]["hashes"]["sha256"] == hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert entry["wheels"][0]["url"] == wheel.as_uri()
    wheels = wheels_for_target(config, config.targets[0], locked=True, ui=UI(quiet=True), cache=store)
    assert "vendored_only-4.2-py3-none-any.whl" in [w.filename for w in wheels]


@pytest.mark.slow
def test_a_target_outside_the_projects_requires_python_is_refused_before_resolving(world, tmp_path) -> None:
    project = write_project(tmp_path / "pj", world.index.url, ["lk-core"], targets=TARGETS[:1])
    text = (project / "pyproject.toml").read_text().replace('requires-python = ">=3.10"', 'requires-python = ">=3.11"')
    (project / "pyproject.toml").write_text(text)
    done = cli("lock", str(project), "--isolated", cache=tmp_path / "cache")
    assert done.returncode == 1
    assert "project.requires-python allows (>=3.11), found \"3.10\"" in done.stderr  # config.py's check
    assert "resolving" not in done.stderr


def test_a_bundle_lock_names_exactly_the_targets_wheels_by_path_and_hash(world, tmp_path) -> None:
    import hashlib

    from procvision_build.bundle.pylock import render_bundle_lock
    from procvision_build.resolve.targets import target_from_spec

    project = write_project(tmp_path / "pj", world.index.url, ["lk-app"], targets=TARGETS[:1])
    config = load_config(project)
    store = Cache(tmp_path / "cache")
    wheels = wheels_for_target(config, config.targets[0], locked=False, ui=UI(quiet=True), cache=store, isolated=True)
    target = target_from_spec(config.targets[0])
    text = render_bundle_lock(target, wheels, requires_python=">=3.10")
    assert render_bundle_lock(target, list(reversed(wheels)), requires_python=">=3.10") == text  # order-free
    data = tomllib.loads(text)
    assert data["lock-version"] == "1.0" and data["environments"] == [target.marker_expression()]
    assert data["tool"]["procvision"]["target"] == "cp310-win_amd64"
    files = {p["name"]: p["wheels"][0] for p in data["packages"]}
    assert set(files) == {"lk-app", "lk-core", "lk-win", "procvision-algorithm-sdk"}
    for wheel in wheels:
        entry = files[wheel.name]
        assert entry["path"] == f"wheels/{wheel.filename}" and entry["size"] == wheel.path.stat().st_size
        assert entry["hashes"]["sha256"] == hashlib.sha256(wheel.path.read_bytes()).hexdigest() == wheel.sha256
