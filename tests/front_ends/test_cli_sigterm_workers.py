"""SIGTERM to the ``avoidrl`` command ends its ``--jobs`` worker processes promptly.

Loky workers busy with a recovery's dataset would otherwise run on for
minutes after the main process is gone.
"""

import os
import signal
import subprocess
import sys
import time

import pytest


def _workers(pid):
    """Pids of the live loky worker processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as handle:
                state, parent = handle.read().rsplit(")", 1)[1].split()[:2]
            with open(f"/proc/{entry}/cmdline", "rb") as handle:
                command = handle.read()
        except OSError:
            continue
        if int(parent) == pid and state != "Z" and b"loky" in command:
            found.append(int(entry))
    return found


def _alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigterm_ends_the_workers(tmp_path):
    command = [sys.executable, "-m", "avoidrl.cli", "validate", "--recovery", "parameter",
               "--models", "Hybrid2012+novel", "--n-datasets", "40", "--jobs", "2",
               "--seed", "1", "--quiet", "--out", str(tmp_path / "out")]
    with open(tmp_path / "stderr.txt", "w") as stderr:
        main = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr,
                                cwd=tmp_path)
    workers = []
    try:
        deadline = time.monotonic() + 120
        while len(workers) < 2 and time.monotonic() < deadline and main.poll() is None:
            time.sleep(0.2)
            workers = _workers(main.pid)
        assert len(workers) >= 2, (tmp_path / "stderr.txt").read_text()
        time.sleep(1)  # the workers are busy with their datasets
        main.send_signal(signal.SIGTERM)
        assert main.wait(timeout=30) == 143
        deadline = time.monotonic() + 5
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)]
        assert "terminated" in (tmp_path / "stderr.txt").read_text()
    finally:
        if main.poll() is None:
            main.kill()
        for pid in workers:  # only the processes this test started
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
