"""Helpers shared by the table families of :mod:`avoidrl._tables`.

The 95 % t interval of a mean, the number of free parameters of a fit and
the file-name stems of per-group files: small pieces that more than one
family (and :mod:`avoidrl.plotting` / :mod:`avoidrl.report._write`) use.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import numpy as np
from scipy import stats as _stats


#: Longest file-name stem made from a group code (the rest of a file name is short).
GROUP_STEM_LENGTH = 40


def _t_ci(values):
    """Half-width of the two-sided 95 % t confidence interval of a mean."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return np.nan
    return float(_stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


def _t_cis(rows):
    """The 95 % t-CI half-width of each array of ``rows`` (as :func:`_t_ci`), at once.

    (A figure has hundreds of rows; scipy's per-call overhead was most of the cost.)
    """
    rows = [np.asarray(v, dtype=float) for v in rows]
    rows = [v[np.isfinite(v)] for v in rows]
    n = np.array([len(v) for v in rows], dtype=float)
    sd = np.array([v.std(ddof=1) if len(v) >= 2 else np.nan for v in rows])
    some = n >= 2
    quantile = np.full(len(rows), np.nan)
    quantile[some] = _stats.t.ppf(0.975, n[some] - 1)
    return np.where(some, quantile * sd / np.sqrt(n), np.nan)


def _n_parameters(estimator):
    """k, the number of free parameters (an EB fit's: its params_ columns)."""
    k = getattr(estimator, "n_parameters", None)
    return int(k) if k is not None else int(len(estimator.params_.columns))


def _group_filenames(groups):
    """{group: file-name stem} for per-group files, unique in a case-insensitive file system.

    Spaces and every character other than ASCII letters, digits, ``-`` and
    ``_`` are removed, after accents are taken off ('no pain' -> 'nopain',
    'aiguë' -> 'aigue'); a name left empty becomes 'group'. A name longer
    than :data:`GROUP_STEM_LENGTH` characters keeps its start and ends with
    the first 8 hex digits of the code's SHA-256 (file names have a length
    limit). When two groups give the same name, the later ones get ``_2``,
    ``_3``, ...
    """
    stems, used = {}, set()
    for group in groups:
        text = unicodedata.normalize("NFKD", str(group))
        base = re.sub(r"[^A-Za-z0-9_-]", "", text) or "group"
        if len(base) > GROUP_STEM_LENGTH:
            digest = hashlib.sha256(str(group).encode("utf-8")).hexdigest()[:8]
            base = f"{base[:GROUP_STEM_LENGTH - 9]}-{digest}"
        stem, k = base, 2
        while stem.lower() in used:
            stem, k = f"{base}_{k}", k + 1
        used.add(stem.lower())
        stems[group] = stem
    return stems
