"""A study folder's manifest, its README, and what a run may write there.

The ownership rules of :mod:`avoidrl.report._folder` (standard library only):
the manifest ``.avoidrl-manifest.json`` records, per kind of run, the files
avoidrl wrote with their size and SHA-256 and the run's README section;
:func:`_classify` decides whether a run may write a file (new, the same
bytes, replacing an unchanged avoidrl file, or refused), and the checks
refuse an output folder that is not a folder, cannot be created, or holds
the run's input files. Publishing itself is in :mod:`avoidrl.report._folder`.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

from ._atomic import _record, _unchanged, _write_json

MANIFEST = ".avoidrl-manifest.json"
JOURNAL = ".avoidrl-journal.json"
INDEX = "README.md"
#: Kinds of runs, in the order their sections appear in README.md.
KINDS = ("FIT", "PARAMETER", "MODEL")
MANIFEST_FORMAT = 1
#: The named steps of publishing, in order; tests inject failures at each.
_INNER_STAGE = re.compile(r"^\.avoidrl-stage-(\d+)-[0-9a-f]{8}$")
_INDEX_HEADER = """\
# avoidrl study folder

Written by avoidrl. This folder holds the results of one study: a FIT (fit_data_FIT.pkl,
summary_FIT.json, ...) and the VALIDATION runs, parameter recovery (fit_data_PARAMETER.pkl,
summary_PARAMETER.json, ...) and model recovery (fit_data_MODEL.pkl, summary_MODEL.json, ...),
side by side, with the reference's `RL/modelling` file names. Each kind of run has its section
below; this README is rewritten by every run.

`.avoidrl-manifest.json` records which files avoidrl wrote (with their SHA-256), by kind. A run
adds its files; it replaces files only with overwrite (`--overwrite`), and only files avoidrl
wrote and nobody changed since. Files of your own are never replaced or removed, even with
overwrite. With overwrite, files an earlier run of the same kind wrote and this run does not
write any more are removed (if unchanged). Every run records its seed in its summary.
"""


def read_manifest(target):
    """The folder's manifest (an empty one if it has none or it is unreadable)."""
    empty = {"format": MANIFEST_FORMAT, "runs": {}, "index": None}
    path = Path(target) / MANIFEST
    if not path.is_file() or path.is_symlink():
        return empty
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(content, dict) or not isinstance(content.get("runs"), dict):
            raise ValueError("not a manifest")
    except (OSError, ValueError):
        warnings.warn(f"{path} is not a readable avoidrl manifest; every file in the folder "
                      "is treated as the user's", stacklevel=3)
        return empty
    content.setdefault("index", None)
    return content


def _owners(manifest, rel):
    return [kind for kind, run in manifest["runs"].items() if rel in run.get("files", {})]


def _classify(target, manifest, rel, kinds, overwrite, new_path=None):
    """How the run may write ``rel``: 'new', 'same', 'replace' or a refusal message."""
    path = target / rel
    parts = rel.split("/")
    for depth in range(1, len(parts)):
        parent = target.joinpath(*parts[:depth])
        if os.path.lexists(parent) and (parent.is_symlink() or not parent.is_dir()):
            return f"{'/'.join(parts[:depth])} is not a folder (it is in the way of {rel})"
    if not os.path.lexists(path):
        return "new"
    if path.is_symlink() or not path.is_file():
        return f"{rel} exists and is not a regular file"
    if rel == INDEX:
        record = manifest.get("index")
        if not record:
            return (f"{rel} is not avoidrl's (the manifest does not list it); move or rename "
                    "it, avoidrl writes the folder's README.md")
        if not _unchanged(path, record):
            return (f"{rel} was changed since avoidrl wrote it; move or rename it, avoidrl "
                    "rewrites the folder's README.md")
        return "replace"
    owners = _owners(manifest, rel)
    if not owners:
        return (f"{rel} is not avoidrl's (not in the folder's manifest); it is never replaced, "
                "even with overwrite: move or rename it, or choose another folder")
    record = manifest["runs"][owners[0]]["files"][rel]
    if not _unchanged(path, record):
        return (f"{rel} was changed since avoidrl wrote it; it is never replaced, even with "
                "overwrite: move or rename it, or choose another folder")
    if new_path is not None and _record(new_path) == {"size": record.get("size"),
                                                      "sha256": record.get("sha256")}:
        return "same"
    if overwrite:
        return "replace"
    if new_path is None and not set(owners) & set(kinds):
        return "same"  # written by another kind: compared by content when publishing
    return (f"{rel} was written by an earlier avoidrl {'/'.join(owners)} run; pass overwrite "
            "(--overwrite; overwrite=True in Python) to replace it")


def _refuse(target, problems):
    if problems:
        shown = "; ".join(problems[:8]) + (f"; and {len(problems) - 8} more"
                                           if len(problems) > 8 else "")
        raise FileExistsError(f"output folder '{target}': {shown}")


# ---------------------------------------------------------------- checking
def _target(out_dir):
    target = Path(os.fspath(out_dir)).expanduser().absolute()
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise FileExistsError(f"{target} exists and is not a plain folder (a file or a "
                              "symbolic link); choose another out_dir")
    return target


def _check_inputs(target, inputs):
    """Refuse an output folder that holds one of the run's input files."""
    paths = [Path(os.fspath(p)).expanduser() for p in inputs
             if isinstance(p, (str, os.PathLike))]
    paths = [p for p in paths if p.exists()]
    if not paths:
        return
    resolved = target.resolve()
    identities = {}
    for path in paths:
        info = path.stat()
        identities[(info.st_dev, info.st_ino)] = path
        if path.resolve().is_relative_to(resolved):
            raise ValueError(f"the output folder '{target}' holds the input file '{path}'; "
                             "write the results to another folder")
    if target.is_dir():
        for root, _, names in os.walk(target):
            for name in names:
                try:
                    info = os.stat(os.path.join(root, name))
                except OSError:
                    continue
                if (info.st_dev, info.st_ino) in identities:
                    raise ValueError(
                        f"the output folder '{target}' holds the input file "
                        f"'{identities[info.st_dev, info.st_ino]}' (as "
                        f"'{os.path.join(root, name)}'); write the results to another folder")


def _check_parent(target):
    parent = target.parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise NotADirectoryError(f"cannot create output folder '{target}': '{parent}' is not "
                                 "a folder")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot create output folder '{target}': no permission to "
                              f"write in '{parent}'")


def write_index_and_manifest(folder, manifest):
    """Write README.md (every kind's section) and the manifest ``manifest`` into ``folder``."""
    parts = [_INDEX_HEADER]
    for kind, run in manifest["runs"].items():
        # no time stamp here, so that the same run gives the same bytes
        parts.append(f"## {kind}\n\nWritten by avoidrl {run.get('avoidrl_version')} "
                     f"with seed {run.get('seed')}.\n\n{run.get('readme', '').strip()}\n")
    index = folder / INDEX
    index.write_text("\n".join(parts), encoding="utf-8")
    manifest["index"] = _record(index)
    _write_json(folder / MANIFEST, manifest)
