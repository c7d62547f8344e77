"""pip's configuration read as pip reads it: environment above files, file order, isolation."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from procvision_build.config.model import IndexSpec, NamedIndex
from procvision_build.errors import IndexConfigError
from procvision_build.index.credentials import redact_url
from procvision_build.index.pipconfig import config_files, default_index_url, index_sources, venv_creators


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home directory of our own, so the machine's user configuration stays out."""
    path = tmp_path / "home"
    path.mkdir()
    return path


def _env(home: Path, **extra: str) -> dict[str, str]:
    return {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_CONFIG_DIRS": str(home / "none"),
            **extra}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_environment_variables_beat_the_config_file(home, tmp_path):
    conf = _write(tmp_path / "pip.conf", "[global]\nindex-url = http://file.example/simple\n"
                  "extra-index-url = http://extra-a.example/simple\n  http://extra-b.example/simple\n"
                  "find-links = /srv/wheels\ntimeout = 7\n")
    from_file = index_sources(env=_env(home, PIP_CONFIG_FILE=str(conf)))
    # in priority order: the extra indexes, then the main one (as uv reads pip's options)
    assert from_file.index_urls == ("http://extra-a.example/simple", "http://extra-b.example/simple",
                                    "http://file.example/simple")
    assert from_file.find_links == ("/srv/wheels",) and from_file.timeout == 7.0
    from_env = index_sources(env=_env(home, PIP_CONFIG_FILE=str(conf), PIP_INDEX_URL="http://env.example/simple",
                                      PIP_FIND_LINKS="/a /b", PIP_DEFAULT_TIMEOUT="2.5", PIP_RETRIES="0"))
    assert from_env.index_urls == ("http://extra-a.example/simple", "http://extra-b.example/simple",
                                   "http://env.example/simple")
    assert from_env.find_links == ("/a", "/b") and from_env.timeout == 2.5 and from_env.retries == 0


def test_command_sections_override_global_and_later_files_override_earlier(home, tmp_path):
    _write(home / ".pip" / "pip.conf", "[global]\nindex-url = http://legacy.example/simple\nfind-links = /legacy\n")
    _write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = http://xdg.example/simple\n"
           "[install]\nextra-index-url = http://install.example/simple\n")
    sources = index_sources(env=_env(home))
    assert sources.index_urls == ("http://install.example/simple", "http://xdg.example/simple")
    assert sources.find_links == ("/legacy",)
    # A PIP_CONFIG_FILE that exists replaces the user's files (pip does the same) and overrides the rest.
    named = _write(tmp_path / "named.conf", "[download]\nindex-url = http://named.example/simple\n")
    sources = index_sources(env=_env(home, PIP_CONFIG_FILE=str(named)))
    assert sources.index_urls == ("http://named.example/simple",) and sources.find_links == ()


def test_windows_reads_the_legacy_user_file_before_the_appdata_one(home, tmp_path, monkeypatch):
    import procvision_build.index.pipconfig as pipconfig

    class WindowsOs:  # only the file locations are asked of os.name; everything else stays real
        name = "nt"

        def __getattr__(self, attribute):
            return getattr(os, attribute)

    monkeypatch.setattr(pipconfig, "os", WindowsOs())
    legacy = _write(home / "pip" / "pip.ini", "[global]\nindex-url = http://legacy.example/simple\n")
    roaming = _write(tmp_path / "AppData" / "Roaming" / "pip" / "pip.ini",
                     "[global]\nindex-url = http://appdata.example/simple\n")
    env = {"USERPROFILE": str(home), "APPDATA": str(roaming.parent.parent), "ProgramData": str(tmp_path / "none")}
    assert config_files(env)[:2] == [legacy, roaming]
    assert index_sources(env=env).index_urls == ("http://appdata.example/simple",)
    roaming.unlink()
    assert index_sources(env=env).index_urls == ("http://legacy.example/simple",)


def test_devnull_config_file_disables_every_file(home):
    _write(home / ".config" / "pip" / "pip.conf", "[global]\nindex-url = http://user.example/simple\n")
    assert config_files(_env(home, PIP_CONFIG_FILE=os.devnull)) == []
    sources = index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull))
    assert sources.index_urls == (default_index_url(),)


def test_isolated_mode_ignores_environment_and_files(home, tmp_path):
    conf = _write(tmp_path / "pip.conf", "[global]\nindex-url = http://file.example/simple\nfind-links = /x\n")
    _write(home / ".config" / "pip" / "pip.conf", "[global]\nextra-index-url = http://user.example/simple\n")
    env = _env(home, PIP_CONFIG_FILE=str(conf), PIP_INDEX_URL="http://env.example/simple",
               PIP_EXTRA_INDEX_URL="http://extra.example/simple", PIP_FIND_LINKS="/y", PIP_NO_INDEX="1",
               PIP_DEFAULT_TIMEOUT="1")
    sources = index_sources(env=env, isolated=True)
    assert sources.index_urls == (default_index_url(),)
    assert sources.find_links == () and sources.timeout == 15.0 and sources.retries == 3


@pytest.mark.slow
def test_the_default_index_comes_from_pip_itself():
    url = default_index_url()
    told = subprocess.run([sys.executable, "-m", "pip", "download", "--help"], capture_output=True, text=True)
    assert url.startswith("https://") and url in told.stdout  # pip's help names its default index


_WITHOUT_PIP = """
import sys
sys.modules["pip"] = None  # this interpreter cannot import pip
sys.executable = sys._base_executable = sys.argv[1]
sys.prefix = sys.argv[2]  # no pyvenv.cfg there: no interpreter made this one
from procvision_build.errors import IndexConfigError
from procvision_build.index.pipconfig import default_index_url
try:
    print(default_index_url())
except IndexConfigError as error:
    print("error:", error)
"""


@pytest.mark.parametrize("other_python", [True, False], ids=["another-pip", "no-pip"])
@pytest.mark.slow
def test_the_default_index_from_another_interpreter_or_a_clear_error(tmp_path, other_python):
    env = {"PATH": str(tmp_path), "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    python = sys.executable if other_python else str(tmp_path / "missing-python")
    done = subprocess.run([sys.executable, "-c", _WITHOUT_PIP, python, tmp_path], capture_output=True, text=True,
                          env=env)
    assert done.returncode == 0, done.stderr
    if other_python:
        assert done.stdout.strip() == default_index_url()
    else:
        assert done.stdout.startswith("error: no package index is configured")
        assert "PIP_INDEX_URL" in done.stdout and "[tool.procvision.index]" in done.stdout


def test_no_index_keeps_find_links_and_refuses_nothing_at_all(home):
    sources = index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="yes", PIP_FIND_LINKS="/w"))
    assert sources.index_urls == () and sources.find_links == ("/w",)
    with pytest.raises(IndexConfigError, match="PIP_NO_INDEX"):
        index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1"))
    assert index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="0")).index_urls


def test_the_project_indexes_come_before_pip(home):
    env = _env(home, PIP_CONFIG_FILE=os.devnull, PIP_INDEX_URL="http://pip.example/simple",
               PIP_EXTRA_INDEX_URL="http://pip-extra.example/simple", PIP_FIND_LINKS="/pip")
    spec = IndexSpec((NamedIndex("main", "http://project.example/simple", default=True),
                      NamedIndex("more", "http://more.example/simple"), NamedIndex("folder", "/project", flat=True)))
    sources = index_sources(spec, env=env)
    # listed order is priority order, the default index last; pip's indexes and find-links do not apply
    assert [index.name for index in sources.indexes] == ["more", "folder", "main"]
    assert sources.index_urls == ("http://more.example/simple", "http://project.example/simple")
    assert sources.find_links == ("/project",) and sources.strategy == "first-index"
    # Without a default index, pip's main index is asked last; an empty spec means pip decides.
    only_extra = index_sources(IndexSpec((NamedIndex("more", "http://more.example/simple"),)), env=env)
    assert only_extra.index_urls == ("http://more.example/simple", "http://pip.example/simple")
    assert index_sources(IndexSpec(), env=env).find_links == ("/pip",)
    assert index_sources(IndexSpec(strategy="unsafe-best-match"), env=env).strategy == "unsafe-best-match"
    # pip's own options read as uv reads them: find-links, extra indexes, then the main index
    assert [i.url for i in index_sources(env=env).indexes] == ["/pip", "http://pip-extra.example/simple",
                                                              "http://pip.example/simple"]


def test_bad_values_are_reported_with_their_name(home, tmp_path):
    with pytest.raises(IndexConfigError, match="PIP_DEFAULT_TIMEOUT"):
        index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull, PIP_DEFAULT_TIMEOUT="soon"))
    with pytest.raises(IndexConfigError, match="no-index"):
        index_sources(env=_env(home, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="perhaps"))
    broken = _write(tmp_path / "broken.conf", "index-url = no section header\n")
    with pytest.raises(IndexConfigError, match="broken.conf"):
        index_sources(env=_env(home, PIP_CONFIG_FILE=str(broken)))


def test_redact_url_hides_passwords_and_tokens():
    assert redact_url("https://user:s3cret@host:8080/simple/") == "https://user:****@host:8080/simple/"
    assert redact_url("https://t0ken@host/simple/") == "https://****@host/simple/"
    assert redact_url("https://host/simple/") == "https://host/simple/"


@pytest.mark.parametrize("cfg, creator", [
    ("home = {bin}\ninclude-system-site-packages = false\nversion = 3.10.13\n", "home"),
    ("home = /base/bin\nversion = 3.12.1\nexecutable = /base/bin/python3.12\n"
     "command = {bin}/python -m venv /tmp/build-env-x\n", "command"),
    ("home = /nowhere\n", None),
], ids=["3.10-home", "3.11+-command", "no-creator"])
def test_the_interpreter_a_venv_was_made_from(tmp_path, cfg, creator):
    """pyvenv.cfg names the creator: ``command`` from 3.11 on, ``home`` (the creator's folder) before."""
    creator_bin = tmp_path / "frontend" / "bin"
    creator_bin.mkdir(parents=True)
    (creator_bin / "python3").write_text("")
    env_dir = tmp_path / "build-env"
    _write(env_dir / "pyvenv.cfg", cfg.format(bin=creator_bin))
    found = venv_creators(env_dir)
    if creator == "home":
        assert found == [str(creator_bin / "python3")]
    elif creator == "command":
        assert found[0] == f"{creator_bin}/python"
    else:
        assert found == []
    assert venv_creators(tmp_path / "not-a-venv") == []


_IN_AN_ENV_WITHOUT_PIP = """
import sys
from procvision_build.index.pipconfig import index_sources
print(index_sources().index_urls[0])
"""


@pytest.mark.parametrize("version", ["3.10", "3.12", "3.13"])
@pytest.mark.slow
def test_an_environment_without_pip_asks_the_pip_it_was_made_from(tmp_path, home, python_for, wheelhouse, version):
    """A build frontend's isolated environment has no pip: the index is the one the frontend's pip would use,
    by its own rules (here its venv's pip.conf), as ``python -m build`` makes such environments."""
    frontend = tmp_path / "frontend"
    subprocess.run([python_for(version), "-m", "venv", frontend], check=True)
    _write(frontend / "pip.conf", "[global]\nindex-url = http://127.0.0.1:9/frontend/simple\n")
    build_env = tmp_path / "build-env"
    subprocess.run([frontend / "bin" / "python", "-m", "venv", "--without-pip", build_env], check=True)
    empty = _write(tmp_path / "empty.conf", "")
    env = {**_env(home, PIP_CONFIG_FILE=str(empty)), "PATH": str(build_env / "bin"),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).resolve().parents[2]),  # packaging, tomli from wheels
                                          *(str(max(wheelhouse.glob(f"{name}-*.whl"))) for name in ("packaging", "tomli"))])}
    done = subprocess.run([build_env / "bin" / "python", "-c", _IN_AN_ENV_WITHOUT_PIP], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "http://127.0.0.1:9/frontend/simple"
