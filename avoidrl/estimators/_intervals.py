"""Intervals of maximum-likelihood estimates: Wald, profile and calibrated profile.

The last part of the maximum-likelihood "fit" step: after the multi-start
fit (:mod:`avoidrl.estimators._multistart`), the NLL Hessian at each
participant's estimate, in the logit space of the bounds
(:mod:`avoidrl._core.transform`), gives ``posterior_cov_`` and the Wald
``params_ci_`` table that the tables and figures read (:func:`set_intervals`).
With the estimators' ``intervals='profile'`` or ``'calibrated-profile'``,
:func:`set_profile_intervals` replaces that table by profile-likelihood
intervals (the walk of :mod:`._profile`), the latter with cuts from a
parametric bootstrap of the group (:func:`calibrated_cut`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from .._core import compiled
from .._core.likelihood import Objective
from .._core.simulate import resimulate
from .._core.transform import (
    Z_LIMIT, hessian_from_values, hessian_points, interval_table, to_bounded, to_unbounded,
)
from .._utils.fitted import BOUND_TOLERANCE
from .._utils.warnings import warn
from ._multistart import (
    OPTIMUM_TOLERANCE, _child_seed, add_descents, best_of, fit_participants,
)
from ._profile import chi2_cut, local_optima, profile_at, profile_intervals

#: Hessian eigenvalues below this share of the largest are flat directions
IDENTIFIED_CURVATURE = 1e-12
#: a standard error in z above this leaves a parameter "not identified" (its 95 %
#: interval would cover all but a sliver of the range)
MAX_SD_Z = 5.0


def _bound_status(params, low, high):
    """'interior', 'at lower bound' or 'at upper bound' per estimate, shape (n, k)."""
    width = high - low
    status = np.full(params.shape, "interior", dtype=object)
    status[params <= low + BOUND_TOLERANCE * width] = "at lower bound"
    status[params >= high - BOUND_TOLERANCE * width] = "at upper bound"
    return status


def _ml_intervals(variant, data, params, bounds):
    """Wald intervals of maximum-likelihood estimates, computed in the unbounded space.

    The NLL Hessian in z (central differences, :data:`HESSIAN_STEP`) at each
    participant's estimate is inverted over the parameters that are not at a
    bound. Returns ``(cov, status)``: covariances in z of shape (n, k, k) with
    NaN rows and columns for parameters without an interval, and an (n, k)
    array of 'interior', 'at lower bound', 'at upper bound' or 'not
    identified' (a flat direction of the likelihood: the interval would be
    the whole range: see ``MAX_SD_Z``).
    """
    names = variant.parameter_names
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    n, k = params.shape
    status = _bound_status(params, low, high)
    z = np.clip(to_unbounded(params, low, high), -Z_LIMIT, Z_LIMIT)
    points = hessian_points(z)
    objective = Objective(variant, data)
    values = objective(to_bounded(points.reshape(-1, k), low, high),
                       np.repeat(np.arange(n), points.shape[1])).reshape(n, -1)
    hessian = hessian_from_values(values, k)
    cov = np.full((n, k, k), np.nan)
    for i in range(n):
        free = np.flatnonzero(status[i] == "interior")
        if free.size == 0:
            continue
        sub = hessian[i][np.ix_(free, free)]
        if not np.isfinite(sub).all():
            status[i, free] = "not identified"
            continue
        eigenvalues, vectors = np.linalg.eigh(0.5 * (sub + sub.T))
        flat = eigenvalues <= IDENTIFIED_CURVATURE * max(eigenvalues.max(), 1.0)
        keep = ~flat
        inverse = (vectors[:, keep] / eigenvalues[keep]) @ vectors[:, keep].T
        # A parameter that moves along a flat (or downhill) direction, or whose interval
        # in z spans more than +-2 x MAX_SD_Z (nearly the whole range), has no useful
        # finite interval.
        unidentified = (np.abs(vectors[:, flat]) > 1e-3).any(axis=1) \
            | (np.diag(inverse) > MAX_SD_Z ** 2)
        status[i, free[unidentified]] = "not identified"
        identified = free[~unidentified]
        cov[i][np.ix_(identified, identified)] = inverse[np.ix_(~unidentified, ~unidentified)]
    return cov, status


def wald_intervals(variant, data, params, bounds):
    """``(posterior_cov_, params_ci_)`` of the estimates ``params`` (n, k) of ``data``."""
    names = list(variant.parameter_names)
    cov, status = _ml_intervals(variant, data, params, bounds)
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    table = interval_table(to_unbounded(params, low, high), cov, low, high, data.participants,
                           names, status, estimate=params)
    return cov, table


#: the NLL rise of a 95 % profile interval: chi2_1(0.95) / 2
PROFILE_CUT = chi2_cut(0.95)
#: rounds of descents from profile points that beat the fit's optimum
PROFILE_ROUNDS = 3
#: a calibrated cut refits the group this many times at least ...
CALIBRATION_REPLICATES = 3
#: ... and more for small groups, so that replicates x participants reaches this
CALIBRATION_SAMPLES = 200
#: sub-streams of a participant's seed for its bootstrap choices and refit starts
#: (the multi-start's own are 0-2)
_SIMULATION_STREAM, _REFIT_STREAM = 100, 1000


def _optima(records, params, settings):
    """Each participant's other local optima (:func:`._profile.local_optima`)."""
    return [local_optima(rec["x"], rec["nll"], params[i], settings.low, settings.high)
            for i, rec in enumerate(records)]


def calibrated_cut(settings, data, params, seeds, n_jobs=1, level=0.95):
    """Per parameter, the profile cut calibrated by a parametric bootstrap of the group.

    The group is simulated again at its estimates ``params`` (each
    participant's choices from its own sub-stream of ``seeds[i]``, on its own
    trials) and refitted as the fit was: the multi-start, then the profile
    search that adopts the better optima the profiles meet
    (:func:`profile_search`). Each parameter's likelihood ratio at its
    generating value is then measured from the refit's optimum
    (:func:`_generating_ratios`).
    The cut is these ratios' upper ``level`` prediction bound over
    participants and replicates (:func:`prediction_bound`), never below
    chi2_1(level) / 2: where the ratio's distribution at this much data is
    heavier than chi2 (skewed or kinked likelihoods, bounds), the intervals
    widen until they cover as often as they claim.

    Returns
    -------
    cut : ndarray of shape (k,)
    ratios : ndarray of shape (replicates * n, k)
        The bootstrap's likelihood ratios.
    """
    n = data.n_participants
    replicates = max(CALIBRATION_REPLICATES, -(-CALIBRATION_SAMPLES // max(n, 1)))
    ratios = []
    for b in range(replicates):
        rngs = [np.random.RandomState(_child_seed(s, _SIMULATION_STREAM + b).generate_state(4))
                for s in seeds]
        boot = resimulate(settings.variant, data, params, rngs)
        records = fit_participants(boot, [_child_seed(s, _REFIT_STREAM + b) for s in seeds],
                                   settings, n_jobs, False, 0)
        # the refit's optima are searched as the fit's were before its ratios are taken
        records, _, _, _ = profile_search(settings, boot, records, n_jobs)
        ratios.append(_generating_ratios(settings, boot, records, params))
    ratios = np.concatenate(ratios)
    cut = np.maximum(chi2_cut(level), prediction_bound(ratios, level))
    return cut, ratios


def prediction_bound(values, level):
    """Per column, the ceil((m + 1) * level)-th smallest of the m ``values``.

    A new value exchangeable with the m stays at or below it with
    probability at least ``level``, since its rank among the m + 1 is uniform
    (as in Monte Carlo tests; Davison & Hinkley 1997, *Bootstrap Methods and
    their Application*). The interpolated sample quantile,
    ``np.quantile(values, level)``, falls about one rank lower: as a bound it
    holds (m level + 1 - level) / (m + 1) of the time, .946 for m = 240 at
    .95. With fewer than level / (1 - level) values (19 at .95) no rank is
    high enough, and the largest value is returned.
    """
    values = np.sort(np.asarray(values, dtype=float), axis=0)
    m = len(values)
    # the small tolerance keeps an exact product, e.g. 200 x .95, from rounding up a rank
    rank = int(np.ceil((m + 1) * level - 1e-9))
    return values[min(max(rank, 1), m) - 1]


def calibration_table(ratios, cut, names):
    """What a calibrated cut did, per parameter (``profile_calibration_``).

    ``n``: the bootstrap's likelihood ratios (simulated groups x
    participants); ``coverage_chi2``: the share at or under chi2_1(.95)/2,
    how often plain profile intervals covered the generating values in the
    simulated groups; ``cut``; ``coverage``: the share at or under the cut.
    """
    ratios = np.asarray(ratios, dtype=float)
    return pd.DataFrame({"n": len(ratios), "coverage_chi2": (ratios <= PROFILE_CUT).mean(axis=0),
                         "cut": cut, "coverage": (ratios <= cut).mean(axis=0)},
                        index=pd.Index(names, name="parameter"))


def _generating_ratios(settings, data, records, generating):
    """Each refitted participant's likelihood ratios at its generating values, shape (n, k).

    Measured as the fit's own intervals are: from the best optimum known.
    A descent with a parameter held at its generating value that ends below
    the refit's optimum (by more than ``OPTIMUM_TOLERANCE``) shows an
    optimum the refit's starts missed; as :func:`profile_search` does for
    the fit, the participant descends from there and its ratios are
    measured again from the new optimum (up to :data:`PROFILE_ROUNDS`
    times). Measured from the missed optimum instead, such a participant's
    ratio was clipped to 0 and its other ratios came out too small, while
    the fit's own such participants are measured from their better optima:
    the cut came out too low.
    """
    best, nll = best_of(records)
    ratios = np.empty(generating.shape)
    todo = np.arange(data.n_participants)
    for round_ in range(PROFILE_ROUNDS + 1):
        ends, value = profile_at(
            settings.variant, data.subset(todo), best[todo], settings.bounds, generating[todo],
            optima=_optima([records[i] for i in todo], best[todo], settings),
            exact=settings.exact_gradient, options=settings.options)
        ratios[todo] = np.maximum(value - nll[todo, None], 0.0)
        beaten = value.min(axis=1) < nll[todo] - OPTIMUM_TOLERANCE
        if not beaten.any() or round_ == PROFILE_ROUNDS:
            break
        lowest = ends[np.arange(todo.size), value.argmin(axis=1)]
        todo = todo[beaten]
        records = add_descents(data, settings, records, todo, lowest[beaten], "profile")
        best, nll = best_of(records)
    return ratios


def profile_table(settings, data, params, records, n_jobs=1, cut=None):
    """``(params_ci_, lowest NLL, where)`` with profile-likelihood intervals of the estimates.

    ``records`` are the multi-start records of the fit: each participant's
    other local optima (:func:`._profile.local_optima`) are starts of its
    profile points too. ``cut`` (k,) replaces the chi2 cut (see
    :func:`calibrated_cut`). Participants are split over ``n_jobs`` workers as
    the fit splits them; every profile point depends only on its own participant,
    so the intervals are the same for any ``n_jobs``. The status says whether
    the estimate sits on a bound; every estimate has an interval. The lowest
    NLL met by any profile point, and where, are returned per participant
    (they beat ``params`` where the fit missed an optimum).
    """
    names = list(settings.variant.parameter_names)
    _, nll = best_of(records)
    optima = _optima(records, params, settings)

    def chunk_intervals(chunk):
        return profile_intervals(
            settings.variant, data.subset(chunk), params[chunk], nll[chunk], settings.bounds,
            optima=[optima[i] for i in chunk], exact=settings.exact_gradient,
            options=settings.options, cut=cut)

    chunks = [c for c in np.array_split(np.arange(data.n_participants), n_jobs) if c.size]
    with threadpool_limits(1):
        if len(chunks) == 1:
            parts = [chunk_intervals(chunks[0])]
        else:
            parts = Parallel(n_jobs=len(chunks), prefer=compiled.preferred_workers(n_jobs))(
                delayed(chunk_intervals)(chunk) for chunk in chunks)
    lower, upper, lowest, where = (np.concatenate(part) for part in zip(*parts))
    table = pd.DataFrame({
        "participant_id": np.repeat(np.asarray(data.participants, dtype=object), len(names)),
        "parameter": np.tile(names, len(data.participants)),
        "estimate": params.ravel(),
        "lower": lower.ravel(),
        "upper": upper.ravel(),
        "status": _bound_status(params, settings.low, settings.high).ravel(),
    }).set_index(["participant_id", "parameter"])
    return table, lowest, where


def profile_search(settings, data, records, n_jobs=1):
    """Profile every estimate, adopting the better optima the profiles meet.

    A profile point below a participant's optimum (by more than the
    tolerance within which starts confirm an optimum) is a search the
    starts missed: the participant descends from it (a start of kind
    'profile' in its record), and its intervals are profiled anew from the
    new optimum, up to :data:`PROFILE_ROUNDS` times.

    Returns
    -------
    records : list of dict
        The records with those descents added.
    table : DataFrame
        ``params_ci_`` at the chi2 cut (:func:`profile_table`).
    moved : ndarray of int
        The participants that descended to a better optimum.
    beaten : ndarray of int
        Those whose optimum a profile point still beats.
    """
    best, nll = best_of(records)
    table, lowest, where = profile_table(settings, data, best, records, n_jobs)
    todo = np.flatnonzero(nll - lowest > OPTIMUM_TOLERANCE)
    moved = todo
    for _ in range(PROFILE_ROUNDS):
        if not todo.size:
            break
        records = add_descents(data, settings, records, todo, where[todo], "profile")
        best, nll = best_of(records)
        again, lowest_again, where_again = profile_table(
            settings, data.subset(todo), best[todo], [records[i] for i in todo], n_jobs)
        table.loc[again.index] = again
        where[todo] = where_again
        todo = todo[nll[todo] - lowest_again > OPTIMUM_TOLERANCE]
    return records, table, moved, todo


def set_intervals(estimator, data, settings, records, best, seeds, n_jobs, method):
    """The fitted ``estimator``'s interval attributes by its ``intervals`` ``method``.

    Wald intervals and ``posterior_cov_`` first; with a profile method,
    :func:`set_profile_intervals` then replaces the table and sets
    ``profile_cut_`` and ``profile_calibration_``. A Wald refit drops those
    two, so that no earlier profile fit's cut is left on the estimator.
    """
    estimator.posterior_cov_, estimator.params_ci_ = wald_intervals(
        settings.variant, data, best, settings.bounds)
    for stale in ("profile_cut_", "profile_calibration_"):
        estimator.__dict__.pop(stale, None)
    if method != "wald":
        set_profile_intervals(estimator, data, settings, records, best, seeds, n_jobs,
                              calibrated=method == "calibrated-profile")


def set_profile_intervals(estimator, data, settings, records, best, seeds, n_jobs, calibrated):
    """The fitted ``estimator``'s ``params_ci_`` from profile likelihoods (``intervals``).

    A better optimum the profiles meet becomes the fit's
    (:func:`profile_search`): the fitted attributes are set again from it,
    and a participant whose optimum is still beaten is named in a
    ConvergenceWarning. ``calibrated``: the cut comes from a parametric
    bootstrap of the group (:func:`calibrated_cut`) at the final estimates.
    """
    names = list(settings.variant.parameter_names)
    cut = None
    records, table, moved, todo = profile_search(settings, data, records, n_jobs)
    if moved.size:
        best, _ = best_of(records)
        estimator._set_fitted(data, settings, records, best)
        estimator.posterior_cov_, _ = wald_intervals(settings.variant, data, best,
                                                     settings.bounds)
    calibration = None
    if calibrated:
        cut, ratios = calibrated_cut(settings, data, best, seeds, n_jobs)
        table, _, _ = profile_table(settings, data, best, records, n_jobs, cut=cut)
        calibration = calibration_table(ratios, cut, names)
    estimator.profile_cut_ = pd.Series(PROFILE_CUT if cut is None else cut, index=names,
                                       name="profile_cut")
    estimator.profile_calibration_ = calibration
    if todo.size:
        warn(f"{settings.variant.name}: the profile likelihood still meets a lower NLL than "
             f"the fit's optimum for {todo.size} participant(s) after {PROFILE_ROUNDS} "
             "descents from such points: "
             + ", ".join(map(str, estimator.nll_.index[todo][:10]))
             + "; their params_ may not be the global optimum.", ConvergenceWarning)
    estimator.params_ci_ = table
