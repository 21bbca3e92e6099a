"""A kernel source file in the on-disk cache is checked by its hash, never trusted.

A modified (or truncated) ``kernel_*.py`` is rewritten from the generated
source, which makes numba recompile, and the kernel is always run from the
generated source itself, so nothing written into the cache is executed.
"""

import hashlib
import os

import pytest

from avoidrl._core import compiled
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
