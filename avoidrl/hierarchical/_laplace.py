"""The numbers of the empirical-Bayes fit: MAPs with Laplace approximations, the prior.

The "fit" step of the flow for :class:`~avoidrl.hierarchical.EmpiricalBayes`,
without its bookkeeping: every participant's MAP estimate in the unbounded
space z under a Gaussian population prior (:class:`_Population`) and its
Laplace approximation (:func:`_map_and_laplace`, on the kernel of
:mod:`avoidrl._core.likelihood` and the batched L-BFGS-B of
:mod:`avoidrl._core.optimize`), how far the prior moved between EM
iterations (:func:`_prior_change`), the prior in natural units
(:func:`population_table`) and the integrated BIC (:func:`integrated_bic`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logsumexp

from .._core.likelihood import Objective
from .._core.optimize import minimize_lbfgsb_batch
from .._core.transform import (
    Z95, Z_LIMIT, clamp_psd, hessian_from_values, hessian_points, to_bounded,
)
from ..estimators._multistart import OPTIMUM_TOLERANCE


def _map_and_laplace(variant, data, low, high, mean, precision, starts, screen, n_best,
                     options, step):
    """MAP estimates in z and their Laplace approximations, for every participant.

    Round 0 descends from ``starts`` (n, s, k) and from the ``n_best`` points
    of ``screen[:, 0]`` (``screen`` has shape (n, rounds, m, k)) with the
    lowest posterior objective, found by one batched evaluation. A participant
    whose best MAP was reached by fewer than two descents (within
    ``OPTIMUM_TOLERANCE``) gets the next round, from the best points of the
    next screen, as the maximum-likelihood fits do. Returns a dict of arrays:
    ``z`` (n, k), ``nll`` (n,), ``hessian`` (n, k, k, the clamped NLL
    Hessian), ``n_negative`` (n,), ``success`` (n,).
    """
    objective = Objective(variant, data)
    n, _, k = starts.shape
    n_rounds, m = screen.shape[1], screen.shape[2]

    def nll(points, rows):
        return objective(to_bounded(points, low, high), rows)

    def penalty(points):
        deviation = points - mean
        return 0.5 * np.einsum("bi,ij,bj->b", deviation, precision, deviation)

    box = np.tile([-Z_LIMIT, Z_LIMIT], (k, 1))
    best_value = np.full(n, np.inf)
    z = starts[:, 0].copy()
    success = np.zeros(n, dtype=bool)
    values_seen = [[] for _ in range(n)]
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
        result = minimize_lbfgsb_batch(lambda x, problem: nll(x, owner[problem]) + penalty(x),
                                       points.reshape(-1, k), box, **options)
        # re-evaluate, so each descent's value is the value at its point
        value = nll(result.x, owner) + penalty(result.x)
        value = np.where(np.isfinite(value), value, np.inf).reshape(len(active), per)
        for j, i in enumerate(active):
            values_seen[i].extend(value[j])
            b = int(value[j].argmin())
            if value[j, b] < best_value[i]:
                best_value[i] = value[j, b]
                z[i] = result.x[j * per + b]
                success[i] = result.success[j * per + b]
        hits = np.array([np.sum(np.asarray(values_seen[i]) <= best_value[i] + OPTIMUM_TOLERANCE)
                         for i in active])
        active = active[hits < 2]
        if active.size == 0:
            break
    points = hessian_points(z, step)
    values = nll(points.reshape(-1, k), np.repeat(np.arange(n), points.shape[1]))
    values = values.reshape(n, points.shape[1])
    hessian, n_negative = clamp_psd(hessian_from_values(values, k, step))
    return {"z": z, "nll": values[:, 0], "hessian": hessian, "n_negative": n_negative,
            "success": success}


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


def integrated_bic(variant, data, population, low, high, n_samples, rng, covariance):
    """Huys et al. (2011)'s integrated BIC of a population model.

    ``-2 sum_n log (1/S) sum_s p(y_n | z_s)`` with z_s drawn from the prior,
    plus (number of prior parameters) x ln(total trials).
    """
    k = population.mean.size
    z = population.draw(rng, n_samples)
    x = to_bounded(z, low, high)
    objective = Objective(variant, data)
    n = data.n_participants
    log_mean = np.empty(n)
    for i in range(n):
        nll = objective(x, np.full(n_samples, i))
        log_mean[i] = logsumexp(-nll) - np.log(n_samples)
    n_prior = 2 * k if covariance == "diagonal" else k + k * (k + 1) // 2
    return float(-2.0 * log_mean.sum() + n_prior * np.log(data.n_trials.sum()))
