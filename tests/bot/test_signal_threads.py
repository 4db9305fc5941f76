"""A stop signal the kernel hands to a service thread still stops ``salesbot serve``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# serve_until_signalled with its services replaced by one thread; that thread takes the
# SIGTERM (as the kernel may choose), not the main thread.
_SIGTERM_IN_A_SERVICE_THREAD = """
import signal, threading, time
from bot import lifecycle

class Running:
    def stop(self):
        print("stopped", flush=True)

def start(*_args, **_kwargs):
    def service():
        time.sleep(0.3)  # the main thread is waiting for a signal by now
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        time.sleep(60)
    threading.Thread(target=service, daemon=True).start()
    return Running()

lifecycle.start = start
lifecycle.serve_until_signalled(None, None, None, None)
"""


def test_sigterm_taken_by_a_service_thread_stops_serve() -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", _SIGTERM_IN_A_SERVICE_THREAD],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        out, err = process.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise AssertionError("serve still running 10 s after SIGTERM") from None
    assert out.strip() == "stopped", err
    assert process.returncode == 0, err
