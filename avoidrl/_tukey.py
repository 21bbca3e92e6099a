"""Tukey HSD p-values of every pair of groups, from a fixed quadrature of the studentized range.

``scipy.stats.studentized_range.sf`` integrates a double integral adaptively
for each value (about 7 ms; a report's post-hoc tests need some 80, half a
second of its critical path). The studentized range of ``k`` groups with
``df`` error degrees of freedom has the distribution function

    P(Q <= q) = integral over s > 0 of  f_df(s) * R_k(q s) ds,
    R_k(w) = k * integral over z of  phi(z) * (Phi(z) - Phi(z - w))**(k - 1) dz,

with ``f_df`` the density of sqrt(chi2_df / df) and ``phi``, ``Phi`` the
standard normal density and distribution. :func:`studentized_range_sf`
evaluates both integrals with fixed Gauss-Legendre rules, all values at once.
It is used where it was checked against scipy (``tests/report/test_tukey.py``:
within 1e-12 for 2-10 groups, integer df from 2 to 1000, q up to 12; scipy's
own integration asks for 1e-11); elsewhere scipy's function runs.
"""

from __future__ import annotations

import numpy as np
from scipy import special
from scipy import stats as _stats

#: Where the quadrature was checked against scipy (else scipy's function runs).
MIN_DF, MAX_GROUPS, MAX_DF, MAX_Q = 2, 10, 1000, 12.0
_Z_NODES, _Z_WEIGHTS = (9.0 * part for part in np.polynomial.legendre.leggauss(96))
_PHI = np.exp(-0.5 * _Z_NODES ** 2) / np.sqrt(2 * np.pi)
_PHI_CDF = special.ndtr(_Z_NODES)
_S_NODES, _S_WEIGHTS = np.polynomial.legendre.leggauss(64)
_S_PANELS = 8


def _range_cdf(w, k):
    """P(range of ``k`` standard normals <= w), for an array ``w``."""
    inside = np.clip(_PHI_CDF - special.ndtr(_Z_NODES - w[..., None]), 0.0, 1.0)
    return k * (_PHI * inside ** (k - 1)) @ _Z_WEIGHTS


def _studentized_range_cdf(q, k, df):
    """P(Q <= q) for an array ``q`` (inside the checked domain)."""
    log_norm = (df / 2) * np.log(df) - special.gammaln(df / 2) - (df / 2 - 1) * np.log(2)
    # the density of s peaks at 1 with sd 1/sqrt(2 df), and has a long right tail at small df
    top = max(1 + 12 / np.sqrt(2 * df), np.sqrt(80 / df))
    edges = np.linspace(0.0, top, _S_PANELS + 1)
    total = np.zeros(len(q))
    for low, high in zip(edges[:-1], edges[1:]):
        s = 0.5 * (high - low) * _S_NODES + 0.5 * (high + low)
        weight = 0.5 * (high - low) * _S_WEIGHTS * np.exp(
            log_norm + (df - 1) * np.log(s) - df * s * s / 2)
        total += _range_cdf(q[:, None] * s, k) @ weight
    return total


def studentized_range_sf(q, k, df):
    """The studentized range's upper tail ``P(Q > q)`` for a 1-d array ``q``.

    Within 1e-12 of ``scipy.stats.studentized_range.sf`` (see the module
    docstring), which answers outside :data:`MAX_GROUPS`, :data:`MIN_DF` to
    :data:`MAX_DF`, :data:`MAX_Q`, for non-integer ``df`` and for values it does not
    integrate (0, negative, inf, NaN).
    """
    q = np.asarray(q, dtype=float)
    checked = 2 <= k <= MAX_GROUPS and MIN_DF <= df <= MAX_DF and float(df).is_integer()
    inside = (q > 0) & (q <= MAX_Q) if checked else np.zeros(q.shape, dtype=bool)
    out = np.empty(q.shape)
    if (~inside).any():
        out[~inside] = _stats.studentized_range.sf(q[~inside], k, df)
    if inside.any():
        out[inside] = 1.0 - np.clip(_studentized_range_cdf(q[inside], int(k), float(df)), 0, 1)
    return out


def tukey_p_values(samples):
    """Tukey HSD p-values of every pair of ``samples`` (equal variances, as scipy's tukey_hsd).

    Each pair's studentized range is evaluated once (tukey_hsd integrates both
    orders), all pairs together; the diagonal is NaN (never read).
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
    p_values[first, second] = p_values[second, first] = studentized_range_sf(
        statistic[first, second], k, n - k)
    return p_values
