"""Compile steps run once per process, even when threads race to their first call.

joblib's threading backend (``parallel_config(backend="threading")``) runs
participants' fits in threads; their first calls of a compile step (which
swaps module globals for jitted versions) used to run it twice and fail with
"a jit decorator was called on an already jitted function".
"""

import threading
import time

import pytest

from avoidrl._core import compiled


def test_once_runs_a_raced_first_call_once_and_hands_everyone_its_result():
    runs = []

    @compiled.once
    def step():
        runs.append(1)
        time.sleep(0.2)  # long enough for every thread to arrive during the first call
        return object()

    n = 6
    barrier = threading.Barrier(n)
    results = [None] * n

    def call(i):
        barrier.wait()
        results[i] = step()

    threads = [threading.Thread(target=call, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(runs) == 1
    assert all(r is results[0] for r in results)
    assert step() is results[0]


def test_once_retries_after_a_failed_first_call():
    attempts = []

    @compiled.once
    def step():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("no compiler")
        return "compiled"

    with pytest.raises(RuntimeError):
        step()
    assert step() == "compiled"
