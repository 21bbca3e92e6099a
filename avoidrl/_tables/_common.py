"""Helpers shared by the table families of :mod:`avoidrl._tables`.

The 95 % t interval of a mean, the number of free parameters of a fit and
the file-name stems of per-group files: small pieces that more than one
family (and :mod:`avoidrl.plotting` / :mod:`avoidrl.report._write`) use.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from scipy import stats as _stats


def _t_ci(values):
    """Half-width of the two-sided 95 % t confidence interval of a mean."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return np.nan
    return float(_stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


def _n_parameters(estimator):
    """k, the number of free parameters (an EB fit's: its params_ columns)."""
    k = getattr(estimator, "n_parameters", None)
    return int(k) if k is not None else int(len(estimator.params_.columns))


def _group_filenames(groups):
    """{group: file-name stem} for per-group files, unique in a case-insensitive file system.

    Spaces and every character other than ASCII letters, digits, ``-`` and
    ``_`` are removed, after accents are taken off ('no pain' -> 'nopain',
    'aiguë' -> 'aigue'); a name left empty becomes 'group'. When two groups
    give the same name, the later ones get ``_2``, ``_3``, ...
    """
    stems, used = {}, set()
    for group in groups:
        text = unicodedata.normalize("NFKD", str(group))
        base = re.sub(r"[^A-Za-z0-9_-]", "", text) or "group"
        stem, k = base, 2
        while stem.lower() in used:
            stem, k = f"{base}_{k}", k + 1
        used.add(stem.lower())
        stems[group] = stem
    return stems
