"""Folders publishing could not handle: they now work, or are refused before any fitting.

* A SIGKILL just after the exchange, then the next run: files another program
  wrote into the folder meanwhile are put back, never deleted.
* Another user's entry, an unreadable subfolder, a mount point inside the
  folder: the exchange cannot keep them as they are, so the run publishes by
  the journal, touching none of them.
* A planned file name too long, or a mount point on a planned file's way:
  refused by the pre-flight check, before any fitting.
"""

import errno
import os
import signal
import subprocess
import sys

import pytest

from avoidrl._tables._common import GROUP_STEM_LENGTH, _group_filenames
from avoidrl.report import _folder, _previous, _write

USER_TEXT = b"my own notes\n"

_KILLER = """
import importlib, os, signal, sys, types
package = types.ModuleType("report")
package.__path__ = [os.path.dirname(sys.argv[1])]
sys.modules["report"] = package
folder = importlib.import_module("report._folder")
out, kill_at = sys.argv[2], sys.argv[3]
def hook(name):
    if name == "manifest":  # after the link step: another program writes into the folder
        with open(os.path.join(out, "added.txt"), "w") as handle:
            handle.write("written meanwhile\\n")
        with open(os.path.join(out, "figures", "added.png"), "w") as handle:
            handle.write("also meanwhile\\n")
    if name == kill_at:
        os.kill(os.getpid(), signal.SIGKILL)
folder._checkpoint = hook
with folder.staged(out, ("FIT",), overwrite=True, info={"seed": 2}) as stage:
    (stage.path / "result.csv").write_text("new result\\n")
    stage.describe("FIT", "| result.csv | the new result |")
"""


def tiny_previous(out):
    """A folder with a user file and an earlier tiny FIT (result.csv, figures/old.png)."""
    out.mkdir()
    (out / "notes.txt").write_bytes(USER_TEXT)
    with _folder.staged(out, ("FIT",), info={"seed": 1}) as stage:
        (stage.path / "result.csv").write_text("old result\n")
        (stage.path / "figures").mkdir()
        (stage.path / "figures" / "old.png").write_bytes(b"old figure")
        stage.describe("FIT", "| result.csv | the old result |")


def _no_leftovers(out):
    assert [p.name for p in out.parent.iterdir()] == [out.name]
    assert not [p for p in out.iterdir()
                if p.name.startswith(".avoidrl-") and p.name != _folder.MANIFEST]


@pytest.mark.parametrize("kill_at", ["exchange", "discard"])
def test_files_written_meanwhile_survive_a_sigkill_and_the_next_run(tmp_path, kill_at):
    out = tmp_path / "study"
    tiny_previous(out)
    result = subprocess.run([sys.executable, "-c", _KILLER, _folder.__file__, str(out),
                             kill_at], capture_output=True, text=True)
    assert result.returncode == -signal.SIGKILL, result.stderr
    if kill_at == "discard":  # the swapped-out folder holds them until the next run
        assert not (out / "added.txt").exists()
        with pytest.warns(UserWarning, match="added.(txt|png) appeared in"):
            _folder.recover(out)  # what the next run does first
    else:
        _folder.recover(out)
    assert (out / "added.txt").read_text() == "written meanwhile\n"
    assert (out / "figures" / "added.png").read_text() == "also meanwhile\n"
    assert (out / "notes.txt").read_bytes() == USER_TEXT
    expected = "new result\n" if kill_at == "discard" else "old result\n"
    assert (out / "result.csv").read_text() == expected
    _no_leftovers(out)


def _publish(out, **options):
    with _folder.staged(out, ("FIT",), overwrite=True, **options) as stage:
        (stage.path / "result.csv").write_text("new result\n")
        (stage.path / "figures").mkdir()
        (stage.path / "figures" / "new.png").write_bytes(b"new figure")
        stage.describe("FIT", "| result.csv | the new result |")
    return stage


def _assert_published(out):
    assert (out / "result.csv").read_text() == "new result\n"
    assert (out / "figures" / "new.png").read_bytes() == b"new figure"
    assert not (out / "figures" / "old.png").exists()  # stale, removed
    assert (out / "notes.txt").read_bytes() == USER_TEXT
    _no_leftovers(out)


def test_a_file_that_cannot_be_hard_linked_is_published_by_the_journal(tmp_path, monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    link = os.link

    def refuse(source, *args, **kwargs):  # fs.protected_hardlinks: another user's file
        if os.path.basename(source) == "notes.txt":
            raise PermissionError(errno.EPERM, "Operation not permitted", source)
        return link(source, *args, **kwargs)

    monkeypatch.setattr(os, "link", refuse)
    inode = os.stat(out / "notes.txt").st_ino
    stage = _publish(out)
    assert stage.mode == "journal"
    _assert_published(out)
    assert os.stat(out / "notes.txt").st_ino == inode


def test_an_unreadable_subfolder_is_left_alone(tmp_path, monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    private = out / "private"
    private.mkdir()
    (private / "secret.txt").write_text("theirs\n")
    scandir = os.scandir

    def unreadable(path="."):
        if not isinstance(path, int) and os.fspath(path) == str(private):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", unreadable)
    inode = os.stat(private).st_ino
    assert _publish(out).mode == "journal"
    monkeypatch.undo()
    _assert_published(out)
    assert os.stat(private).st_ino == inode
    assert (private / "secret.txt").read_text() == "theirs\n"


def test_another_users_subfolder_keeps_its_owner(tmp_path, monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    (out / "theirs").mkdir()
    inode = os.stat(out / "theirs").st_ino
    real = os.geteuid()
    monkeypatch.setattr(os, "geteuid", lambda: real + 4242)  # every folder is someone else's
    assert _publish(out).mode == "journal"
    assert os.stat(out / "theirs").st_ino == inode  # not recreated by this user
    _assert_published(out)


def test_a_mount_point_inside_the_folder_is_not_moved(tmp_path, monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    (out / "mnt").mkdir()
    (out / "mnt" / "data.bin").write_bytes(b"on another file system")
    mounted = str(out / "mnt")
    ismount = os.path.ismount
    monkeypatch.setattr(os.path, "ismount", lambda p: os.fspath(p) == mounted or ismount(p))
    inode = os.stat(out / "mnt").st_ino
    assert _publish(out).mode == "journal"
    assert os.stat(out / "mnt").st_ino == inode
    assert (out / "mnt" / "data.bin").read_bytes() == b"on another file system"
    _assert_published(out)
    # a run that would write into the mount is refused before any work
    with pytest.raises(OSError, match="mnt' is a mount point inside the output folder"):
        _folder.check(out, ("FIT",), ["mnt/figure.png"], overwrite=True)


def test_a_folder_without_write_permission_is_refused_up_front(tmp_path, monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **k: os.fspath(p) != str(out / "figures")
                        and access(p, mode, **k))
    with pytest.raises(PermissionError, match="no permission to read and write in"):
        _folder.check(out, ("FIT",), ["figures/new.png"], overwrite=True)


def test_a_file_name_too_long_is_refused_before_any_fitting(tmp_path):
    out = tmp_path / "study"
    with pytest.raises(OSError, match="longer than the 255 bytes"):
        _folder.check(out, ("FIT",), ["figures/" + "a" * 300 + ".png"])
    assert not out.exists()


def test_long_group_codes_give_short_distinct_file_names():
    groups = ["a" * 300, "a" * 299 + "b", "control", "é" * 300]
    stems = _group_filenames(groups)
    assert stems["control"] == "control"
    assert all(len(stem) <= GROUP_STEM_LENGTH for stem in stems.values())
    assert len(set(stems.values())) == len(groups)
    files = _write.fit_files(["QLearning+novel"], groups)
    assert max(len(os.fsencode(part)) for rel in files for part in rel.split("/")) < 255


def test_a_file_written_into_the_previous_folder_while_it_is_discarded_is_kept(tmp_path,
                                                                               monkeypatch):
    out = tmp_path / "study"
    tiny_previous(out)
    remove = _previous._remove_folders
    late = []

    def write_late(old):  # a shell whose working directory was the folder writes a file
        if not late:
            late.append(old / "late.txt")
            late[0].write_text("late\n")
        return remove(old)

    monkeypatch.setattr(_previous, "_remove_folders", write_late)
    with pytest.warns(UserWarning, match="late.txt appeared in"):
        _publish(out)
    assert late and (out / "late.txt").read_text() == "late\n"
    _assert_published(out)
