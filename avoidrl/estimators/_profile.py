"""Profile-likelihood intervals of maximum-likelihood estimates.

The alternative to the Wald intervals of :mod:`._intervals` (``intervals=
'profile'``). A parameter's 95 % profile interval holds every value ``v``
whose profile NLL -- the NLL minimised over the other parameters with this one
fixed at ``v`` -- lies within ``chi2_1(0.95) / 2 = 1.92`` of the minimum (the
likelihood-ratio test's acceptance region). It needs no quadratic
approximation, so it stays honest where the likelihood is skewed, flat towards
a bound, or kinked (the hybrids' L1-normalised actor: their Wald intervals
cover the truth half of the time), and estimates on a bound get an interval
too.

Every profile point is a bounded descent with one coordinate fixed, and all of
them -- participants x parameters x the two sides -- run as one batch per step
of the search (:func:`avoidrl._core.optimize.minimize_lbfgsb_batch`). Each side
walks outward from the estimate in z by geometric steps (:data:`WALK_STEPS`),
every profile point descending from the previous point's optimum, from the
estimate and from the fit's other local optima (:func:`local_optima`), until
the profile rises :data:`STOP_RISE` above the minimum or the walk reaches the
bound; the outermost point inside the region is then refined against its outer
neighbour by :data:`BISECTIONS` halvings. A cut other than 1.92 per parameter
(``cut``) gives the calibrated intervals of :func:`._intervals.calibrated_cut`,
whose bootstrap computes its likelihood ratios with :func:`profile_at`.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import chi2

from .._core.likelihood import Objective
from .._core.transform import Z_LIMIT, to_bounded, to_unbounded
from ._multistart import _descend

#: distances from the estimate (in z) of the walk's points: geometric, so the
#: first points resolve a narrow interval and ten more reach any bound
WALK_STEPS = 0.1 * 1.6 ** np.arange(14)
#: a side stops walking once its profile is this far (NLL) above the minimum:
#: the region's edge is passed, and a second region beyond such a ridge is
#: not looked for
STOP_RISE = 8.0
#: halvings of the last bracket (the endpoint is then within 1/64 of a step)
BISECTIONS = 6
#: other local optima of a participant's fit that every profile point also
#: descends from: at most this many, the lowest, at least OPTIMA_DISTANCE apart
#: (in z, largest coordinate) from the estimate and from each other, and
#: within STOP_RISE of the estimate's NLL
PROFILE_OPTIMA = 3
OPTIMA_DISTANCE = 0.25


def local_optima(ends, values, best, low, high):
    """The other local optima of one participant's multi-start fit, as profile anchors.

    ``ends`` (m, k) and ``values`` (m,) are the ends of its starts and their
    NLLs, ``best`` the estimate. Returns at most :data:`PROFILE_OPTIMA` ends,
    lowest first, that lie within :data:`STOP_RISE` of the lowest NLL and at
    least :data:`OPTIMA_DISTANCE` (z, largest coordinate) from the estimate
    and from each other; shape (m', k).
    """
    z = np.clip(to_unbounded(ends, low, high), -Z_LIMIT, Z_LIMIT)
    kept = [np.clip(to_unbounded(best, low, high), -Z_LIMIT, Z_LIMIT)]
    chosen = []
    finite = np.isfinite(values)
    if not finite.any():
        return np.empty((0, len(low)))
    for i in np.argsort(np.where(finite, values, np.inf)):
        if not finite[i] or values[i] > values[finite].min() + STOP_RISE \
                or len(chosen) == PROFILE_OPTIMA:
            break
        if min(np.abs(z[i] - other).max() for other in kept) >= OPTIMA_DISTANCE:
            kept.append(z[i])
            chosen.append(ends[i])
    return np.array(chosen).reshape(-1, len(low))


def _descend_fixed(objective, x0, owner, box, column, exact, options):
    """Minimise the NLL of each row over all parameters but ``column[row]`` (held at x0).

    Returns ``(x, nll)``: the multi-start's own descent (a descent that ends
    above its start keeps the start), with that coordinate's bounds closed
    on its value, which fixes it.
    """
    bounds = np.repeat(box[None, :, :], len(x0), axis=0)
    rows = np.arange(len(x0))
    bounds[rows, column, 0] = bounds[rows, column, 1] = x0[rows, column]
    _, x, nll, _ = _descend(objective, x0, owner, bounds, options, None, exact)
    return x, nll


def _best_descent(objective, value, previous, anchors, owner, column, box, exact, options):
    """The profile at ``value`` of each problem: the best descent over its starts.

    Each problem descends from ``previous`` (its last profile optimum) and
    from every one of its participant's anchors (the estimate and other
    local optima of the fit; ``anchors = (points, first, count)`` with
    participant ``i``'s at ``points[first[i]:first[i] + count[i]]``), its own
    coordinate set to ``value``. Returns ``(x, nll)`` of the lowest end per
    problem.
    """
    points, first, count = anchors
    m = len(owner)
    per = count[owner] + 1
    problem = np.repeat(np.arange(m), per)
    # position of each start within its problem: 0 = previous, j >= 1 = anchor j - 1
    position = np.arange(problem.size) - np.repeat(np.cumsum(per) - per, per)
    anchor = first[owner[problem]] + np.maximum(position - 1, 0)
    starts = np.where((position == 0)[:, None], previous[problem], points[anchor])
    starts[np.arange(problem.size), column[problem]] = value[problem]
    x, nll = _descend_fixed(objective, starts, owner[problem], box, column[problem], exact,
                            options)
    order = np.lexsort((nll, problem))  # by problem, then NLL: each problem's best first
    best = order[np.cumsum(per) - per]
    return x[best], nll[best]


def _anchors(params, optima):
    """``(points, first, count)``: each participant's estimate and other local optima."""
    listed = [np.vstack([params[i][None, :]] + ([] if optima is None else [optima[i]]))
              for i in range(len(params))]
    count = np.array([len(a) for a in listed])
    return np.concatenate(listed), np.cumsum(count) - count, count


def profile_at(variant, data, params, bounds, at, *, optima=None, exact=True, options=None):
    """Each parameter's profile at ``at``: ``(x, nll)`` of shapes (n, k, k) and (n, k).

    Entry ``(i, j)`` of ``nll`` is participant ``i``'s NLL minimised over
    the other parameters with parameter ``j`` held at ``at[i, j]``; ``x[i, j]``
    is where that descent ended. Minus the participant's minimum NLL, this is
    the likelihood ratio a profile interval compares with its cut; a value
    below the fitted NLL is an optimum the fit missed. The descents start
    from the estimate ``params[i]``, its other local optima ``optima[i]`` and
    ``at[i]`` itself.
    """
    names = list(variant.parameter_names)
    box = np.array([bounds[p] for p in names], dtype=float)
    params = np.asarray(params, dtype=float)
    at = np.asarray(at, dtype=float)
    n, k = params.shape
    owner = np.repeat(np.arange(n), k)
    column = np.tile(np.arange(k), n)
    # ``at`` itself is each descent's "previous" start, the estimate and optima its anchors
    x, value = _best_descent(Objective(variant, data), at[owner, column], at[owner],
                             _anchors(params, optima), owner, column, box, exact,
                             dict(options or {}))
    return x.reshape(n, k, k), value.reshape(n, k)


def chi2_cut(level=0.95):
    """The NLL rise of a ``level`` profile interval: ``chi2_1(level) / 2`` (1.92 at .95)."""
    return float(chi2.ppf(level, 1) / 2.0)


def profile_intervals(variant, data, params, nll, bounds, *, optima=None, level=0.95,
                      exact=True, options=None, cut=None):
    """Profile-likelihood intervals of the estimates ``params`` (n, k) of ``data``.

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
    params : ndarray of shape (n, k)
        The maximum-likelihood estimates, in natural units.
    nll : ndarray of shape (n,)
        Their NLLs.
    bounds : dict
        ``{name: (low, high)}`` of the fit.
    optima : list of ndarray, optional
        Per participant, other local optima of its fit (shape (m_i, k)):
        every profile point also descends from them, so that a profile
        through another basin is not missed.
    level : float
        The intervals' level.
    exact : bool
        Descend with the likelihood's exact gradient (else forward differences).
    options : dict, optional
        L-BFGS-B options for :func:`avoidrl._core.optimize.minimize_lbfgsb_batch`.
    cut : float or ndarray of shape (k,), optional
        The NLL rise that bounds each parameter's region, instead of
        ``chi2_1(level) / 2``.

    Returns
    -------
    lower, upper : ndarray of shape (n, k)
        The interval ends, in natural units (a bound where the region reaches it).
    minimum : ndarray of shape (n,)
        The smallest NLL met: ``nll``, or lower where a profile point found a
        better optimum than the estimate (the region is then measured from it).
    lowest : ndarray of shape (n, k)
        Where the smallest NLL was met (``params`` where nothing beat them).
    """
    options = dict(options or {})
    names = list(variant.parameter_names)
    low = np.array([bounds[p][0] for p in names], dtype=float)
    high = np.array([bounds[p][1] for p in names], dtype=float)
    box = np.stack([low, high], axis=1)
    params = np.asarray(params, dtype=float)
    nll = np.asarray(nll, dtype=float)
    n, k = params.shape
    rise = chi2_cut(level) if cut is None else np.asarray(cut, dtype=float)
    objective = Objective(variant, data)
    anchors = _anchors(params, optima)

    # one problem per (participant, parameter, side), participant-major
    owner = np.repeat(np.arange(n), 2 * k)
    column = np.tile(np.repeat(np.arange(k), 2), n)
    side = np.tile([-1.0, 1.0], n * k)
    z0 = np.clip(to_unbounded(params, low, high), -Z_LIMIT, Z_LIMIT)[owner, column]
    m = len(owner)
    rise_of = np.broadcast_to(rise, (k,))[column]

    def point(z, rows):
        """Natural-unit values of the walked coordinate at z (the bound itself past Z_LIMIT)."""
        value = to_bounded(np.clip(z, -Z_LIMIT, Z_LIMIT), low[column[rows]], high[column[rows]])
        value = np.where(z <= -Z_LIMIT, low[column[rows]], value)
        return np.where(z >= Z_LIMIT, high[column[rows]], value)

    reference = nll.copy()
    lowest = params.copy()

    def keep_lowest(rows, x, value):
        """Record each participant's lowest profile point if it beats what is known."""
        order = np.lexsort((value, owner[rows]))
        first = order[np.unique(owner[rows][order], return_index=True)[1]]
        better = value[first] < reference[owner[rows][first]]
        who = owner[rows][first][better]
        reference[who] = value[first][better]
        lowest[who] = x[first][better]

    current = params[owner].copy()  # each problem's last optimum, the next descent's start
    inside_z = z0.copy()            # outermost walked point inside the region, in z
    inside_x = current.copy()       # ... and the optimum there
    outside_z = np.full(m, np.nan)  # the walked point just beyond it (NaN: none yet)
    active = np.ones(m, dtype=bool)
    for step in WALK_STEPS:
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        z = z0[rows] + side[rows] * step
        x, value = _best_descent(objective, point(z, rows), current[rows], anchors, owner[rows],
                                 column[rows], box, exact, options)
        current[rows] = x
        keep_lowest(rows, x, value)
        inside = value <= nll[owner[rows]] + rise_of[rows]
        grow = rows[inside]
        inside_z[grow], inside_x[grow] = z[inside], x[inside]
        outside_z[grow] = np.nan
        beyond = rows[~inside & np.isnan(outside_z[rows])]
        outside_z[beyond] = z[~inside & np.isnan(outside_z[rows])]
        reached_bound = np.abs(z) >= Z_LIMIT
        too_high = value > nll[owner[rows]] + STOP_RISE
        active[rows[reached_bound | too_high]] = False

    # A profile point below the estimate's NLL is a better optimum: the brackets
    # are refined against it, though the walk judged "inside" against the
    # estimate's NLL. The estimators then descend from that point and profile
    # the participant again from its new optimum (RLModelBase._profile_intervals).
    threshold = reference[owner] + rise_of
    bracket = np.flatnonzero(np.isfinite(outside_z))
    lo_z, hi_z = inside_z[bracket], outside_z[bracket]
    lo_x = inside_x[bracket]
    for _ in range(BISECTIONS):
        if bracket.size == 0:
            break
        mid = 0.5 * (lo_z + hi_z)
        x, value = _best_descent(objective, point(mid, bracket), lo_x, anchors, owner[bracket],
                                 column[bracket], box, exact, options)
        keep_lowest(bracket, x, value)
        inside = value <= threshold[bracket]
        lo_z = np.where(inside, mid, lo_z)
        lo_x = np.where(inside[:, None], x, lo_x)
        hi_z = np.where(inside, hi_z, mid)
    end_z = inside_z.copy()
    end_z[bracket] = 0.5 * (lo_z + hi_z)
    # a side whose walk ended inside the region at the bound reaches the bound
    at_bound = np.isnan(outside_z) & (np.abs(inside_z) >= Z_LIMIT)
    end_z[at_bound] = side[at_bound] * np.inf
    ends = point(end_z, np.arange(m)).reshape(n, k, 2)
    return ends[:, :, 0], ends[:, :, 1], reference, lowest
