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


def _fresh_registry(monkeypatch, compile_after, warm_after):
    from avoidrl._core import compiled as _compiled

    monkeypatch.setattr(_compiled, "ENABLED", True)
    monkeypatch.setattr(_compiled, "COMPILE_AFTER_ROWS", compile_after)
    monkeypatch.setattr(_compiled, "WARM_AFTER_ROWS", warm_after)
    for name in ("_KERNELS", "_TANGENT_KERNELS", "_WARM"):
        monkeypatch.setattr(_compiled, name, {})
    monkeypatch.setattr(_compiled, "_ROWS", _compiled.Counter())
    monkeypatch.setattr(_compiled, "_UNCHECKED", set())
    return _compiled


def test_a_kernel_warm_on_disk_is_loaded_without_waiting_for_compile_after_rows(
        tmp_path, monkeypatch):
    """Machine code a past process cached and recorded is used after WARM_AFTER_ROWS rows."""
    import numpy as np

    from avoidrl import load_example
    from avoidrl._core.data import load_task_data
    from avoidrl._core.likelihood import negative_log_likelihood
    from avoidrl.models._builtin import make_variant

    monkeypatch.setenv("AVOIDRL_CACHE_DIR", str(tmp_path))
    data = load_task_data(*load_example())
    variant = make_variant("Relative+novel")
    params = np.tile([0.3, 0.2, 0.4, 0.1, 0.2], (60, 1))
    owner = np.arange(60)
    # a cold cache: 60 rows are far below COMPILE_AFTER_ROWS, numpy runs
    compiled = _fresh_registry(monkeypatch, 10**9, 50)
    numpy_nll = negative_log_likelihood(variant, data, params, owner)
    negative_log_likelihood(variant, data, params, owner)
    assert variant.base not in compiled._KERNELS
    # a process that compiles it (and checks it on first use: the hashes are recorded)
    compiled = _fresh_registry(monkeypatch, 0, 50)
    negative_log_likelihood(variant, data, params, owner)
    assert compiled._KERNELS[variant.base] is not None
    # the next process finds it warm: loaded once WARM_AFTER_ROWS rows have run
    compiled = _fresh_registry(monkeypatch, 10**9, 100)
    first = negative_log_likelihood(variant, data, params, owner)
    assert variant.base not in compiled._KERNELS  # 60 rows < 100
    second = negative_log_likelihood(variant, data, params, owner)
    assert compiled._KERNELS[variant.base] is not None
    for nll in (first, second):
        assert all(np.array_equal(a, b) for a, b in zip(nll, numpy_nll))


def test_a_transfer_kernel_warm_on_disk_is_loaded_after_warm_after_rows(tmp_path, monkeypatch):
    """The gradient's transfer kernel is cached, recorded and loaded warm like the others."""
    import numpy as np

    from avoidrl import load_example
    from avoidrl._core.data import load_task_data
    from avoidrl._core.likelihood import Objective
    from avoidrl.models._builtin import make_variant

    monkeypatch.setenv("AVOIDRL_CACHE_DIR", str(tmp_path))
    variant = make_variant("Relative+novel")
    objective = Objective(variant, load_task_data(*load_example()))
    params = np.tile([0.3, 0.2, 0.4, 0.1, 0.2], (60, 1))
    owner = np.arange(60)
    key = ("Relative", False, True, False, "transfer")
    warm_after = 1_500  # 60 gradient rows count 60 x 3 (1 + k) = 1,080: the second call loads
    compiled = _fresh_registry(monkeypatch, 10**9, warm_after)
    expected = objective.value_and_gradient(params, owner)  # numpy duals, cold cache
    assert compiled.transfer_key(variant) not in compiled._TANGENT_KERNELS
    # a process that compiles it and checks it: its hashes are recorded
    compiled = _fresh_registry(monkeypatch, 0, warm_after)
    objective.value_and_gradient(params, owner)
    assert compiled._TANGENT_KERNELS[compiled.transfer_key(variant)] is not None
    # the next: 1,080 counted rows < warm_after, then 2,160; loaded warm, checked, used
    compiled = _fresh_registry(monkeypatch, 10**9, warm_after)
    results = [objective.value_and_gradient(params, owner)]
    assert compiled.transfer_key(variant) not in compiled._TANGENT_KERNELS
    results += [objective.value_and_gradient(params, owner) for _ in range(2)]
    kernels = {(k[0].name,) + k[1:]: v for k, v in compiled._TANGENT_KERNELS.items()}
    assert kernels[key] is not None and kernels[("Relative", False)] is not None
    for got in results:
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])


@pytest.mark.parametrize("name", ["Relative+novel", "Advantage+novel"])
def test_a_default_example_fit_compiles_its_gradient_kernels(name, monkeypatch):
    """A default fit of the 60 example participants makes about 30,000 gradient rows.

    Counted as the numpy duals cost them (GRADIENT_ROW_COST), they reach
    COMPILE_AFTER_ROWS, so the kernels are compiled (and cached for the next
    run) rather than the duals running on every run; counted at ``1 + k``
    they did not.
    """
    from avoidrl.models._builtin import make_variant

    compiled = _fresh_registry(monkeypatch, 250_000, 20_000)
    made = []
    monkeypatch.setattr(compiled, "_warm_on_disk", lambda key, make_source: False)
    monkeypatch.setattr(compiled, "_compile",
                        lambda base, source, key, function="kernel": made.append(key) or "k")
    variant = make_variant(name)
    rows, chunk = 0, 256
    while compiled.tangent_kernel_for(variant, chunk) is None:
        rows += chunk
        assert rows < 30_000, f"no gradient kernel after {rows} rows"
    assert made == [(variant.base, False)]
