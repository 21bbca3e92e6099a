"""Writing one catalogue entry's files into a run's staging folder.

The one place that knows how each kind of output file is written: a table
(``.csv``, :meth:`DataFrame.to_csv`), a pickle (``.pkl``), a JSON summary
(``.json``, made JSON-safe by :func:`jsonable`) and a figure (named ``.png``
in the catalogue, drawn by :class:`avoidrl.report._figures.FigureWriter` in
every figure format of the run). The writers (:mod:`avoidrl.report._write`)
walk the catalogue (:mod:`avoidrl.report._catalogue`) step by step and hand
each entry to :meth:`Staging.write_entry`; the staging folder is then
published by :mod:`avoidrl.report._folder`.

Entry file names are patterns: ``{model}`` (one file per model, named by
:func:`safe_filename`), ``{label}`` (one per comparison criterion of the
inference method), ``{group}`` (one per group) and ``{separate}`` (one per
model whose two recoveries used different datasets). The run (or, before it
runs, the plan) says what each pattern stands for in ``keys``:
``{pattern: [(file-name part, producer argument), ...]}``.
"""

from __future__ import annotations

import json
import pickle
from collections import namedtuple

import numpy as np

from . import _figures

#: What a figure entry's producer returns: the drawing function and its arguments.
Figure = namedtuple("Figure", "draw args kwargs")


def figure(draw, *args, **kwargs):
    """A figure to draw: ``draw(*args, **kwargs)`` (``draw`` must be module-level)."""
    return Figure(draw, args, kwargs)


def safe_filename(name):
    """``name`` with the characters file systems refuse replaced by ``_``."""
    return "".join(c if c not in '/\\:*?"<>|' else "_" for c in str(name))


def jsonable(value):
    """A JSON-safe copy; other objects become a short description."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > 50:
            return f"<{type(value).__name__} of {len(value)} items>"
        return [jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    text = repr(value)
    return text if len(text) <= 120 else f"<{type(value).__name__}>"


def write_json(path, content):
    """Write ``content`` (made JSON-safe) as indented JSON."""
    path.write_text(json.dumps(jsonable(content), indent=2) + "\n", encoding="utf-8")


def write_pickle(path, content):
    """Pickle ``content`` with the highest protocol."""
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=pickle.HIGHEST_PROTOCOL)


def with_formats(files, formats):
    """``files`` with each figure (named ``.png``) in the figure formats ``formats``."""
    formats = _figures.check_formats(formats)
    return [written for name in files for written in (
        _figures.figure_files(name[:-len(".png")], formats) if name.endswith(".png")
        else [name])]


#: The placeholders of file patterns (one at most per pattern).
PATTERN_KEYS = ("model", "label", "group", "separate")


class Keys:
    """What a run's (or plan's) patterns stand for: ``keys[key]`` is ``run.<key>_keys``.

    Asked only when a pattern names the key, so that a run computes the
    groups of its simulations, say, only when it writes their figures.
    """

    def __init__(self, run):
        self.run = run

    def __getitem__(self, key):
        return getattr(self.run, f"{key}_keys")


def expand(pattern, keys):
    """[(relative path, producer argument or None)] of one file pattern."""
    for key in PATTERN_KEYS:
        if "{" + key + "}" in pattern:
            return [(pattern.replace("{" + key + "}", part), argument)
                    for part, argument in keys[key]]
    return [(pattern, None)]


def entry_files(entries, keys, formats):
    """The files ``entries`` write, figures in ``formats`` (relative paths, in order)."""
    return with_formats([path for entry in entries for pattern in entry.files
                         for path, _ in expand(pattern, keys)], formats)


class Staging:
    """Writes catalogue entries into the staging folder ``folder``.

    Parameters
    ----------
    folder : Path
        The run's staging folder.
    figures : FigureWriter
        Draws the figures (in the run's formats).
    """

    def __init__(self, folder, figures):
        self.folder = folder
        self.figures = figures
        #: {entry: [relative paths written]}, in the order written
        self.written = {}

    def write_entry(self, entry, run, only=None):
        """Write the files of ``entry`` for ``run``; ``only``: the one producer argument."""
        producers = entry.producer if isinstance(entry.producer, tuple) else \
            (entry.producer,) * len(entry.files)  # one producer per file, or one for all
        for pattern, producer in zip(entry.files, producers):
            for path, argument in expand(pattern, run.keys):
                if only is not None and argument != only:
                    continue
                content = producer(run) if argument is None else producer(run, argument)
                self.write(path, content, index=entry.index)
                self.written.setdefault(entry, []).extend(
                    with_formats([path], self.figures.formats))

    def write(self, path, content, index=False):
        """Write ``content`` as the file ``path`` (relative), by its suffix."""
        target = self.folder / path
        if path.endswith(".png"):  # a figure, in each of the run's formats
            self.figures.add(path[:-len(".png")], content.draw, *content.args,
                             **content.kwargs)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.endswith(".csv"):
            content.to_csv(target, index=index)
        elif path.endswith(".pkl"):
            write_pickle(target, content)
        elif path.endswith(".json"):
            write_json(target, content)
        else:  # pragma: no cover - the catalogue names only these
            raise ValueError(f"no writer for {path!r}")

    def files_of(self, entries):
        """The files written for ``entries``."""
        return [path for entry in entries for path in self.written.get(entry, [])]


def notify(progress, message):
    """Tell ``progress`` (a callable, or None) what happens next."""
    if progress is not None and message:
        progress(message)


def write_steps(entries, run, steps, staging, progress):
    """Write ``entries`` step by step, telling ``progress`` each step's message.

    ``steps`` are the catalogue's progress messages in the order of writing;
    within a step the entries are written in catalogue order, those whose
    condition ``when`` (a run attribute, asked at the step) holds. A step whose
    message names ``{label}`` is repeated for each comparison criterion of
    the run (its other entries follow, under the last message); a step with
    no entries to write says nothing.
    """
    for step in steps:
        chosen = [entry for entry in entries if entry.step == step and entry.files
                  and (entry.when is None or getattr(run, entry.when))]
        if not chosen:
            continue
        if "{label}" not in step:
            notify(progress, step)
            for entry in chosen:
                staging.write_entry(entry, run)
            continue
        per_label = [entry for entry in chosen
                     if any("{label}" in pattern for pattern in entry.files)]
        for label, _ in run.keys["label"]:
            notify(progress, step.format(label=label))
            for entry in per_label:
                staging.write_entry(entry, run, only=label)
        for entry in chosen:
            if entry not in per_label:
                staging.write_entry(entry, run)
