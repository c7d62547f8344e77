"""Invalid pyproject.toml files: each build fails with a message naming the key, and writes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

import procvision_build
from procvision_build.config.load import load_config
from procvision_build.config.settings import read_config_settings
from procvision_build.artifacts.archive import DEFAULT_EPOCH, source_date_epoch
from procvision_build.errors import BuildEnvironmentError, ConfigError, ConfigSettingsError
from tests.support.projects import write_project

BASE = """\
[build-system]
requires = ["procvision-build"]
build-backend = "procvision_build"

[project]
name = "algo-case"
version = "1.0.0"
license = "MIT"
dependencies = ["procvision-algorithm-sdk>=1.0", "numpy>=1.24"]

[tool.procvision]
entry-point = "algo_case.main:Algo"
supported-pids = ["p1", "p2"]

[tool.procvision.assets]
p1 = { config = "assets/p1.json" }
default = { model = "assets/model.json" }

[[tool.procvision.steps]]
index = 1
name = "Inspect"
params = [
  { key = "threshold", type = "int", default = 5, min = 0, max = 10 },
  { key = "mode", type = "enum", choices = ["a", "b"], default = "a" },
  { key = "tag", type = "string", default = "ok", pattern = "[a-z]+" },
]

[[tool.procvision.targets]]
platform = "win_amd64"
python = "3.10"
"""

PARAMS_END = '  { key = "tag", type = "string", default = "ok", pattern = "[a-z]+" },\n'
TARGET = 'platform = "win_amd64"\npython = "3.10"\n'


def replace(old: str, new: str):
    def edit(text: str) -> str:
        assert old in text, old
        return text.replace(old, new, 1)
    return edit


def append(extra: str):
    return lambda text: text + extra


def add_param(param: str):
    return replace(PARAMS_END, PARAMS_END + f"  {param},\n")


def set_target(body: str):
    return replace(TARGET, body)


# (id, edit of BASE, fragment the message must contain)
CASES = [
    ("missing-entry-point", replace('entry-point = "algo_case.main:Algo"\n', ""),
     "tool.procvision.entry-point: missing"),
    ("malformed-entry-point", replace("algo_case.main:Algo", "algo_case.main.Algo"),
     'tool.procvision.entry-point: expected "module.path:ClassName", found "algo_case.main.Algo"'),
    ("entry-point-module-missing", replace("algo_case.main:Algo", "algo_case.engine:Algo"),
     "tool.procvision.entry-point: expected a module that exists (algo_case/engine.py"),
    ("entry-point-package-missing", replace("algo_case.main:Algo", "other_pkg.main:Algo"),
     "tool.procvision.entry-point: no package 'other_pkg' found"),
    ("empty-pids", replace('supported-pids = ["p1", "p2"]', "supported-pids = []"),
     "tool.procvision.supported-pids: expected an array of 1 to 50 unique, non-empty product IDs, found []"),
    ("empty-pid", replace('supported-pids = ["p1", "p2"]', 'supported-pids = ["p1", ""]'),
     'tool.procvision.supported-pids[1]: expected a non-empty string, found ""'),
    ("duplicate-pid", replace('supported-pids = ["p1", "p2"]', 'supported-pids = ["p1", "p2", "p1"]'),
     'tool.procvision.supported-pids[2]: expected a PID not listed before, found "p1" (duplicate PID)'),
    ("too-many-pids", replace('supported-pids = ["p1", "p2"]',
                              "supported-pids = [" + ", ".join(f'"p{n}"' for n in range(1, 52)) + "]"),
     "tool.procvision.supported-pids: expected an array of 1 to 50"),
    ("pids-not-array", replace('supported-pids = ["p1", "p2"]', 'supported-pids = "p1"'),
     'tool.procvision.supported-pids: expected an array of 1 to 50 unique, non-empty product IDs, found "p1"'),
    ("step-index-zero", replace("index = 1\n", "index = 0\n"),
     "tool.procvision.steps[0].index: expected an integer >= 1 (steps are numbered from 1), found 0"),
    ("step-index-repeated", append('\n[[tool.procvision.steps]]\nindex = 1\nname = "Again"\n'),
     "tool.procvision.steps[1].index: expected a step index not used by another step, found 1 (duplicate index)"),
    ("step-name-wrong-type", replace('name = "Inspect"', "name = 3"),
     "tool.procvision.steps[0].name: expected a non-empty string, found 3"),
    ("step-unknown-key", replace('name = "Inspect"\n', 'name = "Inspect"\nparms = []\n'),
     "tool.procvision.steps[0].parms: unknown key; expected one of: index, name, description, params"),
    ("duplicate-param-key", add_param('{ key = "threshold", type = "float" }'),
     'tool.procvision.steps[0].params[3].key: expected a key not used by another param of this step, '
     'found "threshold" (duplicate param key)'),
    ("min-greater-than-max", replace("default = 5, min = 0, max = 10", "min = 11, max = 10"),
     "tool.procvision.steps[0].params[0].min: expected a value not greater than max (10), found 11"),
    ("default-above-max", replace("default = 5, min = 0", "default = 50, min = 0"),
     "tool.procvision.steps[0].params[0].default: expected a value <= max (10), found 50"),
    ("int-default-is-float", replace("default = 5, min = 0", "default = 5.5, min = 0"),
     "tool.procvision.steps[0].params[0].default: expected an integer, found 5.5"),
    ("enum-default-not-a-choice", replace('choices = ["a", "b"], default = "a"', 'choices = ["a", "b"], default = "c"'),
     'tool.procvision.steps[0].params[1].default: expected one of the choices ("a", "b"), found "c"'),
    ("enum-without-choices", replace('choices = ["a", "b"], default = "a"', 'default = "a"'),
     "tool.procvision.steps[0].params[1].choices: missing"),
    ("unknown-param-type", replace('type = "enum"', 'type = "color"'),
     'tool.procvision.steps[0].params[1].type: expected one of int, float, bool, string, enum, rect, found "color"'),
    ("field-of-another-type", replace("min = 0, max = 10 }", 'min = 0, max = 10, choices = ["x"] }'),
     "tool.procvision.steps[0].params[0].choices: does not apply to a param of type 'int' (it applies to enum)"),
    ("rect-default-incomplete", add_param('{ key = "roi", type = "rect", default = { x = 0, y = 0, width = 10 } }'),
     "tool.procvision.steps[0].params[3].default: expected a rect { x, y, width, height } of integers"),
    ("string-default-off-pattern", replace('default = "ok", pattern', 'default = "OK!", pattern'),
     "tool.procvision.steps[0].params[2].default: expected a string matching the pattern '[a-z]+'"),
    ("string-bad-regex", replace('pattern = "[a-z]+"', 'pattern = "[a-z"'),
     'tool.procvision.steps[0].params[2].pattern: expected a valid regular expression, found "[a-z"'),
    ("float-nan", add_param('{ key = "gain", type = "float", default = nan }'),
     "tool.procvision.steps[0].params[3].default: expected a finite number, found nan"),
    ("asset-outside-project", replace("assets/p1.json", "../outside.json"),
     'tool.procvision.assets.p1.config: expected a path inside the project directory, found "../outside.json"'),
    ("asset-absolute", replace("assets/p1.json", "/etc/hostname"),
     "tool.procvision.assets.p1.config: expected a relative path with '/' separators inside the project"),
    ("asset-missing", replace("assets/p1.json", "assets/p9.json"),
     'tool.procvision.assets.p1.config: expected an existing file or directory relative to'),
    ("asset-key-not-a-pid", replace('p1 = { config', 'p9 = { config'),
     'tool.procvision.assets.p9: expected a PID from supported-pids (p1, p2) or \'default\', found "p9"'),
    ("unknown-procvision-key", replace("[tool.procvision]\n", '[tool.procvision]\nentrypoint = "x:Y"\n'),
     "tool.procvision.entrypoint: unknown key; expected one of: entry-point, supported-pids"),
    ("target-unknown-platform", set_target('platform = "windows_x64"\npython = "3.10"\n'),
     'tool.procvision.targets[0].platform: expected a wheel platform tag'),
    ("target-python-2.7", set_target('platform = "win_amd64"\npython = "2.7"\n'),
     'tool.procvision.targets[0].python: expected a Python version "3.N" or "3.N.M" with N >= 8, found "2.7"'),
    ("target-python-major-only", set_target('platform = "win_amd64"\npython = "3"\n'),
     'tool.procvision.targets[0].python: expected a Python version'),
    ("target-python-4", set_target('platform = "win_amd64"\npython = "4.1"\n'),
     'found "4.1"'),
    ("target-python-3.x", set_target('platform = "win_amd64"\npython = "3.x"\n'),
     'found "3.x"'),
    ("target-python-number", set_target('platform = "win_amd64"\npython = 3.10\n'),
     "tool.procvision.targets[0].python: expected a string like \"3.10\", found 3.1 (quote the version"),
    ("target-python-excluded", lambda text: set_target('platform = "win_amd64"\npython = "3.9"\n')(
        text.replace('version = "1.0.0"\n', 'version = "1.0.0"\nrequires-python = ">=3.10"\n')),
     'tool.procvision.targets[0].python: expected a version that project.requires-python allows (>=3.10), '
     'found "3.9"'),
    ("target-bad-implementation", set_target(TARGET + 'implementation = "jy"\n'),
     'tool.procvision.targets[0].implementation: expected "cp" (CPython) or "pp" (PyPy), found "jy"'),
    ("target-unknown-marker", set_target(TARGET + 'markers = { os = "nt" }\n'),
     "tool.procvision.targets[0].markers.os: expected a PEP 508 marker name"),
    ("target-missing-python", set_target('platform = "win_amd64"\n'),
     "tool.procvision.targets[0].python: missing"),
    ("duplicate-target", append('\n[[tool.procvision.targets]]\nplatform = "win_amd64"\npython = "3.10"\n'),
     "tool.procvision.targets[1]: expected a target not declared before"),
    ("sdk-not-required", replace('"procvision-algorithm-sdk>=1.0", ', ""),
     'project.dependencies: expected a requirement on procvision-algorithm-sdk, found ["numpy>=1.24"]'),
    ("malformed-dependency", replace('"numpy>=1.24"', '"numpy>>1.24"'),
     'project.dependencies[1]: expected a PEP 508 requirement like "numpy>=1.24", found "numpy>>1.24"'),
    ("bad-version", replace('version = "1.0.0"', 'version = "one"'),
     'project.version: expected a PEP 440 version, e.g. "1.0.0", found "one"'),
    ("missing-name", replace('name = "algo-case"\n', ""), "project.name: missing"),
    ("dynamic-field", replace('version = "1.0.0"\n', 'dynamic = ["version"]\n'),
     'project.dynamic: expected no dynamic fields, found "version"'),
    ("unknown-project-key", replace('license = "MIT"\n', 'license = "MIT"\nhomepage = "x"\n'),
     "project.homepage: unknown key"),
    ("bad-license", replace('license = "MIT"', 'license = "Made-Up-License"'),
     'project.license: expected a valid SPDX license expression'),
    ("source-missing", append('\n[tool.procvision.sources]\nprocvision-algorithm-sdk = { path = "../nowhere" }\n'),
     'tool.procvision.sources.procvision-algorithm-sdk.path: expected a project directory with a pyproject.toml'),
    ("index-not-a-url", append('\n[tool.procvision.index]\nurl = "ftp://example.invalid/simple"\n'),
     'tool.procvision.index.url: expected an http://, https:// or file:// URL'),
    ("script-malformed", append('\n[project.scripts]\nalgo = "algo_case.main"\n'),
     'project.scripts.algo: expected an object reference "module.path:function", found "algo_case.main"'),
    ("invalid-toml", append("\n[tool.procvision\n"), "not valid TOML"),
    # values that become one METADATA header line may not break it (header injection)
    ("keyword-with-line-break", replace('license = "MIT"\n', 'license = "MIT"\nkeywords = ["a\\nClassifier: x"]\n'),
     'project.keywords[0]: expected a single line of text, found "a\\nClassifier: x" (line breaks would corrupt'),
    ("author-with-line-break", replace('license = "MIT"\n', 'license = "MIT"\nauthors = [{ name = "A\\r\\nB" }]\n'),
     "project.authors[0].name: expected a single line of text"),
    ("url-with-line-break", append('\n[project.urls]\nHome = "https://example.invalid/\\nx"\n'),
     "project.urls.Home: expected a single line of text"),
    ("entry-point-group-breaks-the-ini", append('\n[project.entry-points."my]\\n[console_scripts"]\nx = "algo_case.main"\n'),
     "project.entry-points: expected group names of letters, digits, '_', '.' and '-'"),
    ("url-label-with-comma", append('\n[project.urls]\n"Home, page" = "https://example.invalid/"\n'),
     "project.urls: expected labels without line breaks or ','"),
    ("constraint-not-pep508", replace("algo_case.main:Algo\"\n", "algo_case.main:Algo\"\nconstraint-dependencies = [\"numpy<<2\"]\n"),
     'tool.procvision.constraint-dependencies[0]: expected a PEP 508 requirement like "numpy<2"'),
    ("override-with-extras", replace("algo_case.main:Algo\"\n", "algo_case.main:Algo\"\noverride-dependencies = [\"a[x]>1\"]\n"),
     "tool.procvision.override-dependencies[0]: expected a name with a version range and markers, no extras or URL"),
    ("constraints-not-a-list", replace("algo_case.main:Algo\"\n", "algo_case.main:Algo\"\nconstraint-dependencies = \"numpy<2\"\n"),
     "tool.procvision.constraint-dependencies: expected an array of strings"),
]


def make_project(parent: Path, text: str) -> Path:
    (parent / "outside.json").write_text("{}\n")
    return write_project(parent / "project", text, package="algo_case",
                         files={"assets/p1.json": "{}\n", "assets/model.json": "{}\n"})


def test_cases_are_many_and_distinct() -> None:
    assert len(CASES) >= 25
    assert len({case[0] for case in CASES}) == len(CASES)


def test_base_project_builds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unedited project is valid, so each case below fails because of its one edit."""
    monkeypatch.chdir(make_project(tmp_path, BASE))
    out = tmp_path / "out"
    out.mkdir()
    assert procvision_build.build_wheel(str(out)) == "algo_case-1.0.0-py3-none-any.whl"


@pytest.mark.parametrize("edit, fragment", [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_invalid_project_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit, fragment: str) -> None:
    project = make_project(tmp_path, edit(BASE))
    monkeypatch.chdir(project)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigError) as caught:
        procvision_build.build_wheel(str(out))
    message = str(caught.value)
    assert str(project / "pyproject.toml") in message
    assert fragment in message, message
    assert list(out.iterdir()) == []
    with pytest.raises(ConfigError):
        procvision_build.build_sdist(str(out))
    assert list(out.iterdir()) == []


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = BASE
    for edit in (replace("index = 1\n", "index = 0\n"), replace('type = "enum"', 'type = "color"'),
                 set_target('platform = "windows_x64"\npython = "2.7"\n'), replace("assets/p1.json", "assets/p9.json")):
        text = edit(text)
    with pytest.raises(ConfigError) as caught:
        load_config(make_project(tmp_path, text))
    problems = caught.value.problems
    assert len(problems) == 5, problems
    for key in ("steps[0].index", "params[1].type", "targets[0].platform", "targets[0].python", "assets.p1.config"):
        assert sum(key in problem for problem in problems) == 1, (key, problems)
    assert str(caught.value).startswith(f"{tmp_path / 'project' / 'pyproject.toml'}: 5 problem(s)")


def test_two_targets_with_one_key_are_refused_with_the_other_problems(tmp_path: Path) -> None:
    """"3.10" and "3.10.12" on win_amd64 are one target for the lock (cp310-win_amd64): config says so,
    next to every other problem, instead of leaving it to `procvision lock`."""
    text = append('\n[[tool.procvision.targets]]\nplatform = "win_amd64"\npython = "3.10.12"\n')(BASE)
    text = replace("index = 1\n", "index = 0\n")(text)
    with pytest.raises(ConfigError) as caught:
        load_config(make_project(tmp_path, text))
    problems = caught.value.problems
    assert len(problems) == 2, problems
    assert any("steps[0].index" in problem for problem in problems)
    duplicate = next(problem for problem in problems if "targets[1]" in problem)
    assert "expected a target not declared before" in duplicate
    assert "tool.procvision.targets[0] already declares cp310-win_amd64" in duplicate


def test_unknown_config_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(make_project(tmp_path, BASE))
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ConfigSettingsError) as caught:
        procvision_build.build_wheel(str(out), {"bundle-dir": "x"})
    assert "unknown config setting 'bundle-dir'" in str(caught.value)
    assert "accepts: locked (" in str(caught.value)
    with pytest.raises(ConfigSettingsError, match="locked='maybe': expected true or false"):
        procvision_build.build_wheel(str(out), {"locked": "maybe"})
    with pytest.raises(ConfigSettingsError, match="unknown config setting"):
        procvision_build.get_requires_for_build_wheel({"--build-option": ["--universal"]})
    assert list(out.iterdir()) == []
    with pytest.raises(ConfigSettingsError, match="import-check='later': expected true or false"):
        procvision_build.build_wheel(str(out), {"import-check": "later"})
    assert read_config_settings({"import-check": "false"}).import_check is False
    assert read_config_settings({}).import_check is True
    assert procvision_build.build_wheel(str(out), {"locked": "false"}).endswith(".whl")
    assert procvision_build.build_editable(str(tmp_path / "ed"), {"locked": "true"}).endswith(".whl")


@pytest.mark.parametrize("platform", [
    "win32", "win_amd64", "win_arm64", "manylinux_2_17_x86_64", "manylinux_2_28_aarch64", "manylinux2014_x86_64",
    "manylinux1_i686", "musllinux_1_2_x86_64", "macosx_10_9_x86_64", "macosx_11_0_arm64", "macosx_14_0_universal2",
    "linux_armv7l",
])
def test_known_platform_tags_are_accepted(tmp_path: Path, platform: str) -> None:
    config = load_config(make_project(tmp_path, set_target(f'platform = "{platform}"\npython = "3.12.3"\n')(BASE)))
    target = config.targets[0]
    assert (target.platform, target.python, target.implementation, target.abi) == (platform, "3.12.3", "cp", "cp312")
    assert target.python_tag == "cp312"


@pytest.mark.parametrize("platform", ["manylinux_3_17_x86_64", "macosx_9_0_x86_64", "win_amd32", "linux_sparc",
                                      "any", "manylinux_2_17"])
def test_impossible_platform_tags_are_refused(tmp_path: Path, platform: str) -> None:
    with pytest.raises(ConfigError, match=r"targets\[0\]\.platform: expected a wheel platform tag"):
        load_config(make_project(tmp_path, set_target(f'platform = "{platform}"\npython = "3.10"\n')(BASE)))


@pytest.mark.parametrize("value", ["abc", "-1", "1.7e9", "1700000000.5", "１７００", "99999999999"])
def test_a_malformed_source_date_epoch_fails_every_hook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        value: str) -> None:
    """reproducible-builds.org: a build fails on a malformed SOURCE_DATE_EPOCH rather than ignore it."""
    monkeypatch.chdir(make_project(tmp_path, BASE))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    out = tmp_path / "out"
    out.mkdir()
    for hook in (procvision_build.build_wheel, procvision_build.build_sdist, procvision_build.build_editable,
                 procvision_build.prepare_metadata_for_build_wheel):
        with pytest.raises(BuildEnvironmentError) as caught:
            hook(str(out))
        message = str(caught.value)
        assert message.startswith(f"SOURCE_DATE_EPOCH={value!r} is not a build timestamp"), message
        assert "\n" not in message
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("value, epoch", [("", DEFAULT_EPOCH), (" 1700000000 ", 1700000000), ("0", 0),
                                          ("315532800", 315532800)])
def test_a_well_formed_source_date_epoch_is_used(value: str, epoch: int) -> None:
    """Empty is unset; before 1980 is valid (the spec says so) and zip entries are written at 1980-01-01."""
    assert source_date_epoch({"SOURCE_DATE_EPOCH": value}) == epoch
