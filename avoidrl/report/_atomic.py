"""The operating-system steps of crash-safe publishing: hashes, fsync, atomic exchange, locks, signals.

The lowest layer of :mod:`avoidrl.report._folder` (standard library only):
how a file is recorded (size and SHA-256) and synced, how two folders are
swapped in one step (Linux ``renameat2(RENAME_EXCHANGE)``), the folder lock,
and how SIGINT and SIGTERM are held back or turned into an exception while a
report folder is published. Nothing here knows about manifests or runs.
"""

from __future__ import annotations

import contextlib
import ctypes
import datetime
import errno
try:  # POSIX only; elsewhere publishing runs without the advisory lock
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None
import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import threading

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


class Terminated(KeyboardInterrupt):
    """Raised by the SIGTERM handler installed while a report folder is written."""


def _now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _record(path):
    return {"size": os.stat(path).st_size, "sha256": _sha256(path)}


def _unchanged(path, record):
    """True if ``path`` is a regular file with the size and hash of ``record``."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != record.get("size"):
        return False
    return _sha256(path) == record.get("sha256")


def _pid_alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _fsync(path, directory=False):
    try:
        fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems cannot fsync folders
        pass
    finally:
        os.close(fd)


def files_under(root):
    """Relative POSIX paths of every non-folder entry under ``root`` (symlinks not followed)."""
    found = []

    def walk(folder, prefix):
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = prefix + entry.name
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path, rel + "/")
                else:
                    found.append(rel)

    walk(root, "")
    return found


def _write_json(path, content):
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(content, indent=2) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _libc_renameat2():
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):  # glibc < 2.28, or no C library to load
        return None
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                         ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


_RENAMEAT2 = _libc_renameat2()


def _exchange(first, second):
    """Swap two paths atomically (Linux ``renameat2(RENAME_EXCHANGE)``)."""
    if _RENAMEAT2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available", str(first))
    if _RENAMEAT2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second),
                  _RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(first), None, str(second))


def _can_exchange_and_link(probe):
    """Whether ``probe`` (an empty folder) supports an atomic exchange and hard links."""
    a, b = probe / ".probe-a", probe / ".probe-b"
    try:
        a.mkdir()
        b.mkdir()
        (a / "f").write_bytes(b"")
        _exchange(a, b)
        os.link(b / "f", b / "g")
        return True
    except OSError:
        return False
    finally:
        shutil.rmtree(a, ignore_errors=True)
        shutil.rmtree(b, ignore_errors=True)


@contextlib.contextmanager
def _locked(folder):
    """An exclusive lock on ``folder`` (best effort: not every file system has flock)."""
    if fcntl is None:
        yield
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        yield
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError:
            pass
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextlib.contextmanager
def _signals_blocked():
    """Hold SIGINT and SIGTERM back: their handlers run when the block ends.

    Python runs signal handlers in the main thread between bytecodes, so
    swapping the handlers for a recorder defers them whichever thread the
    operating system delivers the signal to.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received = []

    def record(signum, frame):
        received.append(signum)

    previous = {number: signal.signal(number, record)
                for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for number in dict.fromkeys(received):
            signal.raise_signal(number)


@contextlib.contextmanager
def terminate_raises():
    """Make SIGTERM raise :class:`Terminated` inside the block, so clean-up runs.

    Installed only in the main thread and only if SIGTERM has its default
    action (a program with its own handler keeps it); restored afterwards.
    """
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def handler(signum, frame):
        raise Terminated("terminated (SIGTERM)")

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
