"""The EM loop of :class:`~avoidrl.hierarchical.EmpiricalBayes`: E-steps, M-step, their settings.

A mixin of the estimator (:mod:`._empirical_bayes` holds its settings, outputs,
scoring and sampling); the numbers of each step are in :mod:`._laplace`.
"""

from __future__ import annotations


import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._core.transform import HESSIAN_STEP, Z_LIMIT
from .._utils.progress import ProgressBar
from .._utils.validation import effective_n_jobs
from ..estimators._multistart import _child_seed
from ._laplace import (
    IMPORTANCE_DF, _collapsed, _importance_evidence, _importance_moments, _map_and_laplace, _Population,
    _prior_change,
)


#: prior of the first E-step: mean 0 (mid-range) and variance 4 in z, broad
#: enough that the first MAPs are close to maximum likelihood
INITIAL_VARIANCE = 4.0
#: smallest prior variance in z: keeps the prior proper when every MAP agrees
MIN_VARIANCE = 1e-4
#: E-step starts per participant: its previous MAP, the prior mean, and the best
#: of a screen of prior draws, evaluated in one batch (a cheap guard against
#: descending only into poor optima): SCREEN_PER_PARAMETER x k draws, the best
#: SCREEN_STARTS of them descended from (twice both in the final E-step)
SCREEN_PER_PARAMETER = 10
SCREEN_STARTS = 2
#: rounds of the final E-step: a participant whose MAP was reached by only one
#: descent gets up to this many rounds in all, each from a fresh screen
FINAL_ROUNDS = 3
#: prior draws per parameter descended from without screening in the first
#: E-step: under the broad initial prior the MAP is close to maximum likelihood,
#: and a basin found here is carried through EM by the warm starts
FIRST_STARTS_PER_PARAMETER = 3
#: descent iterations (maxiter) of the first E-step's descents: enough to settle into a
#: basin, which the next E-step descends further from the best point found
FIRST_MAXITER = 20
#: descent iterations of an intermediate E-step (generalised EM: the next E-step
#: continues from these points); the final E-step runs to convergence
INTERMEDIATE_MAXITER = 60
#: the final E-step draws this many times ``n_importance`` per participant: its
#: samples give the reported intervals (tail quantiles need more than moments)
FINAL_SAMPLE_FACTOR = 4


class ExpectationMaximisation:
    """E-steps, the EM loop and the M-step of EmpiricalBayes (a mixin)."""

    def _estep(self, data, seeds, settings, population, previous, iteration, final=True,
               moments=None, sample=True):
        """MAPs and Laplace approximations of every participant under ``population``.

        An intermediate E-step (``final=False``) caps the optimizer's
        iterations and screens half as many prior draws; the first one (no
        ``previous``) also descends from ``FIRST_STARTS_PER_PARAMETER`` x k
        unscreened prior draws. With ``m_step='importance'`` (and ``sample``)
        the posterior moments the M-step uses (``post_mean``, ``post_cov``)
        are importance-sampled, from proposals centred on the previous
        iteration's ``moments`` (the MAPs in the first); otherwise they are
        the MAPs and Laplace covariances.
        """
        n = data.n_participants
        k = population.mean.size
        size = SCREEN_PER_PARAMETER * k * (2 if final else 1)
        rounds = FINAL_ROUNDS if final else 1
        n_random = FIRST_STARTS_PER_PARAMETER * k if previous is None and not final else 0
        starts = np.empty((n, (previous is not None) + 1 + n_random, k))
        screen = np.empty((n, rounds, size, k))
        for i, seed in enumerate(seeds):
            rng = np.random.default_rng(_child_seed(_child_seed(seed, 2), iteration))
            rows = [population.mean[None, :]]
            if previous is not None:
                rows.insert(0, previous[i][None, :])
            screen[i] = np.clip(population.draw(rng, rounds * size), -Z_LIMIT,
                                Z_LIMIT).reshape(rounds, size, k)
            rows.append(population.draw(rng, n_random))
            starts[i] = np.clip(np.concatenate(rows), -Z_LIMIT, Z_LIMIT)
        n_best = SCREEN_STARTS * (2 if final else 1)
        options = dict(settings.options)
        options["exact_gradient"] = settings.exact_gradient
        if not final:
            cap = FIRST_MAXITER if previous is None else INTERMEDIATE_MAXITER
            options["maxiter"] = min(options.get("maxiter", cap), cap)
        n_jobs = min(effective_n_jobs(self.n_jobs), n)
        chunks = [c for c in np.array_split(np.arange(n), n_jobs) if c.size]
        args = (settings.variant,)
        tail = (settings.low, settings.high, population.mean, population.precision)
        sampling = self._sampling(seeds, population, moments, final) \
            if sample and self.m_step == "importance" else None

        def part(c):
            if sampling is None:
                return None
            return {key: (value if value is None or key == "prior_cov" else value[c])
                    for key, value in sampling.items()}

        with threadpool_limits(1):
            if len(chunks) == 1:
                parts = [_map_and_laplace(*args, data, *tail, starts, screen, n_best, options,
                                          HESSIAN_STEP, sampling)]
            else:
                parts = Parallel(n_jobs=len(chunks))(
                    delayed(_map_and_laplace)(*args, data.subset(c), *tail, starts[c],
                                              screen[c], n_best, options, HESSIAN_STEP,
                                              part(c))
                    for c in chunks)
        keys = ("z", "nll", "hessian", "n_negative", "success")
        keys += ("samples", "log_weight") if sampling is not None else ()
        out = {key: np.concatenate([p[key] for p in parts]) for key in keys}
        precision_post = out["hessian"] + population.precision
        out["cov"] = np.linalg.inv(precision_post)
        if sampling is not None:
            out["post_mean"], out["post_cov"], _, out["ess"] = _importance_moments(
                out["samples"], out["log_weight"], population)
        else:
            out["post_mean"], out["post_cov"] = out["z"], out["cov"]
        logdet_post = np.linalg.slogdet(precision_post)[1]
        deviation = out["z"] - population.mean
        quadratic = np.einsum("ni,ij,nj->n", deviation, population.precision, deviation)
        out["log_evidence"] = -out["nll"] - 0.5 * quadratic \
            - 0.5 * (population.logdet + logdet_post)
        return out

    def _sampling(self, seeds, population, moments, final):
        """The importance draws' fixed random numbers and proposal centres of an E-step."""
        k = population.mean.size
        size = self.n_importance * (FINAL_SAMPLE_FACTOR if final else 1)
        normals = np.empty((len(seeds), size, k))
        chi = np.empty((len(seeds), size))
        for i, seed in enumerate(seeds):
            # the same numbers in every intermediate E-step (common random numbers)
            rng = np.random.default_rng(_child_seed(_child_seed(seed, 3), int(final)))
            normals[i] = rng.standard_normal((size, k))
            chi[i] = rng.chisquare(IMPORTANCE_DF, size)
        return {"normals": normals, "chi": chi, "prior_cov": population.cov,
                "center": None if moments is None else moments["post_mean"],
                "cov": None if moments is None else moments["post_cov"]}

    def _em(self, data, seeds, settings, group, history):
        k = settings.variant.n_parameters
        population = _Population(np.zeros(k), INITIAL_VARIANCE * np.eye(k))
        previous, converged, iteration = None, False, 0
        moments, first_spread, estep = None, None, None
        scales = [np.sqrt(np.diag(population.cov))]
        label = f"EM {settings.variant.name}{'' if group is None else f' ({group})'}"
        # the bar's total is max_iter: EM usually stops earlier, when the prior settles
        with ProgressBar(self.max_iter, label, "iteration", self.verbose) as bar:
            draw = True
            for iteration in range(1, self.max_iter + 1):
                if draw:
                    kept = estep if moments is not None and self.m_step == "importance" else None
                    estep = self._estep(data, seeds, settings, population, previous, iteration,
                                        final=False, moments=moments)
                    previous = estep["z"]
                    evidence = estep["log_evidence"]
                    if kept is not None:
                        # earlier draws are kept (each weighted against its own proposal),
                        # so the Monte-Carlo error shrinks with every round of draws
                        for key in ("samples", "log_weight"):
                            estep[key] = np.concatenate([kept[key], estep[key]], axis=1)
                        estep["post_mean"], estep["post_cov"], _, estep["ess"] = \
                            _importance_moments(estep["samples"], estep["log_weight"],
                                                population)
                else:
                    # importance EM between draws: the same draws reweighted to the
                    # current prior (no likelihood evaluations, no Monte-Carlo jitter)
                    estep["post_mean"], estep["post_cov"], _, estep["ess"] = \
                        _importance_moments(estep["samples"], estep["log_weight"], population)
                if self.m_step == "importance":
                    evidence = _importance_evidence(estep, population)
                moments = {"post_mean": estep["post_mean"], "post_cov": estep["post_cov"]}
                if first_spread is None:
                    # what the data alone say about how participants differ
                    first_spread = estep["z"].std(axis=0)
                updated = self._m_step(estep)
                change = _prior_change(population, updated)
                history.append({"group": group, "iteration": iteration, "change": change,
                                "sum_nll": float(estep["nll"].sum()),
                                "sum_log_evidence": float(evidence.sum()), "new_draws": draw})
                bar.note(f"prior change {change:.4f} (tol {self.tol:g}), "
                         f"sum log evidence {evidence.sum():.1f}")
                bar.update()
                population = updated
                scales.append(np.sqrt(np.diag(population.cov)))
                if change < self.tol:
                    # settled on these draws; converged once fresh draws from proposals
                    # fitted to this prior do not move it either
                    if draw or self.m_step != "importance":
                        converged = True
                        break
                    draw = True
                else:
                    draw = self.m_step != "importance"
        # the reported MAPs, intervals and evidences are those under the final prior
        kept = estep
        estep = self._estep(data, seeds, settings, population, previous, iteration + 1,
                            moments=moments)
        if self.m_step == "importance":
            # the intervals' tails need every draw: EM's rounds join the final ones
            for key in ("samples", "log_weight"):
                estep[key] = np.concatenate([kept[key], estep[key]], axis=1)
            estep["post_mean"], estep["post_cov"], _, estep["ess"] = _importance_moments(
                estep["samples"], estep["log_weight"], population)
        collapsed = _collapsed(np.array(scales), first_spread)
        return {"population": population, "estep": estep, "n_iter": iteration,
                "converged": converged, "collapsed": collapsed}

    def _m_step(self, estep):
        """The prior maximising the expected complete-data log posterior.

        ``mu`` is the mean of the posterior means; the covariance is the summed
        second moment ``S = sum_n E[(z_n - mu)(z_n - mu)']`` (posterior means
        and covariances from importance sampling or Laplace, see ``m_step``)
        over ``N``, or with ``scale_prior=(a, b)`` (a Gamma(a, rate b) prior
        on each population precision) its MAP ``(S + 2 b I) / (N + 2 a - 2)``.
        """
        z, cov = estep["post_mean"], estep["post_cov"]
        mean = z.mean(axis=0)
        deviation = z - mean
        second = np.einsum("ni,nj->ij", deviation, deviation) + cov.sum(axis=0)
        if self.scale_prior is None:
            second = second / len(z)
        else:
            shape, rate = self.scale_prior
            second = (second + 2.0 * rate * np.eye(len(mean))) / (len(z) + 2.0 * shape - 2.0)
        if self.covariance == "diagonal":
            second = np.diag(np.diag(second))
        second = second + MIN_VARIANCE * np.eye(len(mean))
        return _Population(mean, second)

    # ------------------------------------------------------------- scoring
    def _population_of(self, groups):
        check_is_fitted(self, "populations_")
        if self.prior == "pooled":
            return {None: np.arange(len(groups))}
        units = {}
        for g in pd.unique(groups):
            if g not in self.populations_:
                raise ValueError(f"group_code {g!r} has no fitted prior (prior='group' was "
                                 f"fitted to groups {list(self.populations_)})")
            units[g] = np.flatnonzero(groups == g)
        return units
