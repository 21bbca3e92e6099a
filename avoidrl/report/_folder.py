"""Study folders: what a run may write, staging, the manifest, crash-safe publishing.

An output folder is a *study folder*: a FIT and the VALIDATION runs (parameter
recovery, model recovery) of one study write their files side by side, and
the user may keep files of their own there. This module is the only code that
touches an existing output folder; the report writers (:mod:`avoidrl.report._write`)
only write new files into a fresh staging folder.

Ownership
---------
A hidden manifest, ``.avoidrl-manifest.json``, records for each *kind* of run
(``FIT``, ``PARAMETER``, ``MODEL``: the suffixes of the reference's
``fit_data_*.pkl``) the files it wrote, with their size and SHA-256, the
avoidrl version, the time, the seed and the run's section of the folder's
``README.md`` (which every run regenerates from all the kinds present). A
file avoidrl may replace is one the manifest lists with an unchanged hash.

* Without ``overwrite`` a run refuses to replace any existing file, unless
  avoidrl wrote it and the new content is identical (a model recovery
  rewriting the parameter recovery's ``data/generated`` files, for example).
* With ``overwrite`` it also replaces files avoidrl wrote, and removes files
  an earlier run of the same kind wrote that this run no longer writes (stale
  figures of models no longer fitted) when they are unchanged; changed ones
  are kept, with a warning, and dropped from the manifest.
* A file the manifest does not list, or that changed since avoidrl wrote it,
  is never replaced or removed: the run is refused, naming it.
* An output folder that holds the run's own input files is refused.

Publishing, and the guarantee
-----------------------------
A run writes its new files into a staging folder; publishing makes them part
of the output folder. At every instant the output folder holds either its
previous complete state or the new complete state:

1. *check*: under an exclusive lock (``flock`` of the parent folder), the
   manifest is read and every new file is classified as new, identical,
   replacing an avoidrl file, or refused (nothing has changed yet).
2. *link*: the staging folder, a sibling ``.<name>.avoidrl-stage-<pid>-<hex>``,
   becomes a complete copy of the new state: every kept entry of the current
   folder (user files included) is hard-linked into it (same inodes, so the
   bytes are the very same), its folders are recreated with the same modes.
3. *manifest*: the new manifest and ``README.md`` are written into it.
4. *sync*: the new files and folders are fsync'ed.
5. *exchange*: ``renameat2(RENAME_EXCHANGE)`` swaps the staging folder and the
   output folder in one atomic step (the commit); the parent is fsync'ed. A
   folder that does not exist yet is published with one ``rename``.
6. *discard*: the swapped-out previous folder, now at the staging path, holds
   hard links of kept entries and the replaced avoidrl files; it is removed.
   An entry that is neither (a file someone added to the folder during the
   run) is moved back into the folder, never deleted.

Any failure before the exchange only removes the staging folder. SIGINT and
SIGTERM (a handler that raises :class:`Terminated` is installed while a
report is written, if SIGTERM has its default action) are blocked from the
exchange until the discard is done, so an interrupted run leaves either state
and no staging. A SIGKILL leaves a staging folder; its name carries the pid,
and the next run into the folder removes it once that process is dead.

Where ``renameat2`` or hard links are not available (not Linux, an old C
library, a file system without them, an output folder that is a mount
point), publishing falls back to a journal: the new files are staged in a
hidden ``.avoidrl-stage-<pid>-<hex>`` inside the folder, the list of moves is
written to ``.avoidrl-journal.json`` (the commit), then each file is moved
into place with ``os.replace`` and stale files are removed. Each file is
replaced atomically, but a crash (SIGKILL, power loss) between the journal
and its removal leaves a mix of old and new files until the next avoidrl run
into the folder rolls the journal forward; interrupts are blocked as above.

A shell whose working directory is the output folder keeps pointing at the
previous, removed folder after an exchange: ``cd .`` re-enters the new one.

This module holds the checks and the publishing protocol (its named steps,
:func:`staged`, :class:`Stage`, :func:`recover`); the ownership rules, the
manifest and the README are in :mod:`avoidrl.report._manifest`, the
operating-system steps (hashes, fsync, the atomic exchange, the lock, the
signal handling) in :mod:`avoidrl.report._atomic`; their names used
elsewhere are re-exported here. Standard library only.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import stat
import warnings
from pathlib import Path

from ._atomic import (  # noqa: F401 - re-exported: tests and the CLI use them from here
    Terminated, _can_exchange_and_link, _exchange, _fsync, _locked, _now, _pid_alive, _record,
    _signals_blocked, _unchanged, _write_json, files_under, terminate_raises,
)
from ._manifest import (  # noqa: F401 - re-exported
    INDEX, JOURNAL, KINDS, MANIFEST, MANIFEST_FORMAT, _INNER_STAGE, _check_inputs,
    _check_parent, _classify, _owners, _refuse, _target, read_manifest, write_index_and_manifest,
)

#: The named steps of publishing, in order; tests inject failures at each.
EXCHANGE_STEPS = ("check", "link", "manifest", "sync", "exchange", "discard")
JOURNAL_STEPS = ("check", "manifest", "sync", "journal", "move", "remove", "finish")


def _checkpoint(step):
    """Called before each publishing step (a hook for tests; does nothing)."""

def check(out_dir, kinds, planned=(), *, inputs=(), overwrite=False):
    """Check that a run of ``kinds`` may write ``planned`` files into ``out_dir``.

    Called before any fitting (and again, with the actual files, when
    publishing). Also finishes an interrupted journaled publish and removes
    staging folders of dead avoidrl processes.

    Parameters
    ----------
    out_dir : path
    kinds : sequence of str
        The kinds of results the run writes ('FIT', 'PARAMETER', 'MODEL').
    planned : iterable of str
        Relative POSIX paths the run will write (as far as known).
    inputs : iterable of path
        The run's input files; the folder must not hold them.
    overwrite : bool

    Returns
    -------
    Path
        The absolute output folder.

    Raises
    ------
    FileExistsError
        If a planned file would replace a file that may not be replaced, or
        ``out_dir`` is not a folder.
    ValueError
        If the folder holds an input file.
    """
    target = _target(out_dir)
    _check_inputs(target, inputs)
    _check_parent(target)
    if target.is_dir():
        recover(target)
        manifest = read_manifest(target)
        problems = []
        for rel in sorted(set(planned) | {INDEX}):
            verdict = _classify(target, manifest, rel, kinds, overwrite)
            if verdict not in ("new", "same", "replace"):
                problems.append(verdict)
        _refuse(target, problems)
    return target


def recover(target):
    """Roll an interrupted journaled publish forward; remove dead runs' staging folders."""
    target = Path(target)
    parent = target.parent
    if parent.is_dir():
        pattern = re.compile(rf"^\.{re.escape(target.name)}\.avoidrl-stage-(\d+)-[0-9a-f]{{8}}$")
        for entry in parent.iterdir():
            match = pattern.match(entry.name)
            if match and entry.is_dir() and not entry.is_symlink() \
                    and not _pid_alive(int(match.group(1))):
                shutil.rmtree(entry, ignore_errors=True)
    if not target.is_dir():
        return
    journal = target / JOURNAL
    if journal.is_file():
        with _locked(target.parent):
            if journal.is_file():
                _roll_forward(target, json.loads(journal.read_text(encoding="utf-8")))
    for entry in target.iterdir():
        match = _INNER_STAGE.match(entry.name)
        if match and entry.is_dir() and not entry.is_symlink() \
                and not _pid_alive(int(match.group(1))):
            shutil.rmtree(entry, ignore_errors=True)


# ---------------------------------------------------------------- staging
class Stage:
    """A run's staging folder: the writer puts its new files in ``path``.

    Use through :func:`staged`; ``describe(kind, readme)`` gives each
    kind's section of the folder's README.md.
    """

    def __init__(self, target, kinds, overwrite, info):
        self.target = target
        self.kinds = tuple(kinds)
        self.overwrite = overwrite
        self.info = dict(info or {})
        self.sections, self.claims = {}, {}
        self.path = None
        self.mode = None  # 'rename' (new folder), 'exchange' or 'journal'
        self.committed = False
        self.replaced, self.stale = set(), set()

    def describe(self, kind, readme, files=None):
        """Record the README section (markdown) and the files of ``kind``.

        New files no ``describe`` call names belong to every kind of the run.
        """
        if kind not in self.kinds:
            raise ValueError(f"this run writes {self.kinds}, not {kind!r}")
        self.sections[kind] = readme
        if files is not None:
            self.claims[kind] = set(files)

    # -- creation
    def create(self):
        parent = self.target.parent
        parent.mkdir(parents=True, exist_ok=True)  # mode 0o777 minus the umask
        sibling = parent / f".{self.target.name}.avoidrl-stage-{os.getpid()}-" \
                           f"{secrets.token_hex(4)}"
        os.mkdir(sibling, 0o777)
        if not self.target.is_dir():
            self.mode, self.path = "rename", sibling
            return
        same_device = os.stat(self.target).st_dev == os.stat(parent).st_dev
        if same_device and _can_exchange_and_link(sibling):
            self.mode, self.path = "exchange", sibling
            return
        os.rmdir(sibling)
        inner = self.target / f".avoidrl-stage-{os.getpid()}-{secrets.token_hex(4)}"
        os.mkdir(inner, 0o777)
        self.mode, self.path = "journal", inner

    def discard_staging(self):
        if self.path is not None and not self.committed:
            shutil.rmtree(self.path, ignore_errors=True)

    # -- publishing
    def publish(self):
        with _locked(self.target.parent):
            _checkpoint("check")
            if self.mode != "rename" and not self.target.is_dir():
                raise FileNotFoundError(f"output folder '{self.target}' disappeared while "
                                        "the report was written")
            if self.mode == "rename" and os.path.lexists(self.target):
                self._check_still_new()  # rename() replaces an empty folder atomically
            manifest = read_manifest(self.target) if self.mode != "rename" else \
                read_manifest(self.path)
            plan = self._plan(manifest)
            if self.mode == "journal":
                self._publish_journal(manifest, plan)
            else:
                self._publish_exchange(manifest, plan)

    def _check_still_new(self):
        """A folder that appeared while the report was written is replaced only if empty."""
        if self.target.is_symlink() or not self.target.is_dir() or any(self.target.iterdir()):
            raise FileExistsError(f"{self.target} appeared while the report was written; "
                                  "run again to add to it")

    def _plan(self, manifest):
        """Classify the new files; decide what is replaced and what is stale."""
        new_files = [rel for rel in files_under(self.path) if rel not in (MANIFEST, INDEX)]
        problems, plan = [], {}
        for rel in new_files:
            if self.mode == "rename":
                plan[rel] = "new"
                continue
            verdict = _classify(self.target, manifest, rel, self.kinds, self.overwrite,
                                new_path=self.path / rel)
            if verdict in ("new", "same", "replace"):
                plan[rel] = verdict
            else:
                problems.append(verdict)
        if self.mode != "rename":
            verdict = _classify(self.target, manifest, INDEX, self.kinds, self.overwrite)
            if verdict not in ("new", "same", "replace"):
                problems.append(verdict)
        _refuse(self.target, problems)
        self.replaced = {rel for rel, v in plan.items() if v == "replace"}
        written = set(plan)
        # Stale: files only this run's kinds wrote and that it does not write any more.
        self.stale, kept_changed = set(), []
        if self.overwrite:
            for kind in self.kinds:
                for rel, record in manifest["runs"].get(kind, {}).get("files", {}).items():
                    if rel in written or set(_owners(manifest, rel)) - set(self.kinds):
                        continue
                    path = self.target / rel
                    if not os.path.lexists(path):
                        continue
                    if _unchanged(path, record):
                        self.stale.add(rel)
                    else:
                        kept_changed.append(rel)
        for rel in sorted(set(kept_changed)):
            warnings.warn(f"kept {self.target / rel}: an earlier avoidrl run wrote it but it "
                          "changed since; it is no longer listed as avoidrl's", stacklevel=4)
        return {"files": plan, "dropped": set(kept_changed)}

    def _new_manifest(self, manifest, plan, records):
        """The manifest of the new state of the folder."""
        runs = {kind: dict(run, files=dict(run.get("files", {})))
                for kind, run in manifest["runs"].items()}
        for kind, run in runs.items():
            for rel in list(run["files"]):
                gone = rel in self.stale or rel in plan["dropped"] or \
                    not os.path.lexists(self.target / rel)
                # a replaced file is no longer what another kind's run wrote
                taken = rel in self.replaced and kind not in self.kinds
                if gone or taken:
                    del run["files"][rel]
        for kind in self.kinds:
            # with overwrite the run stands for its kind alone; without, earlier files stay
            files = {} if self.overwrite else runs.get(kind, {}).get("files", {})
            claimed = set().union(*self.claims.values()) if self.claims else set()
            files.update({rel: record for rel, record in records.items()
                          if rel in self.claims.get(kind, ()) or rel not in claimed})
            runs[kind] = {"avoidrl_version": self.info.get("avoidrl_version"),
                          "written": _now(), "seed": self.info.get("seed"),
                          "files": dict(sorted(files.items())),
                          "readme": self.sections.get(kind, "")}
        ordered = {kind: runs[kind] for kind in KINDS if runs.get(kind, {}).get("files")}
        ordered.update({k: v for k, v in runs.items() if k not in ordered and v["files"]})
        return {"format": MANIFEST_FORMAT, "runs": ordered}

    def _publish_exchange(self, manifest, plan):
        records = {rel: _record(self.path / rel) for rel in plan["files"]}
        if self.mode == "exchange":
            _checkpoint("link")
            self._link_kept(plan)
        _checkpoint("manifest")
        new_manifest = self._new_manifest(manifest, plan, records)
        write_index_and_manifest(self.path, new_manifest)
        _checkpoint("sync")
        for rel in [*plan["files"], INDEX, MANIFEST]:
            _fsync(self.path / rel)
        for root, _, _ in os.walk(self.path):
            _fsync(root, directory=True)
        with _signals_blocked():
            _checkpoint("exchange")
            if self.mode == "rename":
                os.rename(self.path, self.target)
                self.path = None
            else:
                _exchange(self.path, self.target)
            self.committed = True
            _fsync(self.target.parent, directory=True)
            _checkpoint("discard")
            self.discard_previous()

    def _link_kept(self, plan):
        """Hard-link every kept entry of the current folder into the staging folder."""
        skip = {MANIFEST, INDEX, JOURNAL} | self.replaced | self.stale
        same = {rel for rel, v in plan["files"].items() if v == "same"}

        def walk(source, dest, prefix):
            with os.scandir(source) as entries:
                for entry in entries:
                    rel = prefix + entry.name
                    if not prefix and _INNER_STAGE.match(entry.name):
                        continue
                    target = os.path.join(dest, entry.name)
                    if entry.is_dir(follow_symlinks=False):
                        if not os.path.isdir(target):
                            os.mkdir(target, 0o700)  # the mode is copied below
                        walk(entry.path, target, rel + "/")
                        shutil.copystat(entry.path, target, follow_symlinks=False)
                    elif rel in skip:
                        continue
                    else:
                        if rel in same:  # keep the existing file (same bytes, its own mtime)
                            os.unlink(target)
                        os.link(entry.path, target, follow_symlinks=False)

        walk(self.target, self.path, "")
        os.chmod(self.path, stat.S_IMODE(os.stat(self.target).st_mode))

    def discard_previous(self):
        """Remove the swapped-out previous folder, keeping anything unexpected."""
        old = self.path
        if old is None or not os.path.isdir(old):
            return
        ours = self.replaced | self.stale | {MANIFEST, INDEX}
        for rel in files_under(old):
            path = old / rel
            now = self.target / rel
            if rel in ours or _INNER_STAGE.match(rel.split("/")[0]):
                os.unlink(path)
                continue
            try:
                linked = os.path.samefile(path, now) if not os.path.islink(path) else \
                    os.path.islink(now) and os.lstat(path).st_ino == os.lstat(now).st_ino
            except OSError:
                linked = False
            if linked:
                os.unlink(path)
                continue
            # Someone added this while the report was written: put it back, never delete.
            destination = now if not os.path.lexists(now) else \
                now.with_name(f"{now.name}.recovered-{secrets.token_hex(2)}")
            destination.parent.mkdir(parents=True, exist_ok=True)
            os.rename(path, destination)
            warnings.warn(f"{rel} appeared in {self.target} while the report was written; "
                          f"it was kept as {destination}", stacklevel=4)
        shutil.rmtree(old, ignore_errors=True)
        self.path = None

    # -- journal fallback
    def _publish_journal(self, manifest, plan):
        records = {rel: _record(self.path / rel) for rel in plan["files"]}
        _checkpoint("manifest")
        new_manifest = self._new_manifest(manifest, plan, records)
        write_index_and_manifest(self.path, new_manifest)
        moves = [rel for rel, v in plan["files"].items() if v != "same"] + [INDEX, MANIFEST]
        _checkpoint("sync")
        for rel in moves:
            _fsync(self.path / rel)
        journal = {"staging": self.path.name, "moves": moves,
                   "remove": {rel: manifest["runs"][_owners(manifest, rel)[0]]["files"][rel]
                              for rel in sorted(self.stale)}}
        with _signals_blocked():
            _checkpoint("journal")
            temporary = self.target / f"{JOURNAL}.{self.path.name}"
            _write_json(temporary, journal)
            os.replace(temporary, self.target / JOURNAL)
            _fsync(self.target, directory=True)
            self.committed = True
            _roll_forward(self.target, journal)
            self.path = None


def _roll_forward(target, journal):
    """Finish a journaled publish: move the staged files in, remove the stale ones."""
    staging = target / journal["staging"]
    if not _INNER_STAGE.match(journal["staging"]):
        raise ValueError(f"{target / JOURNAL} names an unexpected staging folder")
    _checkpoint("move")
    for rel in journal["moves"]:
        source = staging / rel
        if os.path.lexists(source):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target / rel)
    _checkpoint("remove")
    for rel, record in journal["remove"].items():
        if _unchanged(target / rel, record):
            os.unlink(target / rel)
    _checkpoint("finish")
    _fsync(target, directory=True)
    os.unlink(target / JOURNAL)
    shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged(out_dir, kinds, *, overwrite=False, inputs=(), planned=(), info=None):
    """Write a run's files into a staging folder, then publish them into ``out_dir``.

    Parameters
    ----------
    out_dir : path
        The study folder (created if missing).
    kinds : sequence of str
        The kinds of results written ('FIT', 'PARAMETER', 'MODEL').
    overwrite : bool
        Replace files earlier avoidrl runs wrote (and remove stale ones of the
        same kinds).
    inputs : iterable of path
        The run's input files (the folder must not hold them).
    planned : iterable of str
        Files the run will write, checked before anything is written.
    info : dict, optional
        ``avoidrl_version`` and ``seed``, recorded in the manifest.

    Yields
    ------
    Stage
        Write new files under ``stage.path``; call ``stage.describe``.

    Raises
    ------
    FileExistsError, ValueError
        As :func:`check`; nothing is changed then.
    """
    target = check(out_dir, kinds, planned, inputs=inputs, overwrite=overwrite)
    stage = Stage(target, kinds, overwrite, info)
    with terminate_raises():
        try:
            stage.create()
            yield stage
            stage.publish()
        except BaseException as exc:
            if stage.committed:
                with _signals_blocked():
                    if stage.mode == "journal":
                        with contextlib.suppress(FileNotFoundError):
                            recover(target)
                    else:
                        stage.discard_previous()
                exc.avoidrl_written = target
            else:
                stage.discard_staging()
            raise