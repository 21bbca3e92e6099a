"""Tukey HSD p-values: scipy's studentized range distribution, with less around its integral.

``scipy.stats.studentized_range.sf`` integrates a double integral per value
with ``integrate.nquad``: QUADPACK's QAGI over the scale ``s`` in (0, inf),
whose integrand runs QAGI over ``z`` in (-inf, inf) on scipy's compiled
integrand. About 7 ms a value, and a report's post-hoc tests need some 80.
Most of that is the compiled integration, but about a sixth is nquad's and
quad's Python around each of the ~350 inner integrals. :func:`studentized_range_sf`
calls the same QUADPACK routine with the same integrand, limits and
tolerances directly, so its floats are scipy's own: checked once per process
against scipy (any difference, or a SciPy without these private names, and
scipy's public path is used instead).
"""

from __future__ import annotations

import ctypes
import functools

import numpy as np
from scipy import LowLevelCallable
from scipy import stats as _stats

#: nquad's options in scipy's ``studentized_range._cdf``, and quad's default limit
_EPSABS, _EPSREL, _LIMIT = 1e-11, 1e-12, 50
#: From these degrees of freedom on, scipy integrates a one-dimensional asymptotic form.
_ASYMPTOTIC_DF = 100000


def _cdf_by_quadpack(q, k, df):
    """scipy's ``_single_cdf(q, k, df)`` (``df`` below ``_ASYMPTOTIC_DF``), unclipped.

    quad's QAGI arguments: ``(func, bound, infbounds, args, full_output,
    epsabs, epsrel, limit)``; infbounds 1 is (bound, inf), 2 is (-inf, inf).
    """
    from scipy.integrate import _quadpack
    from scipy.stats import _stats as compiled

    user_data = np.array([q, k, df, compiled._studentized_range_cdf_logconst(k, df)], float)
    integrand = LowLevelCallable.from_cython(compiled, "_studentized_range_cdf",
                                             user_data.ctypes.data_as(ctypes.c_void_p))
    qagie = _quadpack._qagie

    def over_z(s):  # nquad's inner integral, at the outer variable s
        return qagie(integrand, 0, 2, (s,), 0, _EPSABS, _EPSREL, _LIMIT)[0]

    return qagie(over_z, 0, 1, (), 0, _EPSABS, _EPSREL, _LIMIT)[0]


@functools.lru_cache(maxsize=None)
def _quadpack_ok():
    """Whether :func:`_cdf_by_quadpack` reproduces this SciPy's values (checked once)."""
    try:
        q, k, df = 2.0, 3, 7
        return 1.0 - np.clip(_cdf_by_quadpack(q, k, df), 0, 1) \
            == _stats.studentized_range.sf(np.array([q]), k, df)[0]
    except Exception:  # noqa: BLE001  (private names of another SciPy: use the public path)
        return False


def studentized_range_sf(q, k, df):
    """``scipy.stats.studentized_range.sf(q, k, df)`` for a 1-d array ``q``: the same floats.

    Parameters
    ----------
    q : array-like, 1-d
        Studentized ranges.
    k, df : int or float
        Number of groups and error degrees of freedom (scalars).

    Returns
    -------
    ndarray
        Upper tail probabilities, as scipy's.
    """
    q = np.asarray(q, dtype=float)
    # scipy integrates only values inside the support (0, inf) with valid shapes;
    # the others (0, inf, NaN, bad k or df) it answers at once: left to it
    inside = (q > 0) & (q < np.inf)
    if not (k > 1 and 0 < df < _ASYMPTOTIC_DF and inside.any() and _quadpack_ok()):
        return _stats.studentized_range.sf(q, k, df)
    out = np.empty(q.shape)
    if not inside.all():
        out[~inside] = _stats.studentized_range.sf(q[~inside], k, df)
    # the shapes as scipy's frompyfunc passes them: Python numbers of their own type
    k, df = np.asarray(k).item(), np.asarray(df).item()
    out[inside] = [1.0 - np.clip(_cdf_by_quadpack(x, k, df), 0, 1) for x in q[inside].tolist()]
    return out


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
    p_values[first, second] = p_values[second, first] = studentized_range_sf(
        statistic[first, second], k, n - k)
    return p_values
