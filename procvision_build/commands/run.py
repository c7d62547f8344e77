"""``procvision run``: one call of a project's algorithm on an image file, the result frame as JSON on stdout."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from procvision_build.errors import UsageError
from procvision_build.ui import UI


def register(subparsers: "argparse._SubParsersAction") -> None:
    parser = subparsers.add_parser(
        "run", help="run one call of the algorithm on an image file and print the result as JSON",
        description="Start the project's algorithm from its source tree through the reference runner and the "
                    "adapter (exactly as the inspection platform does), send the image through shared memory, "
                    "and print the result frame as JSON on stdout. Exit status 0 for OK, 1 for ERROR.")
    parser.add_argument("project", nargs="?", default=".", help="the project directory (default: .)")
    parser.add_argument("--image", required=True, type=Path, metavar="FILE", help="a JPEG or PNG file")
    parser.add_argument("--pid", required=True, help="the product ID (one of tool.procvision.supported-pids)")
    parser.add_argument("--step", type=int, default=1, metavar="N", help="step_index (default: 1)")
    parser.add_argument("--params", default="{}", metavar="JSON",
                        help="user_params as a JSON object; declared defaults fill the rest")
    parser.add_argument("--method", choices=("execute", "pre_execute"), default="execute",
                        help="the call to make (default: execute)")
    parser.add_argument("--session", default="cli", metavar="ID", help="the session id (default: cli)")
    parser.add_argument("--save-overlay", type=Path, metavar="OUT.png",
                        help="also write the image with the result's defect and position rects drawn and labelled")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, ui: UI) -> int:
    from procvision_build.config.load import load_config
    from procvision_build.develop.images import read_image, save_overlay
    from procvision_build.develop.project_runner import ProjectRunner, import_runtime

    config = load_config(Path(args.project))
    try:
        user_params = json.loads(args.params)
    except ValueError as error:
        raise UsageError(f"--params: not valid JSON ({error}); expected an object like "
                         f"'{params_example(config, args.step)}'") from None
    if not isinstance(user_params, dict):
        raise UsageError(f"--params: expected a JSON object like '{params_example(config, args.step)}', "
                         f"found {args.params}")
    import_runtime(config)  # the SDK and numpy, before reading the image needs them
    image = read_image(args.image)
    params = {"step_index": args.step, "pid": args.pid,
              "session": {"id": args.session, "context": {"product_code": args.pid, "operator": "procvision run"}},
              "user_params": user_params}
    echo = None if ui.quiet or ui.json else (lambda line: echo_log_line(line, ui.verbose))
    with ProjectRunner(config, echo=echo) as project:
        result = project.call(args.method, params, image)
    print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
    if args.save_overlay is not None:
        drawn = save_overlay(image, result.data or {}, args.save_overlay)
        ui.info(f"overlay {args.save_overlay} ({drawn} rect(s) drawn)")
    return 0 if result.ok else 1


def params_example(config: Any, step_index: int) -> str:
    """A ``--params`` value made of this project's own step: its first param with a default."""
    steps = config.algorithm.steps if config.algorithm is not None else ()
    step = next((step for step in steps if step.index == step_index), steps[0] if steps else None)
    for param in step.params if step is not None else ():
        if param.default is not None:
            return json.dumps({param.key: param.default})
    return "{}"


def echo_log_line(line: Any, verbose: bool) -> None:
    """The algorithm's log line on stderr: info and above; debug lines and tracebacks only with --verbose."""
    record = line.record
    if record is not None and str(record.get("level", "")).lower() == "debug" and not verbose:
        return
    if record is not None and "traceback" in record and not verbose:
        text = json.dumps({key: value for key, value in record.items() if key != "traceback"}, ensure_ascii=False)
    else:
        text = line.text
    print(text, file=sys.stderr, flush=True)
