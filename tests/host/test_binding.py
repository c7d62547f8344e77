"""read_binding: a PID's binding is found by its ``pid`` field, and every problem names the file at fault."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from procvision_algorithm_sdk.binding import Binding, BindingError, read_binding
from procvision_algorithm_sdk.errors import ErrorCode


def test_the_binding_is_found_by_its_pid_field_not_by_its_file_name(install_root) -> None:
    install_root.install("1.0.0")
    install_root.install("2.0.0")
    path = install_root.write("line/1 a", install_root.binding(
        "line/1 a", "2.0.0", previous={**install_root.binding("line/1 a", "1.0.0"), "binding_version": None}),
        file_name="whatever.json")
    install_root.activate("p001", "1.0.0")
    binding = read_binding(install_root.path, "line/1 a")
    assert binding == Binding("line/1 a", "algorithm-example", "2.0.0", install_root.directory("2.0.0"),
                              Path(sys.executable), (sys.executable, "-m", "procvision_algorithm_sdk.adapter"))
    assert binding.path == path and binding.entry is None
    assert binding.previous is not None and binding.previous.version == "1.0.0" and binding.previous.previous is None
    assert read_binding(install_root.path, "p001").version == "1.0.0"


def test_an_entry_in_the_command_is_passed_on(install_root) -> None:
    install_root.install("1.0.0")
    python = sys.executable
    install_root.activate("p001", "1.0.0", command=[python, "-m", "procvision_algorithm_sdk.adapter",
                                                    "--entry", "versioned_algorithm:Versioned"])
    assert read_binding(install_root.path, "p001").entry == "versioned_algorithm:Versioned"


def test_a_missing_root_is_named(tmp_path) -> None:
    with pytest.raises(BindingError) as caught:
        read_binding(tmp_path / "nowhere", "p001")
    assert caught.value.problem == "unbound" and caught.value.path == tmp_path / "nowhere"
    assert str(tmp_path / "nowhere") in str(caught.value) and "'p001'" in str(caught.value)


def test_no_binding_lists_the_pids_that_have_one(install_root) -> None:
    install_root.install("1.0.0")
    install_root.activate("p002", "1.0.0")
    install_root.activate("p001", "1.0.0")
    install_root.write("p9", "{broken", file_name="p9.json")
    with pytest.raises(BindingError) as caught:
        read_binding(install_root.path, "p003")
    error = caught.value
    assert error.problem == "unbound" and error.error_code is ErrorCode.INVALID_PID
    assert error.path == install_root.path / "active"
    assert "no binding for PID 'p003'; PIDs with one: p001, p002; unreadable: p9.json" in str(error)


def test_an_empty_root_has_no_pid_bound(tmp_path) -> None:
    with pytest.raises(BindingError, match="PIDs with one: none"):
        read_binding(tmp_path, "p001")


@pytest.mark.parametrize("content, problem, words", [
    ("{not json", "malformed", "not a readable JSON file"),
    ("[1, 2]", "malformed", "expected a JSON object with a string 'pid'"),
    ({"binding_version": 2}, "unsupported_version", "binding_version 2; this SDK reads 1"),
    ({"name": ""}, "malformed", "name must be a non-empty string, not ''"),
    ({"directory": "relative/dir"}, "malformed", "directory must be an absolute path, not 'relative/dir'"),
    ({"command": ["python", "-m", "procvision_algorithm_sdk.adapter"]}, "malformed", "command must be ["),
    ({"previous": {"pid": "p001"}}, "malformed", "previous.name must be a non-empty string"),
    ({"previous": "1.0.0"}, "malformed", "previous must be null or an object"),
    ({"python": "/nowhere/bin/python"}, "missing_path", "python '/nowhere/bin/python' does not exist"),
    ({"directory": "/nowhere/algorithm-example-1.0.0"}, "missing_path",
     "directory '/nowhere/algorithm-example-1.0.0' does not exist"),
], ids=["json", "not-an-object", "version", "name", "relative", "command", "previous", "previous-type",
        "python", "directory"])
def test_a_broken_binding_names_its_file_and_what_is_wrong(install_root, content, problem, words) -> None:
    install_root.install("1.0.0")
    if isinstance(content, dict):
        content = install_root.binding("p001", "1.0.0", **content)
        if content["python"] != sys.executable:
            content["command"][0] = content["python"]
    path = install_root.write("p001", content)
    with pytest.raises(BindingError) as caught:
        read_binding(install_root.path, "p001")
    error = caught.value
    assert error.problem == problem and error.path == path and error.error_code is ErrorCode.INVALID_BUNDLE
    assert str(error).startswith(f"{path}: ") and words in str(error)


def test_two_files_for_one_pid_are_refused(install_root) -> None:
    install_root.install("1.0.0")
    first = install_root.activate("p001", "1.0.0")
    second = install_root.write("p001", install_root.binding("p001", "1.0.0"), file_name="copy.json")
    with pytest.raises(BindingError) as caught:
        read_binding(install_root.path, "p001")
    assert caught.value.problem == "malformed" and caught.value.path in (first, second)
    assert str(first) in str(caught.value) and str(second) in str(caught.value)


def test_another_pids_broken_file_does_not_matter(install_root) -> None:
    install_root.install("1.0.0")
    install_root.write("p002", "{broken")
    install_root.write("p003", install_root.binding("p003", "1.0.0", binding_version=7))
    install_root.activate("p001", "1.0.0")
    assert read_binding(install_root.path, "p001").pid == "p001"
