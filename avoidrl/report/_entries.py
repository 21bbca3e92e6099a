"""The catalogue's vocabulary: its rows (:class:`Entry`), kinds of run, methods and steps.

Below :mod:`avoidrl.report._catalogue` (the FIT and VALIDATION catalogues) and
the method-specific rows kept beside it (:mod:`avoidrl.report._catalogue_bayes`):
what a row is, which rows a run shows and writes (:func:`select`,
:func:`shown`, :func:`written`), and the writers' progress steps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

#: The inference-method labels of the entries that apply to one method only.
ML, EB, BAYES = ("ml",), ("eb",), ("bayes",)
#: The kinds of run that can share a folder (the suffixes of ``fit_data_*.pkl``).
FIT_KIND, PARAMETER_KIND, MODEL_KIND = "FIT", "PARAMETER", "MODEL"
VALIDATION_KINDS = (PARAMETER_KIND, MODEL_KIND)


@dataclass(frozen=True)
class Entry:
    """One row of a folder's README.md and the files it stands for."""

    #: The README's file column (a template); None: ``readme`` is a paragraph
    name: Optional[str]
    #: The README's content column (a template); None: ``name`` is the whole row
    readme: Optional[str]
    #: The kinds of run whose folder section lists it
    runs: tuple
    #: The inference methods it applies to (None: all)
    methods: Optional[tuple] = None
    #: The files written: path patterns, figures named ``.png``
    files: tuple = ()
    #: ``producer(run)`` or ``producer(run, argument)`` (patterns): the content
    producer: Optional[Callable] = None
    #: The progress step that writes it (the writers' order of steps)
    step: Optional[str] = None
    #: Tables: write the DataFrame's index too
    index: bool = False
    #: The name of a run attribute that must be true for the files to be written
    when: Optional[str] = None
    #: None: any estimators; True: only a mix of methods; False: only one method
    mixed: Optional[bool] = None
    #: Leave the row out of the README when ``when`` fails (else it is shown)
    row_needs_files: bool = False


def applies(entry, methods):
    """Whether ``entry`` applies to a run whose estimators use ``methods`` (labels)."""
    methods = set(methods)
    if entry.methods is not None and not methods & set(entry.methods):
        return False
    return entry.mixed is None or entry.mixed == (len(methods) > 1)


def select(catalogue, kind, methods):
    """The entries of ``catalogue`` a run of ``kind`` with ``methods`` shows, in order."""
    return [entry for entry in catalogue if kind in entry.runs and applies(entry, methods)]


def shown(entries, run):
    """The entries of ``entries`` whose README row ``run`` shows."""
    return [entry for entry in entries
            if not entry.row_needs_files or getattr(run, entry.when)]


def written(entries, run):
    """The entries that write files in ``run`` (their condition holds)."""
    return [entry for entry in entries
            if entry.files and (entry.when is None or getattr(run, entry.when))]


def FIT(name, readme, **fields):
    return Entry(name, readme, (FIT_KIND,), **fields)


def PARAMETER(name, readme, **fields):
    return Entry(name, readme, (PARAMETER_KIND,), **fields)


def MODEL(name, readme, **fields):
    return Entry(name, readme, (MODEL_KIND,), **fields)


# ----------------------------------------------------------- progress steps
# The writers write the entries step by step, in these orders, and tell the
# ``progress`` callback each step's message.
TABLES = "writing fit tables"
COMPARE = "comparing models by {label}"
CHECK = "checking the fits (distributions, starts, parameters on bounds)"
DESCRIBE = "describing and testing parameters"
EVIDENCE = "writing intervals and model evidence"
BMS = "comparing models by random-effects Bayesian model selection"
POSTERIOR = "simulating the fitted models (posterior predictive)"
REPLAY = "replaying the fitted models (prediction errors and values)"
TRANSFER = "refitting the learning phase alone to predict the transfer phase"
SUMMARY = "writing the summary"
FIT_STEPS = (TABLES, COMPARE, CHECK, DESCRIBE, EVIDENCE, BMS, POSTERIOR, REPLAY, TRANSFER,
             SUMMARY)
PARAMETER_STEP = "writing parameter recovery"
MODEL_STEP = "writing model recovery"
GENERATED = "writing the generated data"
SUMMARIES = ""  # the summaries of a VALIDATION, without a message of their own
VALIDATION_STEPS = (PARAMETER_STEP, MODEL_STEP, GENERATED, SUMMARIES)
