"""Several indexes: first-index, pins (with markers per target), credentials per index, the lock's record of them.

Four local indexes, as PEERS.md measured pip and uv with: "public" (pip's index here) holds acme-inspect-utils
99.0.0, dupe-pkg 99.0.0 and torch 2.5.1 CPU wheels; "acme" (HTTP, credentials required) holds acme-inspect-utils
1.0.0; "first" (file://) holds dupe-pkg 1.0.0; "cuda" (file://) holds torch 2.5.1+cu121 for win_amd64.
The pyproject snippets of docs/indexes.md are locked and built as they are written, URLs aside.
"""

from __future__ import annotations

import json
import re
import sys
import textwrap
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from packaging.pylock import Pylock

from procvision_build.config.load import load_config
from procvision_build.errors import ConfigError, LockError
from procvision_build.lock.plan import check_lock_for_build, lock_project
from procvision_build.store.cache import Cache
from procvision_build.ui import UI
from tests.support import projects
from tests.support.commands import procvision
from tests.support.index_server import IndexOptions, IndexServer, write_file_index
from tests.support.wheels import WheelSpec, build_wheel

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "indexes.md"
ACME = ("acme-builder", "s3cret-token")
WIN, LINUX = ("win_amd64", "3.10"), ("manylinux_2_17_x86_64", "3.10")
DOC_URLS = {"cuda": "https://torch-wheels.example.com/whl/cu121/", "acme": "https://packages.acme.example/simple/"}


@dataclass(frozen=True)
class Indexes:
    public: IndexServer
    acme: IndexServer
    first: str  # file:// URL
    cuda: str  # file:// URL
    cuda_http: IndexServer
    flat: Path  # the folder behind "first", as a find-links folder


@pytest.fixture(scope="module")
def indexes(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("indexes")
    public, acme, first, cuda = (root / name for name in ("public", "acme", "first", "cuda"))
    for spec in (WheelSpec("acme-inspect-utils", "99.0.0"), WheelSpec("dupe-pkg", "99.0.0"),
                 WheelSpec("torch", "2.5.1", "cp310-cp310-win_amd64", requires=("typing-extensions",)),
                 WheelSpec("torch", "2.5.1", "cp310-cp310-manylinux_2_17_x86_64", requires=("typing-extensions",)),
                 WheelSpec("typing-extensions", "4.12.2")):
        build_wheel(spec, public)
    build_wheel(WheelSpec("acme-inspect-utils", "1.0.0"), acme)
    build_wheel(WheelSpec("dupe-pkg", "1.0.0"), first)
    build_wheel(WheelSpec("torch", "2.5.1+cu121", "cp310-cp310-win_amd64", requires=("typing-extensions",)), cuda)
    servers = [IndexServer(public).start(), IndexServer(acme, IndexOptions(credentials=ACME)).start(),
               IndexServer(cuda).start()]
    yield Indexes(servers[0], servers[1], write_file_index(first, root / "first-simple").as_uri(),
                  write_file_index(cuda, root / "cuda-simple").as_uri(), servers[2], first)
    for server in servers:
        server.stop()


@pytest.fixture
def pip_env(indexes: Indexes, monkeypatch: pytest.MonkeyPatch) -> None:
    """The public index as pip's configured one (the project's indexes come before it), nothing else of pip's."""
    monkeypatch.setenv("PIP_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("PIP_INDEX_URL", indexes.public.url)
    for variable in ("PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "PIP_NO_INDEX"):
        monkeypatch.delenv(variable, raising=False)


def write_project(root: Path, index_text: str, dependencies: list[str], targets=(WIN, LINUX)) -> Path:
    """An algorithm project whose [tool.procvision] ends with ``index_text`` (which may open
    [tool.procvision.sources]: the SDK's local source is added to that table)."""
    if not (root / "dist").is_dir():
        build_wheel(WheelSpec("procvision-algorithm-sdk", "1.0.0"), root / "dist")
    deps = ", ".join(json.dumps(d) for d in ["procvision-algorithm-sdk>=1.0", *dependencies])
    strategy = "".join(re.findall(r"^index-strategy = .*\n", index_text, re.M))  # a key of [tool.procvision]
    index_text = index_text.replace(strategy, "")
    if "[tool.procvision.sources]" not in index_text:
        index_text += "\n[tool.procvision.sources]\n"
    target_tables = "" if "[[tool.procvision.targets]]" in index_text else "".join(
        f'\n[[tool.procvision.targets]]\nplatform = "{p}"\npython = "{v}"\n' for p, v in targets)
    text = textwrap.dedent(f"""\
        [build-system]
        requires = ["procvision-build"]
        build-backend = "procvision_build"

        [project]
        name = "ix-pkg"
        version = "1.0"
        requires-python = ">=3.10"
        dependencies = [{deps}]

        [tool.procvision]
        entry-point = "ix_pkg.main:Algo"
        supported-pids = ["p1"]
        {strategy}
        [[tool.procvision.steps]]
        index = 1
        name = "only step"

        """) + index_text.strip() + '\nprocvision-algorithm-sdk = { path = "dist/procvision_algorithm_sdk-1.0.0-py3-none-any.whl" }\n' \
        + target_tables
    return projects.write_project(root, text, package="ix_pkg")


def lock(project: Path, cache: Path) -> dict:
    path, _ = lock_project(load_config(project), ui=UI(quiet=True), cache=Cache(cache))
    data = tomllib.loads(path.read_text())
    Pylock.from_dict(data).validate()  # the standard's own reader accepts it
    return data


def chosen(data: dict) -> dict[str, dict[str, str]]:
    """target key -> name -> wheel file."""
    return {key: {w["name"]: w["file"] for w in value["wheels"]}
            for key, value in data["tool"]["procvision"]["selected"].items()}


def docs_snippet(heading: str) -> str:
    """The first ```toml block under ``## heading`` in docs/indexes.md."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index(f"## {heading}\n"):]
    return re.search(r"```toml\n(.*?)```", section, re.S).group(1)


def index_entry(name: str, url: str, *flags: str) -> str:
    return f'[[tool.procvision.index]]\nname = "{name}"\nurl = "{url}"\n' + "".join(f"{f} = true\n" for f in flags)


def test_a_pinned_private_package_never_comes_from_another_index(indexes, pip_env, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PROCVISION_INDEX_ACME_USERNAME", ACME[0])
    monkeypatch.setenv("PROCVISION_INDEX_ACME_PASSWORD", ACME[1])
    snippet = docs_snippet("A private index, safely").replace(DOC_URLS["acme"], indexes.acme.url)
    for strategy in ("", 'index-strategy = "unsafe-best-match"\n'):  # pinned beats even pip's rule
        project = write_project(tmp_path / f"pj{len(strategy)}", strategy + snippet, ["acme-inspect-utils"])
        indexes.public.clear_log()
        indexes.acme.clear_log()
        data = lock(project, tmp_path / "cache")
        for files in chosen(data).values():
            assert files["acme-inspect-utils"] == "acme_inspect_utils-1.0.0-py3-none-any.whl"
        [package] = [p for p in data["packages"] if p["name"] == "acme-inspect-utils"]
        assert package["version"] == "1.0.0" and package["index"] == indexes.acme.url  # PEP 751 packages.index
        # the public index was never asked for it; the private one only for it, with its credentials
        assert not [r for r in indexes.public.requests if "acme" in r.path]
        assert indexes.acme.requests and all(r.authorization for r in indexes.acme.requests)
        assert not [r for r in indexes.public.requests if r.authorization]  # credentials reach their index only
        text = (project / "pylock.toml").read_text()
        assert ACME[1] not in text and ACME[0] not in text


def test_first_index_holds_across_two_unpinned_indexes_and_unsafe_best_match_takes_the_highest(
        indexes, pip_env, tmp_path) -> None:
    first = index_entry("first", indexes.first)
    project = write_project(tmp_path / "pj", first, ["dupe-pkg"], targets=(LINUX,))
    data = lock(project, tmp_path / "cache")
    assert chosen(data)["cp310-manylinux_2_17_x86_64"]["dupe-pkg"] == "dupe_pkg-1.0.0-py3-none-any.whl"
    assert not [r for r in indexes.public.requests if "dupe" in r.path]  # a later index is not asked
    # the lock records the file:// index, and the index set
    [package] = [p for p in data["packages"] if p["name"] == "dupe-pkg"]
    assert package["index"] == indexes.first
    assert data["tool"]["procvision"]["indexes"] == [f"first = {indexes.first} (priority 1)"]

    project = write_project(tmp_path / "pj2", 'index-strategy = "unsafe-best-match"\n' + first, ["dupe-pkg"],
                            targets=(LINUX,))  # a new project: an existing lock's versions would be kept
    data = lock(project, tmp_path / "cache")
    assert chosen(data)["cp310-manylinux_2_17_x86_64"]["dupe-pkg"] == "dupe_pkg-99.0.0-py3-none-any.whl"
    [package] = [p for p in data["packages"] if p["name"] == "dupe-pkg"]
    assert package["index"] == indexes.public.url


@pytest.mark.parametrize("transport", ["file", "http"])
def test_a_marker_routed_cuda_index_serves_windows_only(indexes, pip_env, tmp_path, transport) -> None:
    cuda = indexes.cuda if transport == "file" else indexes.cuda_http.url
    snippet = docs_snippet("PyTorch with CUDA on Windows, CPU on Linux").replace(DOC_URLS["cuda"], cuda)
    project = write_project(tmp_path / "pj", snippet, ["torch==2.5.1"])
    data = lock(project, tmp_path / "cache")
    files = chosen(data)
    assert files["cp310-win_amd64"]["torch"] == "torch-2.5.1+cu121-cp310-cp310-win_amd64.whl"
    assert files["cp310-manylinux_2_17_x86_64"]["torch"] == "torch-2.5.1-cp310-cp310-manylinux_2_17_x86_64.whl"
    # torch's own dependency is not pinned: the main index serves it on both targets
    assert {f["typing-extensions"] for f in files.values()} == {"typing_extensions-4.12.2-py3-none-any.whl"}
    versions = {(p["name"], p["version"], p.get("index")) for p in data["packages"]}
    assert ("torch", "2.5.1+cu121", cuda) in versions and ("torch", "2.5.1", indexes.public.url) in versions


def test_a_flat_index_adds_its_files_and_serves_alone_what_is_pinned_to_it(indexes, pip_env, tmp_path) -> None:
    flat = f'[[tool.procvision.index]]\nname = "folder"\nurl = "{indexes.flat}"\nformat = "flat"\n'
    project = write_project(tmp_path / "pj", flat, ["dupe-pkg"], targets=(LINUX,))
    data = lock(project, tmp_path / "cache")  # find-links are added to the index that serves it: the highest wins
    assert chosen(data)["cp310-manylinux_2_17_x86_64"]["dupe-pkg"] == "dupe_pkg-99.0.0-py3-none-any.whl"
    project = write_project(tmp_path / "pj2", flat + '\n[tool.procvision.sources]\ndupe-pkg = { index = "folder" }\n',
                            ["dupe-pkg"], targets=(LINUX,))
    data = lock(project, tmp_path / "cache")
    assert chosen(data)["cp310-manylinux_2_17_x86_64"]["dupe-pkg"] == "dupe_pkg-1.0.0-py3-none-any.whl"
    [package] = [p for p in data["packages"] if p["name"] == "dupe-pkg"]
    assert "index" not in package and package["wheels"][0]["url"].startswith("file://")  # not a simple index
    # a folder relative to the project is recorded as written: the lock does not depend on where the tree is
    write_project(project, flat.replace(str(indexes.flat), "wheels"), [], targets=(LINUX,))
    config = load_config(project)
    assert config.index.indexes[0].url == str(project / "wheels")
    assert config.index.lock_entries() == ("folder = wheels flat (priority 1)",)


def test_a_changed_index_or_pin_makes_the_lock_stale_naming_the_change(indexes, pip_env, tmp_path) -> None:
    entry = index_entry("first", indexes.first)
    project = write_project(tmp_path / "pj", entry, ["dupe-pkg"], targets=(LINUX,))
    cache = tmp_path / "cache"
    lock(project, cache)
    lock_project(load_config(project), ui=UI(quiet=True), cache=Cache(cache), check=True)  # fresh
    check_lock_for_build(load_config(project))

    write_project(project, index_entry("first", indexes.cuda), ["dupe-pkg"], targets=(LINUX,))
    for check in (lambda: lock_project(load_config(project), ui=UI(quiet=True), cache=Cache(cache), check=True),
                  lambda: check_lock_for_build(load_config(project))):
        with pytest.raises(LockError, match=re.escape(f"index changed: first = {indexes.first} (priority 1) -> "
                                                      f"first = {indexes.cuda} (priority 1)")):
            check()
    write_project(project, entry + '\n[tool.procvision.sources]\ndupe-pkg = { index = "first" }\n', ["dupe-pkg"],
                  targets=(LINUX,))
    with pytest.raises(LockError, match="source added: dupe-pkg = index first"):
        check_lock_for_build(load_config(project))
    write_project(project, 'index-strategy = "unsafe-best-match"\n' + entry, ["dupe-pkg"], targets=(LINUX,))
    with pytest.raises(LockError, match="index added: index-strategy = unsafe-best-match"):
        check_lock_for_build(load_config(project))


@pytest.mark.parametrize("index_text, expected", [
    ('[[tool.procvision.index]]\nurl = "http://x.example/simple/"\n',
     "tool.procvision.index[0].name: missing; expected a name like \"pytorch\""),
    ('[[tool.procvision.index]]\nname = "a"\nurl = "ftp://x.example/"\n',
     "tool.procvision.index[0].url: expected an http://, https:// or file:// URL, found \"ftp://x.example/\""),
    ('[[tool.procvision.index]]\nname = "a"\nurl = "http://x.example/"\nformat = "wheels"\n',
     "tool.procvision.index[0].format: expected \"simple\""),
    ('[[tool.procvision.index]]\nname = "a"\nurl = "http://x.example/"\n\n[tool.procvision.sources]\n'
     'torch = { index = "cuda" }\n',
     "tool.procvision.sources.torch.index: expected the name of a [[tool.procvision.index]] entry (a), found \"cuda\""),
    ('[tool.procvision.sources]\ntorch = [{ index = "a", marker = "sys_platform =! \'win32\'" }]\n',
     "tool.procvision.sources.torch[0].marker: expected a PEP 508 marker"),
    ('index-strategy = "best"\n', "tool.procvision.index-strategy: expected \"first-index\""),
    ('[[tool.procvision.index]]\nname = "my-index"\nurl = "http://x.example/"\n'
     '[[tool.procvision.index]]\nname = "my_index"\nurl = "http://y.example/"\n',
     "PROCVISION_INDEX_MY_INDEX_USERNAME"),
])
def test_index_configuration_errors_name_the_key_and_the_fix(tmp_path, index_text, expected) -> None:
    project = write_project(tmp_path / "pj", index_text, [])
    with pytest.raises(ConfigError) as caught:
        load_config(project)
    assert expected in str(caught.value)


def test_the_shorthand_table_reads_as_uv_reads_pips_options(indexes, pip_env, tmp_path) -> None:
    text = f'[tool.procvision.index]\nurl = "{indexes.public.url}"\nextra-urls = ["{indexes.first}"]\n'
    project = write_project(tmp_path / "pj", text, ["dupe-pkg"], targets=(LINUX,))
    config = load_config(project)
    assert [(i.name, i.default) for i in config.index.ordered()] == [("extra-1", False), ("main", True)]
    data = lock(project, tmp_path / "cache")
    assert chosen(data)["cp310-manylinux_2_17_x86_64"]["dupe-pkg"] == "dupe_pkg-1.0.0-py3-none-any.whl"


@pytest.mark.slow
def test_the_cuda_build_reaches_the_windows_bundle_only_with_its_label_everywhere(indexes, tmp_path) -> None:
    snippet = docs_snippet("PyTorch with CUDA on Windows, CPU on Linux").replace(DOC_URLS["cuda"], indexes.cuda)
    project = write_project(tmp_path / "pj", snippet, ["torch==2.5.1"])
    cache, env = tmp_path / "cache", {"PIP_INDEX_URL": indexes.public.url, "SOURCE_DATE_EPOCH": "1700000000"}
    assert procvision("lock", project, cache=cache, env=env).returncode == 0
    assert procvision("lock", project, "--locked", cache=cache, env=env).returncode == 0
    done = procvision("--json", "build", project, "-o", tmp_path / "out", "--locked", cache=cache, env=env)
    assert done.returncode == 0, done.stderr
    bundles = {b["target"]: Path(b["path"]) for b in json.loads(done.stdout)["bundles"]}
    win, linux = bundles["cp310-win_amd64"], bundles["cp310-manylinux_2_17_x86_64"]
    for bundle, torch in ((win, "2.5.1+cu121"), (linux, "2.5.1")):
        with zipfile.ZipFile(bundle) as archive:
            names = archive.namelist()
            sbom = json.loads(archive.read(next(n for n in names if n.endswith("sbom.cdx.json"))))
            bundle_lock = tomllib.loads(archive.read(next(n for n in names if n.endswith("/pylock.toml"))).decode())
        Pylock.from_dict(bundle_lock).validate()
        packages = {p["name"]: p for p in bundle_lock["packages"]}
        assert packages["torch"]["version"] == torch
        assert packages["torch"]["index"] == (indexes.cuda if bundle == win else indexes.public.url)
        assert "index" not in packages["procvision-algorithm-sdk"]  # a local source: no index
        assert any(n.endswith(f"torch-{torch}-cp310-cp310-{'win_amd64' if bundle == win else 'manylinux_2_17_x86_64'}.whl")
                   for n in names)
        [component] = [c for c in sbom["components"] if c["name"] == "torch"]
        assert component["version"] == torch and f"@{torch.replace('+', '%2B')}" in component["purl"]
        shown = procvision("--json", "inspect", bundle, cache=cache)
        assert shown.returncode == 0, shown.stderr
        assert {p["name"]: p["version"] for p in json.loads(shown.stdout)["packages"]}["torch"] == torch
    compared = procvision("--json", "diff", linux, win, cache=cache)
    assert compared.returncode == 1, compared.stderr  # 1: the bundles differ, as diff(1)
    changed = json.loads(compared.stdout)["packages"]
    assert {"name": "torch", "from": "2.5.1", "to": "2.5.1+cu121"} in changed["upgraded"]
    # the index moved: --locked refuses, naming the change
    write_project(project, snippet.replace(indexes.cuda, indexes.cuda_http.url), ["torch==2.5.1"])
    stale = procvision("lock", project, "--locked", cache=cache, env=env)
    assert stale.returncode != 0 and "index changed: pytorch-cu121 = " in stale.stderr
    assert "Traceback" not in stale.stderr


@pytest.mark.slow
def test_credentials_from_the_environment_reach_their_own_index_only(indexes, tmp_path) -> None:
    snippet = docs_snippet("A private index, safely").replace(DOC_URLS["acme"], indexes.acme.url)
    project = write_project(tmp_path / "pj", snippet, ["acme-inspect-utils", "dupe-pkg"])
    cache = tmp_path / "cache"
    env = {"PIP_INDEX_URL": indexes.public.url}
    refused = procvision("lock", project, cache=cache, env=env)
    assert refused.returncode != 0 and "PROCVISION_INDEX_<NAME>_USERNAME" in refused.stderr
    assert "Traceback" not in refused.stderr
    indexes.public.clear_log()
    indexes.acme.clear_log()
    env.update(PROCVISION_INDEX_ACME_USERNAME=ACME[0], PROCVISION_INDEX_ACME_PASSWORD=ACME[1])
    done = procvision("-v", "lock", project, cache=cache, env=env)
    assert done.returncode == 0, done.stderr
    assert ACME[1] not in done.stderr and ACME[1] not in (project / "pylock.toml").read_text()
    assert indexes.acme.requests and all(r.authorization for r in indexes.acme.requests)
    assert indexes.public.requests and not any(r.authorization for r in indexes.public.requests)
    done = procvision("--json", "build", project, "-o", tmp_path / "out", "--locked", cache=tmp_path / "cold",
                      env=env)  # a cold cache: the locked wheel is downloaded from the private index, with its credentials
    assert done.returncode == 0, done.stderr
    for bundle in json.loads(done.stdout)["bundles"]:
        with zipfile.ZipFile(bundle["path"]) as archive:
            assert not any(ACME[1].encode() in archive.read(name) for name in archive.namelist()
                           if not name.endswith(".whl"))
