"""Compiled kernels are cached on disk: later processes load them instead of compiling."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba")

SCRIPT = r"""
import json, sys, warnings
import numpy as np
warnings.simplefilter("ignore")
from avoidrl import load_example, make_model
from avoidrl._core import compiled as _compiled
_compiled.COMPILE_AFTER_ROWS = 0
learning, transfer = load_example()
keep = learning["participant_id"].unique()[:2]
model = make_model("Hybrid2012+novel", n_starts=2, max_starts=2, random_state=0).fit(
    learning[learning["participant_id"].isin(keep)], transfer[transfer["participant_id"].isin(keep)])
kernels = {base.name: kernel for base, kernel in _compiled._KERNELS.items()}
hybrid = kernels["Hybrid2012"]
print(json.dumps({"compiled": hybrid is not None,
                  "hits": sum(hybrid.stats.cache_hits.values()) if hybrid is not None else 0,
                  "params": model.params_.to_numpy().tolist(),
                  "nll": model.nll_.tolist()}))
"""


def _run(cache):
    env = {**os.environ, "AVOIDRL_CACHE_DIR": str(cache), "AVOIDRL_COMPILE": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True,
                         check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_second_process_loads_the_kernel_from_the_cache_with_the_same_fit(tmp_path):
    first = _run(tmp_path)
    sources = sorted((tmp_path / "kernels").glob("kernel_*.py"))
    assert first["compiled"] and first["hits"] == 0 and sources
    second = _run(tmp_path)
    assert second["compiled"] and second["hits"] >= 1
    assert second["params"] == first["params"] and second["nll"] == first["nll"]
    # the cache never rewrites a kernel file it already holds
    assert sorted((tmp_path / "kernels").glob("kernel_*.py")) == sources


@pytest.mark.slow
def test_unwritable_cache_folder_compiles_in_memory(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would be")
    result = _run(blocker)
    assert result["compiled"] and result["hits"] == 0
    assert blocker.read_text() == "a file where the cache folder would be"
