"""Calibration of a parameter recovery: interval coverage and cross-parameter correlations.

What a reviewer asks after r (Wilson & Collins 2019): do the fits' intervals
cover the true values as often as they claim, and which parameters trade off?
Read through the fitted-model protocol (``params_ci_``), so it works for
every inference method. Below :mod:`._parameter`, which sets ``coverage_``
and ``correlation_matrix_`` from these.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: The level of every method's ``params_ci_`` (95 % intervals), the nominal coverage.
NOMINAL_LEVEL = 0.95
#: The level of the Clopper-Pearson interval of a measured coverage.
COVERAGE_INTERVAL_LEVEL = 0.95
#: Most posterior draws a simulation-based-calibration rank is counted among.
SBC_DRAWS = 99
#: The columns of ``coverage_``.
COVERAGE_COLUMNS = ["nominal", "n", "n_inside", "coverage", "lower", "upper",
                    "n_without_interval"]
#: Share of the true values in each tail of ``coverage_by_position_``.
TAIL_SHARE = 0.1
#: The positions of ``coverage_by_position_``, in order.
POSITIONS = ("lower tail", "middle", "upper tail")


def clopper_pearson(k, n, level=COVERAGE_INTERVAL_LEVEL):
    """Exact (Clopper-Pearson) interval of a share ``k / n``; NaN for n = 0."""
    if not n:
        return np.nan, np.nan
    tail = (1 - level) / 2
    lower = stats.beta.ppf(tail, k, n - k + 1) if k > 0 else 0.0
    upper = stats.beta.ppf(1 - tail, k + 1, n - k) if k < n else 1.0
    return float(lower), float(upper)


def coverage_table(true_params, intervals, nominal=NOMINAL_LEVEL):
    """Per parameter, how often the fits' intervals contain the true value.

    Parameters
    ----------
    true_params : DataFrame
        Datasets x parameters, the generating values.
    intervals : DataFrame
        ``params_ci_`` of the fits, indexed by (dataset id, parameter), with
        ``lower``, ``upper`` and ``status``.
    nominal : float
        The intervals' level.

    Returns
    -------
    DataFrame indexed by parameter, columns :data:`COVERAGE_COLUMNS`. Rows
    without a finite interval (Wald intervals of estimates on a bound or not
    identified) are counted in ``n_without_interval``, not in ``n``; profile
    intervals and posterior intervals exist for every estimate.
    """
    rows = {}
    for parameter in true_params.columns:
        part = intervals.xs(parameter, level="parameter").reindex(true_params.index)
        true = true_params[parameter].to_numpy(float)
        lower = part["lower"].to_numpy(float)
        upper = part["upper"].to_numpy(float)
        has = np.isfinite(lower) & np.isfinite(upper)
        n = int(has.sum())
        inside = int(((lower <= true) & (true <= upper) & has).sum())
        low, high = clopper_pearson(inside, n)
        rows[parameter] = {"nominal": nominal, "n": n, "n_inside": inside,
                           "coverage": inside / n if n else np.nan, "lower": low,
                           "upper": high, "n_without_interval": len(true) - n}
    table = pd.DataFrame.from_dict(rows, orient="index", columns=COVERAGE_COLUMNS)
    table.index.name = "parameter"
    return table


def coverage_by_position(true_params, intervals, nominal=NOMINAL_LEVEL, tail=TAIL_SHARE):
    """Coverage split by where the true value lies among the true values.

    A coverage near the nominal level can hide intervals that miss many of
    the extreme true values: a shrinkage estimator (empirical or full Bayes)
    pulls them toward the population, and the middle makes up for them.
    Each parameter's true values are ranked (ties share their mean rank, so
    equal values share a position): the lowest ``tail`` share is the 'lower
    tail', the highest the 'upper tail', the rest the 'middle'.

    Parameters
    ----------
    true_params : DataFrame
        Datasets x parameters, the generating values.
    intervals : DataFrame
        ``params_ci_`` of the fits, as for :func:`coverage_table`.
    nominal : float
        The intervals' level.
    tail : float
        Share of the true values in each tail, in (0, 0.5).

    Returns
    -------
    DataFrame indexed by (parameter, position), positions in
    :data:`POSITIONS` order, columns ``min_true`` and ``max_true`` (the range
    of true values in the position) then :data:`COVERAGE_COLUMNS`, counted as
    :func:`coverage_table` counts.
    """
    if not 0 < tail < 0.5:
        raise ValueError(f"tail must be a share in (0, 0.5), got {tail!r}")
    parts = []
    for parameter in true_params.columns:
        true = true_params[parameter]
        # mid-rank shares, (rank - 1/2) / n: the tails are the same size at both ends
        share = (true.rank(method="average").to_numpy() - 0.5) / len(true)
        masks = (share < tail, (share >= tail) & (share <= 1 - tail), share > 1 - tail)
        for position, mask in zip(POSITIONS, masks):
            table = coverage_table(true_params.loc[mask, [parameter]], intervals, nominal)
            table.insert(0, "position", position)
            table.insert(1, "min_true", true[mask].min() if mask.any() else np.nan)
            table.insert(2, "max_true", true[mask].max() if mask.any() else np.nan)
            parts.append(table)
    return pd.concat(parts).set_index("position", append=True)


def pooled_tails(by_position):
    """Per parameter, ``n`` and ``n_inside`` of both tails of a :func:`coverage_by_position` table."""
    tails = by_position.drop(index="middle", level="position")
    return tails.groupby(level="parameter", sort=False)[["n", "n_inside"]].sum()


def pearson(a, b):
    """Pearson r of two samples; NaN when either has no variance."""
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


def cross_correlations(true_params, fitted_params):
    """Pearson r of every true parameter with every fitted one (rows true, columns fitted).

    The diagonal is each parameter's recovery r; an off-diagonal cell far
    from 0 is a trade-off: the fit moves one parameter when another is what
    changed.
    """
    fitted = fitted_params.reindex(true_params.index)
    matrix = pd.DataFrame(
        [[pearson(true_params[t], fitted[f]) for f in fitted.columns]
         for t in true_params.columns],
        index=pd.Index(true_params.columns, name="true"),
        columns=pd.Index(fitted.columns, name="fitted"))
    return matrix


def sbc_ranks(fit, true_params, n_draws=SBC_DRAWS):
    """Simulation-based-calibration ranks of the true values among a fit's posterior draws.

    Talts et al. (2018): when the generating parameters are drawn from the
    fitted model's prior and the sampler is correct, the rank of each true
    value among L posterior draws is uniform on 0..L. The draws are
    ``fit.draws_`` (chains x draws x participants x k), chains one after
    another, thinned evenly to at most ``n_draws`` (thinning reduces their
    autocorrelation, which makes ranks pile up at the ends).

    Parameters
    ----------
    fit : fitted estimator with ``draws_`` (HierarchicalBayes)
    true_params : DataFrame
        The generating values, indexed like ``fit.params_`` (datasets x parameters).
    n_draws : int
        L at most.

    Returns
    -------
    DataFrame
        Datasets x parameters, the ranks (int, 0..L); ``attrs['n_draws']`` = L.
    """
    flat = fit.draws_.reshape(-1, *fit.draws_.shape[2:])
    keep = np.unique(np.linspace(0, len(flat) - 1, min(n_draws, len(flat))).astype(int))
    draws = flat[keep]                                               # (L, n, k)
    true = true_params.reindex(index=fit.params_.index,
                               columns=fit.params_.columns).to_numpy(float)
    ranks = pd.DataFrame((draws < true[None]).sum(axis=0), index=fit.params_.index,
                         columns=fit.params_.columns)
    ranks.attrs["n_draws"] = int(len(keep))
    return ranks
