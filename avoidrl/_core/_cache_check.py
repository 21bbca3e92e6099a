"""Hash checks of numba's machine code cached beside a compiled kernel's source file.

numba keeps a kernel's machine code in ``__pycache__/kernel_<hash>.*.nbi``
(an index) and ``.nbc`` files beside the source file under
:func:`avoidrl._core.compiled.cache_dir`, and loads them with ``pickle``:
a modified file would run whatever it holds. After a process compiled a
kernel, :func:`record` writes the files' SHA-256 to ``kernel_<hash>.py.sha256``;
before numba may load them, :func:`drop_untrusted` removes any file whose hash
is not the recorded one (numba then compiles again). Only this cache folder
is checked: a numba cache folder set elsewhere (``NUMBA_CACHE_DIR``) is numba's.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import tempfile


def _numba_files(path):
    folder = os.path.join(os.path.dirname(path), "__pycache__")
    stem = os.path.basename(path)[:-len(".py")]
    return sorted(glob.glob(os.path.join(glob.escape(folder), glob.escape(stem) + ".*.nb[ic]")))


def _sha256(path):
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _recorded(path):
    try:
        with open(path + ".sha256", encoding="utf-8") as handle:
            content = json.load(handle)
        return content if isinstance(content, dict) else {}
    except (OSError, ValueError):
        return {}


def drop_untrusted(path):
    """Remove machine code of ``path`` that :func:`record` did not record; False if one stays."""
    recorded = _recorded(path)
    for file in _numba_files(path):
        try:
            if recorded.get(os.path.basename(file)) != _sha256(file):
                os.remove(file)
        except OSError:
            return False
    return True


def is_warm(path):
    """Whether numba has machine code for ``path`` whose hashes :func:`record` recorded.

    Loading such code takes milliseconds, not the compiler's second, so a
    kernel that is warm on disk is worth using from its first call.
    """
    recorded = _recorded(path)
    files = _numba_files(path)
    try:
        return bool(files) and all(recorded.get(os.path.basename(f)) == _sha256(f)
                                   for f in files)
    except OSError:
        return False


def record(path):
    """Record the hashes of the machine code numba cached for ``path`` (best effort)."""
    try:
        hashes = {os.path.basename(file): _sha256(file) for file in _numba_files(path)}
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path), suffix=".tmp")
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(hashes, stream)
        os.replace(temporary, path + ".sha256")
    except OSError:
        pass
