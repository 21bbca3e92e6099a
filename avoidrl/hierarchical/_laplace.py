"""The numbers of the empirical-Bayes fit: MAPs with Laplace approximations, the prior.

The "fit" step of the flow for :class:`~avoidrl.hierarchical.EmpiricalBayes`,
without its bookkeeping: every participant's MAP estimate in the unbounded
space z under a Gaussian population prior (:class:`_Population`) and its
Laplace approximation (:func:`_map_and_laplace`, on the kernel of
:mod:`avoidrl._core.likelihood` and the batched L-BFGS-B of
:mod:`avoidrl._core.optimize`), how far the prior moved between EM
iterations (:func:`_prior_change`), the prior in natural units
(:func:`population_table`) and the integrated BIC (:func:`integrated_bic`);
and the importance sampling of each participant's posterior that the M-step,
the intervals and the collapse check use (:func:`_proposal_draws`,
:func:`_importance_moments`, :func:`_sampled_intervals`, :func:`_collapsed`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit, gammaln, logsumexp

from .._core.likelihood import Objective
from .._core.optimize import minimize_lbfgsb_batch
from .._core.transform import (
    Z95, Z_LIMIT, clamp_psd, hessian_from_values, hessian_points, to_bounded,
)
from ..estimators._multistart import OPTIMUM_TOLERANCE
from ._quantiles import QUANTILE_PROBABILITIES

#: importance sampling of the posterior moments (m_step='importance'): the
#: proposal is a multivariate t with IMPORTANCE_DF degrees of freedom (heavy
#: tails: the hybrids' posteriors are skewed and cut by cliffs), mixed with the
#: prior itself in the share DEFENSIVE_SHARE so that no region the prior allows
#: is missed (the weights stay bounded by 1 / DEFENSIVE_SHARE x likelihood)
IMPORTANCE_DF = 5.0
DEFENSIVE_SHARE = 0.1
#: the t's scale matrix: PROPOSAL_INFLATION x the participant's posterior
#: covariance of the previous EM iteration (importance-sampled) plus its
#: Laplace covariance; in the first iteration 2 x Laplace. Measured on
#: Hybrid2012+novel, the Laplace covariance is 2-4 x too small in the actor and
#: critic learning rates, so it alone would be a poor proposal
PROPOSAL_INFLATION = 1.5
#: draws of the population's mean and scale from their approximate sampling
#: distribution, over which the reported intervals are averaged
HYPER_DRAWS = 20
#: a parameter's population scale counts as collapsed when its prior sd in z
#: ends below this fraction of the spread of the first E-step's MAPs (which,
#: under the broad initial prior, are close to maximum likelihood): the data
#: say participants differ, the prior says they are all alike
COLLAPSE_FRACTION = 0.2
#: ... or when it is still shrinking at the end: it fell by more than
#: COLLAPSE_RATE per iteration in each of the last COLLAPSE_RUN iterations while
#: below half that spread (a geometric slide toward 0 that the stopping rule on
#: the prior's quantiles can take for convergence)
COLLAPSE_RATE = 0.02
COLLAPSE_RUN = 3


def posterior_and_gradient(objective, points, rows, low, high, mean, precision):
    """The E-step's objective in z, ``NLL(x(z)) + (z - mean)' P (z - mean) / 2``, and its gradient.

    The NLL's exact gradient in natural units (``objective.value_and_gradient``)
    times ``dx / dz = (high - low) sigmoid(z) (1 - sigmoid(z))``, plus the
    prior's ``P (z - mean)``. The value is the one the finite-difference path
    minimises, to the bit.
    """
    value, gradient = objective.value_and_gradient(to_bounded(points, low, high), rows)
    slope = expit(points)
    slope *= 1.0 - slope
    gradient *= (high - low) * slope
    deviation = points - mean
    gradient += deviation @ precision
    return value + 0.5 * np.einsum("bi,ij,bj->b", deviation, precision, deviation), gradient


def _map_and_laplace(variant, data, low, high, mean, precision, starts, screen, n_best,
                     options, step, sampling=None):
    """MAP estimates in z and their Laplace approximations, for every participant.

    Round 0 descends from ``starts`` (n, s, k) and from the ``n_best`` points
    of ``screen[:, 0]`` (``screen`` has shape (n, rounds, m, k)) with the
    lowest posterior objective, found by one batched evaluation. A participant
    whose best MAP was reached by fewer than two descents (within
    ``OPTIMUM_TOLERANCE``) gets the next round, from the best points of the
    next screen, as the maximum-likelihood fits do. Returns a dict of arrays:
    ``z`` (n, k), ``nll`` (n,), ``hessian`` (n, k, k, the clamped NLL
    Hessian), ``n_negative`` (n,), ``success`` (n,).

    With ``sampling`` (see :meth:`EmpiricalBayes._sampling`) also
    ``samples`` (n, S, k), importance draws from each participant's
    proposal, and ``log_weight`` (n, S): ``-NLL - log q`` at each draw (the
    prior's density is added by the caller, so the draws can be reweighted to
    any prior without evaluating the likelihood again).
    """
    objective = Objective(variant, data)
    n, _, k = starts.shape
    n_rounds, m = screen.shape[1], screen.shape[2]

    def nll(points, rows):
        return objective(to_bounded(points, low, high), rows)

    def penalty(points):
        deviation = points - mean
        return 0.5 * np.einsum("bi,ij,bj->b", deviation, precision, deviation)

    options = dict(options)
    if options.pop("exact_gradient", False):
        def descent_objective(x, problem):
            return posterior_and_gradient(objective, x, owner[problem], low, high, mean,
                                          precision)
        options["jac"] = True
    else:
        def descent_objective(x, problem):
            return nll(x, owner[problem]) + penalty(x)

    box = np.tile([-Z_LIMIT, Z_LIMIT], (k, 1))
    best_value = np.full(n, np.inf)
    z = starts[:, 0].copy()
    success = np.zeros(n, dtype=bool)
    # every descent's end (value, point) per participant: the hits that confirm a MAP,
    # and the other local optima the importance proposal centres on
    ends = [[] for _ in range(n)]
    active = np.arange(n)
    for round_ in range(n_rounds):
        flat = screen[active, round_].reshape(-1, k)
        rows = np.repeat(active, m)
        screened = nll(flat, rows) + penalty(flat)
        screened = np.where(np.isfinite(screened), screened, np.inf).reshape(len(active), m)
        chosen = np.take_along_axis(screen[active, round_],
                                    np.argsort(screened, axis=1)[:, :n_best, None], axis=1)
        points = np.concatenate([starts[active], chosen], axis=1) if round_ == 0 else chosen
        per = points.shape[1]
        owner = np.repeat(active, per)
        result = minimize_lbfgsb_batch(descent_objective, points.reshape(-1, k), box,
                                       **options)
        # re-evaluate, so each descent's value is the value at its point
        value = nll(result.x, owner) + penalty(result.x)
        value = np.where(np.isfinite(value), value, np.inf).reshape(len(active), per)
        for j, i in enumerate(active):
            ends[i].extend(zip(value[j], result.x[j * per:(j + 1) * per]))
            b = int(value[j].argmin())
            if value[j, b] < best_value[i]:
                best_value[i] = value[j, b]
                z[i] = result.x[j * per + b]
                success[i] = result.success[j * per + b]
        hits = np.array([sum(v <= best_value[i] + OPTIMUM_TOLERANCE for v, _ in ends[i])
                         for i in active])
        active = active[hits < 2]
        if active.size == 0:
            break
    points = hessian_points(z, step)
    values = nll(points.reshape(-1, k), np.repeat(np.arange(n), points.shape[1]))
    values = values.reshape(n, points.shape[1])
    hessian, n_negative = clamp_psd(hessian_from_values(values, k, step))
    out = {"z": z, "nll": values[:, 0], "hessian": hessian, "n_negative": n_negative,
           "success": success}
    if sampling is not None:
        laplace = np.linalg.inv(hessian + precision)
        center = z if sampling["center"] is None else sampling["center"]
        if sampling["cov"] is None:
            scale = 2.0 * laplace
        else:
            scale = PROPOSAL_INFLATION * sampling["cov"] + laplace
        centers = _mode_centers(center, ends, best_value, PROPOSAL_MODES)
        samples, log_q = _proposal_draws(centers, scale, mean, sampling["prior_cov"],
                                         sampling["normals"], sampling["chi"])
        s_count = samples.shape[1]
        values = nll(samples.reshape(-1, k), np.repeat(np.arange(n), s_count))
        values = np.where(np.isfinite(values), values, np.inf).reshape(n, s_count)
        out["samples"], out["log_weight"] = samples, -values - log_q
    return out


def _mvt_logpdf(x, center, chol, df):
    """Log density of multivariate t's (one per participant) at draws x (n, S, k)."""
    k = x.shape[-1]
    solved = (x - center[:, None, :]) @ np.swapaxes(np.linalg.inv(chol), 1, 2)
    quad = np.square(solved).sum(axis=-1)
    log_det = np.log(np.diagonal(chol, axis1=1, axis2=2)).sum(axis=1)
    return (gammaln((df + k) / 2) - gammaln(df / 2) - 0.5 * k * np.log(df * np.pi)
            - log_det[:, None] - 0.5 * (df + k) * np.log1p(quad / df))


def _gauss_logpdf(x, mean, cov):
    """Log density of one Gaussian at draws x (..., k)."""
    chol = np.linalg.cholesky(cov)
    # one matrix product (BLAS) rather than a solve per draw: this runs every EM iteration
    solved = (x - mean) @ np.linalg.inv(chol).T
    return (-0.5 * np.square(solved).sum(axis=-1)
            - np.log(np.diag(chol)).sum() - 0.5 * mean.size * np.log(2 * np.pi))


#: local optima of an E-step's descents that join the participant's proposal as
#: centres of more t components (see _mode_centers): up to PROPOSAL_MODES of
#: them, each within MODE_WINDOW (nats of the posterior objective) of the best
#: and MODE_DISTANCE (in z, largest coordinate) from the centres already taken.
#: Measured on Hybrid2012+novel (10 replicates of 60): the 95 % intervals of
#: the actor and critic learning rates covered 3-4 points more (0 to 6 tried)
PROPOSAL_MODES = 3
MODE_WINDOW = 10.0
MODE_DISTANCE = 0.25


def _mode_centers(center, ends, best_value, n_modes):
    """Proposal centres (n, 1 + n_modes, k): ``center``, then distinct good local optima.

    Slots without such an optimum repeat ``center`` (a component drawn twice is
    still the same mixture).
    """
    out = np.repeat(center[:, None, :], 1 + n_modes, axis=1)
    for i in range(len(center)):
        taken = [center[i]]
        for value, x in sorted(ends[i], key=lambda pair: pair[0]):
            if len(taken) > n_modes or value > best_value[i] + MODE_WINDOW:
                break
            if all(np.abs(x - t).max() > MODE_DISTANCE for t in taken):
                out[i, len(taken)] = x
                taken.append(x)
    return out


def _proposal_draws(centers, scale, mean, prior_cov, normals, chi):
    """Draws of the defensive mixture proposal and their log density.

    ``centers`` (n, C, k): C t's per participant with the same scale, draw
    ``s`` of the t part from centre ``s mod C`` (fixed shares, weighted by the
    whole mixture's density). ``normals`` (n, S, k) and
    ``chi`` (n, S) are fixed per participant for the whole fit (common random
    numbers: the draws move smoothly with the proposal, so EM's iterates do
    not jitter with fresh Monte-Carlo noise). The last ``DEFENSIVE_SHARE`` of
    the draws come from the prior.
    """
    n, s_count, k = normals.shape
    n_prior = max(1, int(round(DEFENSIVE_SHARE * s_count)))
    scale = 0.5 * (scale + np.swapaxes(scale, 1, 2)) + 1e-9 * np.eye(k)
    chol = np.linalg.cholesky(scale)
    head = s_count - n_prior
    n_centers = centers.shape[1]
    # draw s of the t part comes from centre s mod C: each centre's share is fixed
    owner = centers[:, np.arange(head) % n_centers]
    t_part = owner + normals[:, :head] @ np.swapaxes(chol, 1, 2) \
        / np.sqrt(chi[:, :head] / IMPORTANCE_DF)[..., None]
    prior_part = mean + normals[:, head:] @ np.linalg.cholesky(prior_cov).T
    samples = np.concatenate([t_part, prior_part], axis=1)
    share = n_prior / s_count
    if n_centers == 1:
        t_density = np.log1p(-share) + _mvt_logpdf(samples, centers[:, 0], chol, IMPORTANCE_DF)
    else:
        counts = np.bincount(np.arange(head) % n_centers, minlength=n_centers)
        t_density = np.logaddexp.reduce(
            [np.log(counts[c] / s_count) + _mvt_logpdf(samples, centers[:, c], chol,
                                                        IMPORTANCE_DF)
             for c in range(n_centers)], axis=0)
    log_q = np.logaddexp(t_density, np.log(share) + _gauss_logpdf(samples, mean, prior_cov))
    return samples, log_q


def _importance_weights(samples, log_weight, population):
    """Normalised importance weights (n, S) of the draws under ``population``."""
    lw = log_weight + _gauss_logpdf(samples, population.mean, population.cov)
    lw = np.where(np.isfinite(lw), lw, -np.inf)
    weights = np.exp(lw - lw.max(axis=1, keepdims=True))
    return weights / weights.sum(axis=1, keepdims=True)


def _importance_moments(samples, log_weight, population):
    """Posterior mean (n, k), covariance (n, k, k), normalised weights and ESS under ``population``."""
    weights = _importance_weights(samples, log_weight, population)
    mean = (weights[:, None, :] @ samples)[:, 0]
    deviation = samples - mean[:, None, :]
    cov = np.swapaxes(weights[..., None] * deviation, 1, 2) @ deviation
    return mean, cov, weights, 1.0 / np.sum(weights ** 2, axis=1)


class _Population:
    """A Gaussian prior in z: mean, covariance and their derived quantities."""

    def __init__(self, mean, cov):
        self.mean = np.asarray(mean, dtype=float)
        self.cov = np.asarray(cov, dtype=float)
        self.precision = np.linalg.inv(self.cov)
        self.logdet = np.linalg.slogdet(self.cov)[1]

    def draw(self, rng, size):
        return rng.multivariate_normal(self.mean, self.cov, size=size, method="cholesky")


def _prior_change(old, new):
    """The largest move of the prior's 2.5 / 50 / 97.5 % quantiles, as 4 x share of the range.

    Measured in natural units, so a population drifting ever further onto a
    bound (its mean in z heading for -inf while x stays at the bound) counts
    as settled; at mid-range it equals the move in z (dx/dz = range / 4).
    """
    def quantiles(population):
        sd = np.sqrt(np.diag(population.cov))
        return np.stack([expit(population.mean + c * Z95 * sd) for c in (-1.0, 0.0, 1.0)])

    return float(4.0 * np.abs(quantiles(new) - quantiles(old)).max())


def population_table(population, low, high, names):
    """The prior's median and central 95 % range per parameter, in natural units."""
    sd = np.sqrt(np.diag(population.cov))
    return pd.DataFrame({
        "parameter": names,
        "median": to_bounded(population.mean, low, high),
        "lower": to_bounded(population.mean - Z95 * sd, low, high),
        "upper": to_bounded(population.mean + Z95 * sd, low, high),
        "mean_z": population.mean, "sd_z": sd,
    }).set_index("parameter")


#: degrees of freedom of the Student-t proposals of the importance-sampled iBIC:
#: heavier tails than the Laplace Gaussian, whose curvature at the MAP misses
#: skewed or kinked posteriors (the hybrids' L1-normalised actor weights)
IBIC_PROPOSAL_DF = 5.0
#: share of the population prior's covariance added to each participant's Laplace
#: covariance in the iBIC's proposal. The likelihood is rugged (actor-critic
#: weights: the NLL jumps by 10-20 within 0.01 in z), so a MAP can sit in a
#: narrow notch whose finite-difference curvature gives posterior sds of 0.003
#: while the mass lies 0.1-0.5 around it; this floor (sd >= 0.17 prior sds)
#: kept the repeat-to-repeat sd of a group's iBIC at 1-1.3 (Laplace alone: 6-7)
IBIC_PROPOSAL_FLOOR = 0.03
#: share of the iBIC's samples drawn from the population prior itself (a
#: defensive mixture): bounds every importance weight by prior / (share x prior),
#: so a Laplace approximation in the wrong place cannot make the variance infinite
IBIC_PRIOR_SHARE = 0.1


def _log_mean_exp(log_w):
    """``log mean exp(log_w)`` over the last axis, and its delta-method standard error.

    The standard error of the mean of ``w`` relative to the mean is
    ``sd(w) / (mean(w) sqrt(S))``; to first order it is the standard error of
    the log of the mean. Non-finite terms count as zero weights.
    """
    log_w = np.where(np.isnan(log_w), -np.inf, log_w)
    n_samples = log_w.shape[-1]
    top = log_w.max(axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        raise ValueError("every sample of the integrated BIC has zero likelihood")
    w = np.exp(log_w - top)
    mean = w.mean(axis=-1)
    if n_samples < 2:  # one sample has no spread to measure
        return np.log(mean) + top[..., 0], np.full(mean.shape, np.nan)
    se = w.std(axis=-1, ddof=1) / (mean * np.sqrt(n_samples))
    return np.log(mean) + top[..., 0], se


def _importance_draws(population, location, scale, n_samples, rng,
                      floor=IBIC_PROPOSAL_FLOOR):
    """Draws of the defensive mixture proposal of one participant, and its log density.

    ``round(IBIC_PRIOR_SHARE x n_samples)`` draws (at least 1) come from the
    prior, the rest from a Student-t (``IBIC_PROPOSAL_DF``) centred at
    ``location`` with scale matrix ``scale + floor x`` the prior's covariance. Drawn in fixed proportions and weighted by the whole
    mixture's density (the balance heuristic), the estimate stays unbiased.
    """
    n_prior = max(1, round(IBIC_PRIOR_SHARE * n_samples))
    share = n_prior / n_samples
    proposal = stats.multivariate_t(location, scale + floor * population.cov,
                                    df=IBIC_PROPOSAL_DF)
    z = population.draw(rng, n_prior)
    if n_samples > n_prior:
        z = np.concatenate([proposal.rvs(size=n_samples - n_prior, random_state=rng)
                            .reshape(-1, location.size), z])
    log_prior = stats.multivariate_normal(population.mean, population.cov).logpdf(z)
    with np.errstate(divide="ignore"):  # share = 1 (a single sample): no Student-t part
        log_q = np.logaddexp(np.log1p(-share) + proposal.logpdf(z), np.log(share) + log_prior)
    return z, np.atleast_1d(log_prior - log_q)


def integrated_bic(variant, data, population, low, high, n_samples, rng, covariance,
                   posterior_mean=None, posterior_cov=None, return_se=False):
    """Huys et al. (2011)'s integrated BIC of a population model.

    ``-2 sum_n log p(y_n | prior)`` plus (number of prior parameters) x
    ln(total trials), where ``p(y_n | prior)``, the integral of the
    likelihood over the population prior, is estimated by Monte Carlo.

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
        The participants the prior was fitted to.
    population : _Population
        The fitted prior in z.
    low, high : ndarray of shape (k,)
        The bounds that define z.
    n_samples : int
        Monte-Carlo samples per participant.
    rng : numpy Generator
    covariance : {'diagonal', 'full'}
        Shape of the prior covariance (sets the number of prior parameters).
    posterior_mean, posterior_cov : ndarray of shape (n, k) and (n, k, k), optional
        Each participant's MAP and Laplace posterior covariance in z. Given,
        the integral is importance-sampled: ``n_samples`` draws from a
        mixture of a Student-t around the Laplace posterior (90 %) and the
        prior (10 %), weighted by likelihood x prior / proposal. Without
        them, plain prior samples are averaged: with 5-8 parameters most of
        them miss the posterior, so the estimate is noisy and biased low
        (its standard error on a group of 30 was 18-38 iBIC units against
        a penalty gap of 57 between ActorCritic and Hybrid2012).
    return_se : bool, default=False
        Also return the Monte-Carlo standard error of the iBIC (delta
        method, summed over participants as independent estimates).

    Returns
    -------
    ibic : float
    se : float
        Only with ``return_se=True``.
    """
    if (posterior_mean is None) != (posterior_cov is None):
        raise ValueError("posterior_mean and posterior_cov are given together or not at all")
    k = population.mean.size
    n = data.n_participants
    if posterior_mean is not None:
        posterior_mean = np.asarray(posterior_mean, dtype=float)
        posterior_cov = np.asarray(posterior_cov, dtype=float)
        if posterior_mean.shape != (n, k) or posterior_cov.shape != (n, k, k):
            raise ValueError(f"posterior_mean must have shape ({n}, {k}) and posterior_cov "
                             f"({n}, {k}, {k}); got {posterior_mean.shape} and "
                             f"{posterior_cov.shape}")
    objective = Objective(variant, data)
    log_mean = np.empty(n)
    se = np.empty(n)
    shared = None if posterior_mean is not None else population.draw(rng, n_samples)
    for i in range(n):
        if shared is None:
            z, log_ratio = _importance_draws(population, posterior_mean[i], posterior_cov[i],
                                             n_samples, rng)
        else:
            z, log_ratio = shared, 0.0
        nll = objective(to_bounded(z, low, high), np.full(len(z), i))
        log_mean[i], se[i] = _log_mean_exp(-nll + log_ratio)
    n_prior = 2 * k if covariance == "diagonal" else k + k * (k + 1) // 2
    ibic = float(-2.0 * log_mean.sum() + n_prior * np.log(data.n_trials.sum()))
    if return_se:
        return ibic, float(2.0 * np.sqrt(np.sum(se ** 2)))
    return ibic


def _collapsed(scales, spread):
    """Which parameters' population sd (``scales``, iterations x k) collapsed; see COLLAPSE_*."""
    final = scales[-1]
    low = final < COLLAPSE_FRACTION * spread
    if len(scales) > COLLAPSE_RUN:
        ratios = scales[-COLLAPSE_RUN:] / scales[-COLLAPSE_RUN - 1:-1]
        sliding = np.all(ratios < 1.0 - COLLAPSE_RATE, axis=0) & (final < 0.5 * spread)
        low = low | sliding
    return low


def _importance_evidence(estep, population):
    """Importance-sampled log marginal likelihood of each participant under ``population``."""
    lw = estep["log_weight"] + _gauss_logpdf(estep["samples"], population.mean, population.cov)
    lw = np.where(np.isfinite(lw), lw, -np.inf)
    return logsumexp(lw, axis=1) - np.log(lw.shape[1])


def _posterior_mean_x(estep, population, low, high):
    """Each participant's posterior mean in natural units, from the importance draws."""
    weights = _importance_weights(estep["samples"], estep["log_weight"], population)
    return (weights[:, None, :] @ to_bounded(estep["samples"], low, high))[:, 0]


def _interval_weights(estep, population, rng):
    """Normalised weights (n, S) of the final draws, averaged over the population's uncertainty.

    The draws are reweighted to ``HYPER_DRAWS`` populations drawn from the
    fitted one's approximate sampling distribution (mean: normal with the
    prior's covariance / N; each sd: log-normal with sd 1 / sqrt(2N)), and the
    normalised weights averaged, so the intervals account for the population
    being estimated from N participants (a large-sample approximation: it
    ignores how noisily each participant is measured, so it errs narrow).
    """
    samples, log_weight = estep["samples"], estep["log_weight"]
    n, _, k = samples.shape
    chol = np.linalg.cholesky(population.cov / n)
    weights = np.zeros(log_weight.shape)
    for _ in range(HYPER_DRAWS):
        mean = population.mean + chol @ rng.standard_normal(k)
        factor = np.exp(rng.standard_normal(k) / np.sqrt(2.0 * n))
        draw = _Population(mean, population.cov * np.outer(factor, factor))
        weights += _importance_weights(samples, log_weight, draw)
    return weights / HYPER_DRAWS


def _weighted_quantiles(samples, weights, probabilities):
    """Per participant and parameter, quantiles of the weighted draws.

    ``samples`` (n, S, k), ``weights`` (n, S) normalised, ``probabilities``
    (P, k): the quantile of parameter ``j`` at each ``probabilities[:, j]``
    (the smallest draw whose cumulative weight reaches it). Returns (P, n, k).
    """
    n, _, k = samples.shape
    out = np.empty((probabilities.shape[0], n, k))
    for j in range(k):
        order = np.argsort(samples[..., j], axis=1)
        values = np.take_along_axis(samples[..., j], order, axis=1)
        cumulative = np.cumsum(np.take_along_axis(weights, order, axis=1), axis=1)
        # rounding can leave the last cumulative weight a hair under 1
        cumulative[:, -1] = np.inf
        for p, probability in enumerate(probabilities[:, j]):
            out[p, :, j] = values[np.arange(n), np.argmax(cumulative >= probability, axis=1)]
    return out


def _sampled_intervals(estep, population, rng, level=0.95):
    """Equal-tailed posterior intervals in z from the final E-step's importance draws.

    Weighted as :func:`_interval_weights` says. ``level`` is one central
    credible level, or one per parameter (k,). Returns ``(lower, upper)``,
    each (n, k), and the quantiles at :data:`QUANTILE_PROBABILITIES` (P, n, k)
    from the same weights.
    """
    k = estep["samples"].shape[-1]
    tail = 0.5 * (1.0 - np.broadcast_to(np.asarray(level, dtype=float), (k,)))
    weights = _interval_weights(estep, population, rng)
    probabilities = np.concatenate([np.stack([tail, 1.0 - tail]),
                                    np.repeat(QUANTILE_PROBABILITIES[:, None], k, axis=1)])
    out = _weighted_quantiles(estep["samples"], weights, probabilities)
    return out[0], out[1], out[2:]

