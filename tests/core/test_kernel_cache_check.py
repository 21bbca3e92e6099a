"""The on-disk kernel cache is checked by hashes, never trusted.

A modified (or truncated) ``kernel_*.py`` is rewritten from the generated
source and the kernel is always run from the generated source itself;
numba's cached machine code whose hash is not the one recorded when it was
compiled is removed before numba could load it, and compiled again.
"""

import hashlib
import json
import os
import subprocess
import sys

import pytest

from avoidrl._core import _cache_check, compiled
from avoidrl.models._builtin import BASE_MODELS

TAMPERED = 'import os\nos.environ["AVOIDRL_TAMPERED"] = "1"\n'


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AVOIDRL_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("AVOIDRL_TAMPERED", raising=False)
    return tmp_path / "kernels"


def _tamper(path, text):
    stamp = os.stat(path)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.utime(path, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # as a careful attacker would


@pytest.mark.parametrize("text", [TAMPERED, "", "def kernel(*args):\n    pass\n"])
def test_a_modified_kernel_file_is_rewritten(cache, text):
    source = compiled.generate_source(BASE_MODELS["QLearning"])
    path = compiled._source_file(source)
    assert path is not None and open(path, encoding="utf-8").read() == source
    _tamper(path, text)
    assert compiled._source_file(source) == path
    with open(path, "rb") as handle:
        assert hashlib.sha256(handle.read()).digest() == hashlib.sha256(source.encode()).digest()


def test_a_modified_kernel_file_is_never_run(cache):
    pytest.importorskip("numba")
    base = BASE_MODELS["Relative"]
    path = compiled._source_file(compiled.generate_source(base))
    _tamper(path, TAMPERED + open(path, encoding="utf-8").read())
    kernel = compiled._compile(base)  # jitted lazily: numba compiles at the first call
    assert kernel is not None and "AVOIDRL_TAMPERED" not in os.environ
    assert open(path, encoding="utf-8").read() == compiled.generate_source(base)


def test_machine_code_not_recorded_is_removed_before_numba_loads_it(tmp_path):
    source = tmp_path / "kernel_0123.py"
    source.write_text("def kernel():\n    pass\n")
    cached = tmp_path / "__pycache__"
    cached.mkdir()
    index = cached / "kernel_0123.kernel-1.py311.nbi"
    code = cached / "kernel_0123.kernel-1.py311.1.nbc"
    index.write_bytes(b"index")
    code.write_bytes(b"machine code")
    other = cached / "kernel_9999.kernel-1.py311.nbi"  # another kernel's: not touched
    other.write_bytes(b"other")
    assert _cache_check.drop_untrusted(str(source))  # nothing recorded yet: both go
    assert not index.exists() and not code.exists() and other.exists()
    index.write_bytes(b"index")
    code.write_bytes(b"machine code")
    _cache_check.record(str(source))
    assert _cache_check.drop_untrusted(str(source)) and index.exists() and code.exists()
    code.write_bytes(b"machine code, modified")
    assert _cache_check.drop_untrusted(str(source))
    assert index.exists() and not code.exists()


SCRIPT = r"""
import json, warnings
warnings.simplefilter("ignore")
from avoidrl import load_example, make_model
from avoidrl._core import compiled
compiled.COMPILE_AFTER_ROWS = 0
learning, transfer = load_example()
keep = learning["participant_id"].unique()[:1]
learning = learning[learning["participant_id"].isin(keep)]
transfer = transfer[transfer["participant_id"].isin(keep)]
model = make_model("Relative+novel", n_starts=1, max_starts=1, random_state=0)
model.fit(learning, transfer)
kernel = {base.name: k for base, k in compiled._KERNELS.items()}["Relative"]
print(json.dumps({"hits": sum(kernel.stats.cache_hits.values()), "nll": model.nll_.tolist()}))
"""


def _run(cache):
    env = {**os.environ, "AVOIDRL_CACHE_DIR": str(cache), "AVOIDRL_COMPILE": "1"}
    out = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True,
                         text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_modified_machine_code_is_compiled_again(tmp_path):
    pytest.importorskip("numba")
    first = _run(tmp_path)
    cached = sorted((tmp_path / "kernels" / "__pycache__").glob("kernel_*.nb*"))
    assert first["hits"] == 0 and cached
    assert _run(tmp_path)["hits"] >= 1  # recorded: loaded
    for path in cached:
        path.write_bytes(path.read_bytes() + b"tampered")
    third = _run(tmp_path)
    assert third["hits"] == 0 and third["nll"] == first["nll"]  # not loaded: compiled again
    assert _run(tmp_path)["hits"] >= 1
