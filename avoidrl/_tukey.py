"""Tukey HSD p-values of every pair of groups, each pair's studentized range integrated once.

``scipy.stats.tukey_hsd`` integrates the studentized range distribution (a
double integral, milliseconds a value) for both orders of every pair; a
report's post-hoc tests run it for every parameter of every model.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats


def tukey_p_values(samples):
    """``scipy.stats.tukey_hsd(*samples).pvalue``, each pair's p-value computed once.

    tukey_hsd integrates the studentized range distribution (milliseconds
    each) for both orders of every pair; a report runs it for every
    parameter of every model. The same statistic as scipy's (equal
    variances), the same floats; the diagonal is NaN (never read).
    """
    sizes = np.array([len(sample) for sample in samples])
    means = np.array([np.mean(sample) for sample in samples])
    variances = np.array([np.var(sample, ddof=1) for sample in samples])
    k, n = len(samples), sizes.sum()
    mse = np.sum(variances * (sizes - 1)) / (n - k)
    normalize = (2 / sizes[0] if np.unique(sizes).size == 1
                 else 1 / sizes + 1 / sizes[None].T)
    statistic = np.abs(means[None].T - means) / np.sqrt(normalize * mse / 2)
    first, second = np.triu_indices(k, 1)
    p_values = np.full((k, k), np.nan)
    p_values[first, second] = p_values[second, first] = _stats.studentized_range.sf(
        statistic[first, second], k, n - k)
    return p_values
