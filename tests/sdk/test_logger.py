import io
import json
import sys
import threading

from procvision_algorithm_sdk import StructuredLogger
from procvision_algorithm_sdk.logger import clear_log_context, set_log_context


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_level_is_one_json_line():
    stream = io.StringIO()
    logger = StructuredLogger("algo", stream=stream)
    for level in ("debug", "info", "warning", "error"):
        getattr(logger, level)(f"{level} message", count=1)
    records = lines(stream)
    assert [r["level"] for r in records] == ["debug", "info", "warning", "error"]
    for record in records:
        assert isinstance(record["timestamp_ms"], int) and record["timestamp_ms"] > 1_600_000_000_000
        assert record["message"].endswith("message") and record["count"] == 1


def test_exception_carries_traceback():
    stream = io.StringIO()
    logger = StructuredLogger(stream=stream)
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (record,) = lines(stream)
    assert record["level"] == "error"
    assert "ValueError: boom" in record["traceback"]


def test_caller_fields_never_overwrite_reserved_ones():
    stream = io.StringIO()
    StructuredLogger(stream=stream).info("hello", level="fake", timestamp_ms=1)
    (record,) = lines(stream)
    assert record["level"] == "info" and record["timestamp_ms"] != 1
    assert record["field_level"] == "fake" and record["field_timestamp_ms"] == 1


def test_non_json_fields_are_written_with_repr():
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    stream = io.StringIO()
    StructuredLogger(stream=stream).info("x", thing=Thing(), values={1, 2}, nan=float("nan"))
    (record,) = lines(stream)
    assert record["thing"] == "<Thing>"
    assert record["nan"] == "nan"
    assert record["values"] == "{1, 2}"


def test_session_and_step_context_when_set():
    stream = io.StringIO()
    logger = StructuredLogger(stream=stream)
    logger.info("before")
    set_log_context(session_id="s-7", step_index=2)
    try:
        logger.info("during")
    finally:
        clear_log_context()
    logger.info("after")
    before, during, after = lines(stream)
    assert "session_id" not in before
    assert during["session_id"] == "s-7" and during["step_index"] == 2
    assert "session_id" not in after


def test_default_stream_is_stderr(capsys):
    StructuredLogger().info("to stderr")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert json.loads(captured.err)["message"] == "to stderr"


def test_logging_while_another_thread_sets_the_context():
    """The adapter's worker sets the context while other threads log (its reader, the algorithm's own)."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def log_until_stopped() -> None:
        logger = StructuredLogger(stream=io.StringIO())
        try:
            while not stop.is_set():
                logger.info("x")
        except BaseException as error:  # noqa: BLE001 - the test reports it
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    thread = threading.Thread(target=log_until_stopped)
    thread.start()
    try:
        for number in range(20000):
            set_log_context(session_id=f"s{number}", step_index=number)
            set_log_context(step_index=None)
            clear_log_context()
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert errors == []


def test_a_field_that_contains_itself_still_gives_one_json_object():
    loop: list = []
    loop.append(loop)
    stream = io.StringIO()
    StructuredLogger(stream=stream).info("x", loop=loop, fine=1)
    (record,) = lines(stream)
    assert record["fine"] == 1 and record["loop"] == "[[...]]"
