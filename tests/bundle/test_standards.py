"""What we write, read by the tools the ecosystem trusts: the project's pylock.toml installs with pip and uv and
validates with packaging.pylock; the SBOM passes CycloneDX's strict validator with a complete dependency graph."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.bundle.conftest import Built

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

LINUX = "cp310-manylinux_2_17_x86_64"


def test_the_projects_lock_validates_with_packaging(example_bundles: Built) -> None:
    from packaging.pylock import Pylock

    data = tomllib.loads((example_bundles.project / "pylock.toml").read_text())
    Pylock.from_dict(data).validate()
    sdk = next(p for p in data["packages"] if p["name"] == "procvision-algorithm-sdk")
    # the SDK is a source directory (../sdk): built at lock time, locked as the archive of that wheel
    assert sdk["version"] == "1.0.0" and set(sdk["archive"]) == {"path", "size", "hashes"}
    assert (example_bundles.project / sdk["archive"]["path"]).is_file()
    import zipfile

    for bundle in example_bundles.bundles.values():  # and each bundle's own lock
        with zipfile.ZipFile(bundle) as archive:
            Pylock.from_dict(tomllib.loads(archive.read("algorithm_example-1.0.0/pylock.toml").decode())).validate()


@pytest.fixture(scope="module")
def install_env(offline_pip_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """No index at all: every file comes from the lock's own URLs (127.0.0.1) and paths."""
    cache = tmp_path_factory.mktemp("pylock-install")
    return {**offline_pip_env, "PIP_NO_CACHE_DIR": "1", "UV_CACHE_DIR": str(cache / "uv"), "UV_NO_CONFIG": "1",
            "UV_PYTHON_DOWNLOADS": "never", "UV_OFFLINE": "0"}


def fresh_venv(python: Path, where: Path, env: dict[str, str]) -> Path:
    subprocess.run([str(python), "-m", "venv", str(where)], check=True, env=env, capture_output=True)
    return where / "bin" / "python"


def installed(python: Path) -> dict[str, str]:
    code = "import importlib.metadata as m; print('\\n'.join(sorted(f'{d.metadata[\"Name\"]}=={d.version}' " \
           "for d in m.distributions())))"
    done = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True)
    return dict(line.split("==") for line in done.stdout.split())


@pytest.mark.slow
@pytest.mark.parametrize("installer", ["pip", "uv"])
def test_pip_and_uv_install_the_projects_lock_in_a_fresh_310_venv(example_bundles: Built, python_for, install_env,
                                                                   tmp_path: Path, installer: str) -> None:
    python = fresh_venv(python_for("3.10"), tmp_path / "venv", install_env)
    lock = example_bundles.project / "pylock.toml"
    if installer == "pip":  # pip reads pylock.toml with -r since 26.1 (the wheelhouse holds one)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "pip>=26.1"], check=True, env=install_env,
                       capture_output=True)
        command = [str(python), "-m", "pip", "install", "-r", str(lock)]
    else:
        command = ["uv", "pip", "install", "--python", str(python), "-r", str(lock)]
    done = subprocess.run(command, env=install_env, capture_output=True, text=True, timeout=300,
                          cwd=example_bundles.project)
    assert done.returncode == 0, done.stdout + done.stderr
    selected = tomllib.loads(lock.read_text())["tool"]["procvision"]["selected"][LINUX]["wheels"]
    versions = installed(python)
    for wheel in selected:
        assert versions.get(wheel["name"]) == wheel["version"], (wheel, versions)


@pytest.mark.parametrize("key", ["cp310-win_amd64", LINUX])
def test_the_sbom_passes_the_strict_validator_with_a_complete_dependency_graph(example_bundles: Built, factory_index,
                                                                              key: str) -> None:
    import json
    import warnings
    import zipfile

    from cyclonedx.model.bom import Bom
    from cyclonedx.schema import SchemaVersion
    from cyclonedx.validation.json import JsonStrictValidator

    with zipfile.ZipFile(example_bundles.bundles[key]) as archive:
        text = archive.read("algorithm_example-1.0.0/sbom.cdx.json").decode()
    assert JsonStrictValidator(SchemaVersion.V1_5).validate_str(text) is None
    document = json.loads(text)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "the Dependency Graph is incomplete" is a warning: fail on it
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning)
            bom = Bom.from_json(document)  # type: ignore[attr-defined]
            assert bom.validate()
    components = {c["name"]: c for c in document["components"]}
    # from the factory index, which is not pip's default one: the purl names the index the lock records
    for name in ("numpy", "pillow"):
        assert components[name]["purl"] == (f"pkg:pypi/{name}@{components[name]['version']}"
                                            f"?repository_url={factory_index.url}")
    # local sources and the algorithm: generic purls pinned by sha256, never a public project's
    for name in ("procvision-algorithm-sdk", "algorithm-example"):
        component = components[name]
        assert component["purl"] == f"pkg:generic/{name}@1.0.0?checksum=sha256:{component['hashes'][0]['content']}"
    assert document["metadata"]["component"]["purl"] == "pkg:generic/algorithm-example@1.0.0"
    # the graph: every component has an entry; edges as the wheels' METADATA says for this target
    by_name = {c["bom-ref"]: name for name, c in components.items()}
    graph = {by_name.get(d["ref"], "ROOT"): sorted(by_name[r] for r in d["dependsOn"]) for d in document["dependencies"]}
    assert set(graph) == {"ROOT", *components}
    assert graph["ROOT"] == ["algorithm-example"]
    assert graph["algorithm-example"] == ["numpy", "pillow", "procvision-algorithm-sdk"]
    assert graph["procvision-algorithm-sdk"] == ["numpy", "pillow"]
    assert graph["numpy"] == [] and graph["pillow"] == []


def test_the_dependency_graph_follows_markers_and_extras() -> None:
    from email.message import Message

    from procvision_build.bundle.sbom import dependency_graph
    from procvision_build.config.model import TargetSpec
    from procvision_build.resolve.targets import target_from_spec

    def metadata(*requires: str) -> Message:
        message = Message()
        for line in requires:
            message["Requires-Dist"] = line
        return message

    found = dependency_graph(target_from_spec(TargetSpec("win_amd64", "3.10")), {
        "app": metadata("lib[fast]>=1", "posix-only; sys_platform != 'win32'", "not-in-bundle"),
        "lib": metadata("speedups; extra == 'fast'", "docs-tool; extra == 'docs'", "colorama; os_name == 'nt'"),
        "speedups": metadata(), "docs-tool": metadata(), "colorama": metadata(), "posix-only": metadata(),
    })
    assert found == {"app": {"lib"}, "lib": {"speedups", "colorama"}, "speedups": set(), "docs-tool": set(),
                     "colorama": set(), "posix-only": set()}


def test_a_file_from_pip_s_default_index_has_a_plain_purl_and_any_other_names_its_host() -> None:
    from procvision_build.index.pipconfig import default_index_url
    from procvision_build.index.repositories import default_index_hosts, repository_of

    default = urlsplit(default_index_url())
    assert default.hostname in default_index_hosts() and len(default_index_hosts()) == 2
    for host in default_index_hosts():
        assert repository_of(f"https://{host}/packages/ab/cd/numpy-2.2.6-cp310-cp310-win_amd64.whl") is None
    assert repository_of("https://user:secret@mirror.example.com:8443/files/numpy-2.2.6-py3-none-any.whl") == \
        "https://mirror.example.com:8443/"
