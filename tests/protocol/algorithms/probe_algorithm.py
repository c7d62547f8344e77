"""Purpose-built algorithms for the protocol tests: each ``action`` user param misbehaves in one way.

Every lifecycle hook appends a line to ``events.log`` in the algorithm root, so tests can
observe order and ``teardown()`` from outside the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
import time

from procvision_algorithm_sdk import BaseAlgorithm, FatalError, GPUOutOfMemoryError

print("IMPORT-NOISE")  # a chatty module: the adapter must have moved stdout aside before importing us


class Probe(BaseAlgorithm):
    def _event(self, text: str) -> None:
        with open(self.root_dir / "events.log", "a", encoding="utf-8") as log:
            log.write(text + "\n")

    def setup(self) -> None:
        print("SETUP-NOISE")
        self._event("setup")

    def on_step_start(self, step_index, session, context) -> None:
        self._event(f"on_step_start:{step_index}")

    def on_step_finish(self, step_index, session, result) -> None:
        self._event(f"on_step_finish:{step_index}:{result['status']}")

    def reset(self, session) -> None:
        self._event(f"reset:{session.id}")

    def teardown(self) -> None:
        self._event("teardown")

    def pre_execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        self._event(f"pre_execute:{step_index}")
        if user_params.get("action") == "pre_error":
            return {"status": "ERROR", "message": "calibration target not found", "error_code": "1002"}
        return {"status": "OK", "data": {"calibration_rects": [{"x": 0, "y": 0, "width": 1, "height": 1}]}}

    def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        self._event(f"execute:{step_index}")
        action = user_params.get("action", "ok")
        data = {"result_status": "OK", "pid": os.getpid(), "params": dict(user_params),
                "shared_mem_id": shared_mem_id}
        if user_params.get("sleep"):
            time.sleep(user_params["sleep"])
        if action == "image":
            image = self.read_image(shared_mem_id, image_meta)
            data.update(shape=list(image.shape), checksum=int(image.sum(dtype="uint64")),
                        corner=image[0, 0].tolist(), image_meta=dict(image_meta))
        elif action == "rescale_meta":  # works in a 10x larger frame and says so in the meta it was given
            image_meta["width"], image_meta["height"] = image_meta["width"] * 10, image_meta["height"] * 10
            data.update(result_status="NG", ng_reason="big",
                        defect_rects=[{"x": 500, "y": 500, "width": 10, "height": 10}])
        elif action == "many_rects":
            data.update(result_status="NG", ng_reason="many",
                        defect_rects=[{"x": n, "y": 0, "width": 1, "height": 1} for n in range(25)])
        elif action == "ng":
            data.update(result_status="NG", ng_reason="scratch",
                        defect_rects=[{"x": 1, "y": 1, "width": 2, "height": 2, "score": 0.9}])
        elif action == "noise":
            print("PRINT-NOISE")
            os.write(1, b"OSWRITE-NOISE\n")
            libc = ctypes.CDLL(None) if sys.platform != "win32" else ctypes.cdll.ucrtbase
            libc.puts(b"CPUTS-NOISE")
            libc.fflush(None)
        elif action == "raise":
            raise ValueError("boom in execute")
        elif action == "gpu_oom":
            raise GPUOutOfMemoryError()
        elif action == "fatal":
            raise FatalError("model weights corrupted")
        elif action == "exit":
            os._exit(7)
        elif action == "grandchild":
            import subprocess

            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            time.sleep(3600)
        elif action == "hang":
            time.sleep(3600)
        elif action == "stall_later":
            # native code in a thread of the algorithm's own that takes the GIL after this call answered
            threading.Thread(target=_hold_gil_after, args=(0.3,), daemon=True).start()
        elif action == "hold_gil":
            # a native call that keeps the GIL, as a stuck C extension would: not even pongs get out
            if sys.platform == "win32":
                ctypes.PyDLL("kernel32").Sleep(3600 * 1000)
            else:
                ctypes.PyDLL(None).sleep(3600)
        elif action == "bad_return":
            return {"status": "OK", "data": {"result_status": "MAYBE"}}
        elif action == "diag":
            self.diagnostics.publish("score", 0.25)
        elif action == "count":
            session.set("count", session.get("count", 0) + 1)
            data["count"] = session.get("count")
        elif action == "flood":
            for number in range(20000):
                print(f"flood line {number:05d} " + "." * 40)
        elif action == "huge":
            data["blob"] = "x" * (17 * 1024 * 1024)
        elif action == "log":
            self.logger.info("inside execute", marker="LOG-MARKER")
        return {"status": "OK", "data": data}


def _hold_gil_after(delay: float) -> None:
    time.sleep(delay)
    if sys.platform == "win32":
        ctypes.PyDLL("kernel32").Sleep(3600 * 1000)
    else:
        ctypes.PyDLL(None).sleep(3600)


class SetupFails(Probe):
    def setup(self) -> None:
        raise RuntimeError("cannot load model weights.bin")


class IgnoresTerm(Probe):
    def setup(self) -> None:
        super().setup()
        signal.signal(signal.SIGTERM, signal.SIG_IGN)


class WrongInfo(Probe):
    def get_info(self):
        return {**super().get_info(), "version": "9.9.9"}


class SlowTeardown(Probe):
    def teardown(self) -> None:
        time.sleep(1.0)  # long enough for a shutdown frame to arrive meanwhile
        super().teardown()


class TeardownFails(Probe):
    def teardown(self) -> None:
        super().teardown()
        raise RuntimeError("cannot release the camera")


class ChangesResult(Probe):
    def on_step_finish(self, step_index, session, result) -> None:
        result["status"] = "ERROR"  # the hook's copy: the sent result must not change
        if "data" in result:
            result["data"]["result_status"] = "NG"
        super().on_step_finish(step_index, session, result)


class InfoFailsAfterSetup(Probe):
    def get_info(self):
        raise RuntimeError("get_info cannot answer")


class LeavesAThread(Probe):
    def setup(self) -> None:
        super().setup()
        threading.Thread(target=time.sleep, args=(3600,), name="forgotten").start()  # not a daemon


class InitFails(Probe):
    def __init__(self) -> None:
        super().__init__()
        raise RuntimeError("no camera calibration in __init__")


class ImportsLazily(Probe):
    def setup(self) -> None:
        import procvision_missing_lazy_dependency  # noqa: F401 - missing on purpose


class KeepsSessionAcrossReset(Probe):
    """Records what its own reset hook saw, and the context a call sees."""

    def reset(self, session) -> None:
        self._event(f"reset:{session.id}:count={session.get('count')}:{session.context.get('product_code')}")

    def execute(self, step_index, pid, session, user_params, shared_mem_id, image_meta):
        result = super().execute(step_index, pid, session, user_params, shared_mem_id, image_meta)
        result["data"]["product_code"] = session.context.get("product_code")
        return result


class ResetFails(Probe):
    def reset(self, session) -> None:
        raise RuntimeError("reset broke")
