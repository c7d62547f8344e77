"""The output flags (-q, --json, -v) also after a subcommand: ``procvision validate --json DIR``."""

from __future__ import annotations

import argparse


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """SUPPRESS keeps a flag given before the subcommand: the subparser sets nothing unless it is given."""
    parser.add_argument("-q", "--quiet", action="store_true", default=argparse.SUPPRESS,
                        help="print nothing but errors")
    parser.add_argument("--json", action="store_true", default=argparse.SUPPRESS,
                        help="machine-readable output (JSON on stdout)")
    parser.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more detail: the algorithm's log lines, tracebacks")
