"""The checks of ``procvision validate``: config, assets, then the algorithm itself in a real child process.

The child is started through the SDK's reference runner and adapter (``project_runner``), so what
passes here passes on the line: the adapter imports the entry point, checks the class, runs
``setup()``, compares ``get_info()`` with the manifest and validates every return with the SDK's
validator; its advice (long ``message`` or ``ng_reason``) arrives as warning log lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Mapping

from procvision_build.config.load import load_config
from procvision_build.config.model import ProjectConfig
from procvision_build.errors import AlgorithmStartError, ConfigError, BuildError, ProjectNotFound, RuntimeMissing
from procvision_build.reports import ERROR, OK, SKIPPED, WARNING, Check, Report

START_STAGES = ("import", "class", "setup", "get_info")
METHODS = ("pre_execute", "execute")


def default_params(step: Mapping[str, Any], width: int, height: int) -> dict[str, Any]:
    """``user_params`` from the declared defaults; a rect without one covers the whole image."""
    params: dict[str, Any] = {}
    for param in step.get("params", ()):
        key, kind = param["key"], param["type"]
        if "default" in param:
            params[key] = param["default"]
        elif kind == "rect":
            params[key] = {"x": 0, "y": 0, "width": width, "height": height}
        elif param.get("required"):
            params[key] = _placeholder(param)
    return params


def _placeholder(param: Mapping[str, Any]) -> Any:
    """A value for a required param that declares no default: the low end of what it accepts."""
    kind = param["type"]
    if kind in ("int", "float"):
        value = param.get("min", param.get("max", 0))
        return float(value) if kind == "float" else int(value)
    if kind == "bool":
        return False
    if kind == "enum":
        return param["choices"][0]
    return "a" * max(int(param.get("min_length") or 1), 1)


def validate_project(project_dir: Path, *, image_path: Path | None = None, pid: str | None = None,
                     verbose: bool = False, echo: Callable[[Any], None] | None = None) -> Report:
    """Run every check; never raises for a problem of the project (it becomes an error check)."""
    image_label = str(image_path) if image_path is not None else "generated 640x480"
    checks: list[Check] = []

    def report() -> Report:
        return Report({"project": str(Path(project_dir).resolve()), "image": image_label}, tuple(checks))

    try:
        config = load_config(Path(project_dir))
    except ConfigError as error:
        checks.append(Check("config", ERROR, f"{error.path}: {len(error.problems)} problem(s)",
                            "fix pyproject.toml; every problem is listed", tuple(error.problems)))
        return report()
    except ProjectNotFound as error:
        checks.append(Check("config", ERROR, str(error)))
        return report()
    algorithm = config.algorithm
    if algorithm is None:
        checks.append(Check("config", ERROR, f"{config.pyproject}: no [tool.procvision] table",
                            "declare the algorithm (entry-point, supported-pids, steps) under [tool.procvision]; "
                            "`procvision init` writes a complete example"))
        return report()
    checks.append(Check("config", OK, f"{config.name} {config.version}: {len(algorithm.supported_pids)} PID(s), "
                        f"{len(algorithm.steps)} step(s), {len(config.targets)} target(s)"))
    pids = list(algorithm.supported_pids)
    if pid is not None:
        if pid not in pids:
            checks.append(Check("pid", ERROR, f"--pid {pid} is not declared",
                                f"use one of tool.procvision.supported-pids: {', '.join(pids)}"))
            return report()
        pids = [pid]

    checks.append(_assets_check(config))

    from procvision_build.develop.images import generated_image, read_image
    from procvision_build.develop.project_runner import import_runtime

    try:
        runtime = import_runtime(config)  # before the image: both need numpy, and this says how to get it
    except RuntimeMissing as error:
        checks.append(Check("runtime", ERROR, str(error)))
        return report()
    try:
        image = read_image(image_path) if image_path is not None else generated_image()
    except BuildError as error:
        checks.append(Check("image", ERROR, str(error)))
        return report()
    checks.extend(_algorithm_checks(config, runtime, pids, image, generated=image_path is None, verbose=verbose,
                                    echo=echo))
    return report()


def _algorithm_checks(config: ProjectConfig, runtime: Any, pids: list[str], image: Any, *, generated: bool,
                      verbose: bool, echo: Callable[[Any], None] | None) -> list[Check]:
    """Start the algorithm (import, class, setup, get_info), call every PID and step, shut it down (teardown)."""
    from procvision_build.develop.project_runner import ProjectRunner

    assert config.algorithm is not None
    checks: list[Check] = []
    module, _, cls = config.algorithm.entry_point.partition(":")
    ok_messages = {
        "import": f"{module} imported",
        "class": f"{cls} subclasses BaseAlgorithm",
        "setup": "the class was instantiated and setup() returned",
        "get_info": "get_info() agrees with the manifest (name, version, supported_pids, steps)",
    }
    project = ProjectRunner(config, echo=echo)
    try:
        project.start()
    except AlgorithmStartError as error:
        failed = START_STAGES.index(error.stage)
        for number, stage in enumerate(START_STAGES):
            if number < failed:
                checks.append(Check(stage, OK, ok_messages[stage]))
            elif number == failed:
                details = (error.traceback_text.rstrip(),) if verbose and error.traceback_text else ()
                checks.append(Check(stage, ERROR, error.message, error.hint, details))
            else:
                checks.append(Check(stage, SKIPPED, "the algorithm did not start"))
        return checks
    checks.extend(Check(stage, OK, ok_messages[stage]) for stage in START_STAGES)

    height, width = image.shape[:2]
    plan = [(product, step, method) for product in pids for step in project.manifest["steps"] for method in METHODS]
    results: list[Any] = []  # a CallResult per planned call, in order, until the runner gives up
    lost: Check | None = None
    try:
        for product, step, method in plan:
            session = {"id": f"validate-{product}",
                       "context": {"product_code": product, "operator": "procvision validate", "trace_id": ""}}
            params = {"step_index": step["index"], "pid": product, "session": session,
                      "user_params": default_params(step, width, height)}
            try:
                results.append(project.call(method, params, image))
            except runtime.RunnerError as error:  # restarts exhausted: the process keeps dying
                lost = Check(f"{method} {product} step {step['index']}", ERROR, error.message,
                             "the algorithm process exits during calls; run with --verbose to see its log")
                break
    finally:
        project.close()  # teardown runs; afterwards every log line has arrived
    advice, tracebacks = _advice(project.records()), _tracebacks(project.records()) if verbose else {}
    for (product, step, method), result in zip(plan, results):
        key = (f"validate-{product}", step["index"], method)
        checks.append(_call_check(product, step["index"], method, result, advice.get(key, ()) + tracebacks.get(key, ()),
                                  generated))
    if lost is None:
        checks.append(_teardown_check(project.exit_code, project.records()))
        return checks
    checks.append(lost)
    checks.extend(Check(f"{method} {product} step {step['index']}", SKIPPED, "the algorithm failed")
                  for product, step, method in plan[len(results) + 1:])
    checks.append(Check("teardown", SKIPPED, "the runner gave the algorithm up"))
    return checks


def _assets_check(config: ProjectConfig) -> Check:
    assert config.algorithm is not None
    paths = config.algorithm.asset_paths()
    missing = [path for path in paths if not (config.root / path).exists()]  # a file, or a model folder
    if missing:
        return Check("assets", ERROR, f"{len(missing)} declared asset file(s) missing", "add the files or fix "
                     "[tool.procvision.assets]", tuple(str(config.root / path) for path in missing))
    return Check("assets", OK, f"{len(paths)} declared asset file(s) present")


def _advice(records: list[dict[str, Any]]) -> dict[tuple[Any, Any, Any], tuple[str, ...]]:
    """The adapter's validator warnings, by (session id, step index, method)."""
    found: dict[tuple[Any, Any, Any], list[str]] = {}
    for record in records:
        if record.get("logger") == "procvision.adapter" and record.get("level") == "warning" and "method" in record:
            key = (record.get("session_id"), record.get("step_index"), record.get("method"))
            found.setdefault(key, []).append(str(record.get("message")))
    return {key: tuple(messages) for key, messages in found.items()}


def _tracebacks(records: list[dict[str, Any]]) -> dict[tuple[Any, Any, Any], tuple[str, ...]]:
    """Tracebacks of exceptions raised by ``pre_execute``/``execute``, by (session id, step index, method)."""
    found: dict[tuple[Any, Any, Any], tuple[str, ...]] = {}
    for record in records:
        method = str(record.get("message", "")).split(" raised ")[0]
        if record.get("logger") == "procvision.adapter" and method in METHODS and record.get("traceback"):
            found[(record.get("session_id"), record.get("step_index"), method)] = (str(record["traceback"]).rstrip(),)
    return found


def _call_check(pid: str, index: int, method: str, result: Any, advice: tuple[str, ...], generated: bool) -> Check:
    name = f"{method} {pid} step {index}"
    if not result.ok:
        hint = ""
        if result.error_code in ("1002", "1003", "1007", "9999") and generated:
            hint = "validate used a generated 640x480 test image; pass --image with a real part image"
        elif result.error_code == "1006":
            hint = "params were built from the declared defaults (rects cover the whole image)"
        elif result.error_code in ("1005", "1009"):
            hint = "the algorithm process was stopped or died during the call; --verbose shows its log"
        return Check(name, ERROR, f"ERROR {result.error_code}: {result.message}", hint, advice)
    data = result.data
    if method == "pre_execute":
        summary = f"OK, {len(data.get('calibration_rects') or [])} calibration rect(s)"
    elif data.get("result_status") == "NG":
        summary = f"OK, verdict NG ({data.get('ng_reason')}, {len(data.get('defect_rects') or [])} defect rect(s))"
    else:
        summary = f"OK, verdict {data.get('result_status')}"
    summary += f" in {result.latency_ms:g} ms" if result.latency_ms is not None else ""
    if advice:
        return Check(name, WARNING, summary, "advice from the contract; it never fails a result", advice)
    return Check(name, OK, summary)


def _teardown_check(exit_code: int | None, records: list[dict[str, Any]]) -> Check:
    if exit_code == 0:
        return Check("teardown", OK, "teardown() ran and the process exited 0")
    for record in records:
        if record.get("message") == "teardown raised":
            return Check("teardown", ERROR, f"teardown() raised: {_last_line(record.get('traceback', ''))}")
    return Check("teardown", ERROR, f"the algorithm process exited with code {exit_code} at shutdown")


def _last_line(text: Any) -> str:
    lines = [line for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "(no detail)"
