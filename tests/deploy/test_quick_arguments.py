"""The root tool parses ``activate`` and ``rollback`` without argparse: whatever that quick path accepts, argparse
parses to the same values, and whatever it declines goes to argparse (which also gives every usage error)."""

from __future__ import annotations

import argparse

import pytest

from procvision_build.deploy.arguments import build_parser, named_command
from procvision_build.deploy.cli import quick_arguments

ACCEPTED = [
    ["activate", "algo", "1.0.0", "--pid", "p001"],
    ["activate", "algo", "1.0.0", "--pid", "p001", "--pid", "p002", "--force"],
    ["activate", "--pid", "p001", "algo", "1.0.0", "-q"],
    ["--root", "/srv/root", "activate", "algo", "1.0.0", "--pid", "p001", "--json"],
    ["--root", "/a", "--wait", "2.5", "activate", "algo", "1.0.0", "--pid", "p", "--root", "/b"],
    ["-q", "-v", "rollback", "--pid", "p001"],
    ["rollback", "--pid", "p001", "--pid", "p002", "--quiet", "--verbose", "--wait", "0"],
    ["--json", "rollback", "--pid", "p001"],
]
DECLINED = [
    [],
    ["activate"],
    ["activate", "algo", "--pid", "p001"],  # a usage error: argparse's message
    ["activate", "algo", "1.0.0"],
    ["activate", "algo", "1.0.0", "extra", "--pid", "p001"],
    ["activate", "algo", "1.0.0", "--pid=p001"],
    ["activate", "algo", "1.0.0", "--pi", "p001"],  # an abbreviation argparse accepts
    ["activate", "algo", "1.0.0", "--pid", "-1"],
    ["activate", "algo", "1.0.0", "--pid"],
    ["activate", "algo", "1.0.0", "--pid", "p", "--keep", "1"],
    ["activate", "algo", "1.0.0", "--pid", "p", "--help"],
    ["activate", "algo", "1.0.0", "--pid", "p", "--", "x"],
    ["activate", "algo", "1.0.0", "--pid", "p", "-qv"],
    ["--pid", "p001", "activate", "algo", "1.0.0"],  # --pid belongs to the command
    ["--force", "activate", "algo", "1.0.0", "--pid", "p"],
    ["--wait", "soon", "rollback", "--pid", "p001"],
    ["rollback", "--pid", "p001", "--force"],
    ["rollback", "p001"],
    ["rollback"],
    ["list"],
    ["install", "--root", "r"],
    ["--version"],
    ["--root", "activate", "list"],
]


def _argparse(argv: list[str]) -> argparse.Namespace:
    return build_parser("tool", named_command(argv)).parse_args(argv)


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_what_the_quick_path_accepts_argparse_parses_the_same(argv: list[str]) -> None:
    quick = quick_arguments(argv)
    assert quick is not None
    assert vars(quick) == vars(_argparse(argv))


@pytest.mark.parametrize("argv", DECLINED, ids=lambda argv: " ".join(argv) or "nothing")
def test_anything_else_goes_to_argparse(argv: list[str]) -> None:
    assert quick_arguments(argv) is None
