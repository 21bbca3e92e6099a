"""Discarding a study folder's swapped-out previous state without losing anyone's files.

After the exchange of :mod:`avoidrl.report._folder` the previous folder
sits at the staging path: hard links of the kept entries, the avoidrl files
the run replaced, and whatever other programs wrote into the folder while
the report was written (or into the previous folder since). The first two go;
the rest is moved back into the output folder, never deleted. A run killed
before the discard is done leaves the folder marked (``.avoidrl-previous-<pid>``,
removed last); the next run discards it with :func:`_restore_previous`.
Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import warnings

from ._atomic import _unchanged, files_under
from ._manifest import _INNER_STAGE, _PREVIOUS_MARK, INDEX, MANIFEST, read_manifest


def _restore_previous(old, target):
    """Discard the swapped-out folder of a killed run: avoidrl files go, the rest is put back."""
    try:
        manifest = read_manifest(old)
    except ValueError:  # a crafted manifest: treat every file as someone else's
        manifest = {"runs": {}}
    ours = {MANIFEST, INDEX}
    for run in manifest["runs"].values():
        ours.update(rel for rel, record in run.get("files", {}).items()
                    if _unchanged(old / rel, record))
    _discard_old(old, target, ours)


def _discard_old(old, target, ours):
    """Remove the swapped-out folder ``old``: files in ``ours`` and hard links of kept files go.

    Anything else (a file someone added while the report was written, or
    into the old folder since, e.g. from a shell whose working directory it
    was) is moved back into ``target``, never deleted: folders are removed
    with ``rmdir``, which fails on a folder that is not empty, and then
    looked through again. The previous-state mark goes last, so a run
    killed in here is finished by the next.
    """
    for _ in range(5):
        for rel in files_under(old):
            if not _PREVIOUS_MARK.match(rel):
                _discard_entry(old, target, rel, rel in ours)
        if _remove_folders(old):
            return
    warnings.warn(f"files keep appearing in {old}, the output folder's previous state; it "
                  "was kept: move what you need from it into the folder", stacklevel=5)


def _discard_entry(old, target, rel, ours):
    path, now = old / rel, target / rel
    if ours or _INNER_STAGE.match(rel.split("/")[0]):
        os.unlink(path)
        return
    try:
        linked = os.path.samefile(path, now) if not os.path.islink(path) else \
            os.path.islink(now) and os.lstat(path).st_ino == os.lstat(now).st_ino
    except OSError:
        linked = False
    if linked:
        os.unlink(path)
        return
    # Someone added this while the report was written: put it back, never delete.
    destination = now if not os.path.lexists(now) else \
        now.with_name(f"{now.name}.recovered-{secrets.token_hex(2)}")
    destination.parent.mkdir(parents=True, exist_ok=True)
    os.rename(path, destination)
    warnings.warn(f"{rel} appeared in {target} while the report was written; "
                  f"it was kept as {destination}", stacklevel=6)


def _remove_folders(old):
    """Remove the emptied folder ``old`` with ``rmdir``; False if something appeared in it."""
    for root, folders, _ in os.walk(old, topdown=False):
        for name in folders:
            with contextlib.suppress(OSError):
                os.rmdir(os.path.join(root, name))
    marks = [name for name in os.listdir(old) if _PREVIOUS_MARK.match(name)]
    for name in marks:
        os.unlink(old / name)
    try:
        os.rmdir(old)
        return True
    except OSError:  # not empty: look again, marked as a previous state meanwhile
        for name in marks:
            (old / name).touch()
        return False
