"""Posterior summaries of :class:`~avoidrl.hierarchical.HierarchicalBayes`.

Below ``_bayes.py`` (the estimator calls these once its chains are sampled):
posterior means, medians and equal-tailed credible intervals, the population
table, group differences, and the ArviZ side (InferenceData, R-hat, ESS,
PSIS-LOO). ArviZ is imported only here, and only when a fit needs it.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd

from .._core.likelihood import Objective
from .._core.transform import Z95, Z_LIMIT, to_bounded, to_unbounded
from ..model_selection import PARETO_K_LIMIT  # noqa: F401  (read by _bayes.py)
from ._laplace import _gauss_logpdf, _importance_draws, _Population

#: integrated PSIS-LOO (:func:`integrated_log_likelihood`): inner importance draws per
#: participant, the posterior draws of the population used (thinned evenly per
#: chain), and the inflation of the participant's own posterior covariance in the
#: proposal (the iBIC's defensive t mixture, ``_laplace._importance_draws``)
LOO_INNER_DRAWS = 1000
LOO_MAX_DRAWS = 500
LOO_INFLATION = 1.5


def import_arviz():
    """ArviZ, or an ImportError saying how to install it (the ``bayes`` extra)."""
    try:
        with warnings.catch_warnings():
            # arviz 0.2x announces its refactor on import
            warnings.simplefilter("ignore", FutureWarning)
            import arviz
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError("HierarchicalBayes needs ArviZ: pip install 'avoidrl[bayes]' "
                          "(or pip install arviz)") from error
    return arviz


def interval_table(draws, mean, level):
    """The tidy ``params_ci_`` table: posterior mean and equal-tailed interval at ``level``.

    ``draws`` (chains, draws, n, k) in natural units; ``mean`` the ``params_`` frame.
    """
    flat = draws.reshape(-1, *draws.shape[2:])
    tail = (1.0 - level) / 2.0
    lower, upper = np.quantile(flat, [tail, 1.0 - tail], axis=0)
    ids, names = mean.index, list(mean.columns)
    table = pd.DataFrame({
        "participant_id": np.repeat(np.asarray(ids, dtype=object), len(names)),
        "parameter": np.tile(names, len(ids)),
        "estimate": mean.to_numpy().ravel(),
        "lower": lower.ravel(),
        "upper": upper.ravel(),
        "status": "interior",
    })
    return table.set_index(["participant_id", "parameter"])


def _credible(values, axis=0, level=0.95):
    tail = (1.0 - level) / 2.0
    return np.quantile(values, [tail, 1.0 - tail], axis=axis)


def summarise(fit, ids, names, low, high):
    """Set the posterior's point estimates, intervals and population tables on ``fit``."""
    flat = fit.draws_.reshape(-1, *fit.draws_.shape[2:])
    fit.params_ = pd.DataFrame(flat.mean(axis=0), index=ids, columns=names)
    fit.params_median_ = pd.DataFrame(np.median(flat, axis=0), index=ids, columns=names)
    fit.params_ci_ = interval_table(fit.draws_, fit.params_, 0.95)
    mu = fit.mu_draws_.reshape(-1, *fit.mu_draws_.shape[2:])          # (S, g, k)
    sigma = fit.sigma_draws_.reshape(-1, fit.sigma_draws_.shape[-1])  # (S, k)
    fit.group_sd_ = pd.Series(sigma.mean(axis=0), index=names, name="sd")
    fit.group_cov_ = pd.DataFrame(np.diag((sigma ** 2).mean(axis=0)), index=names,
                                  columns=names)
    means = {g: pd.Series(mu[:, j].mean(axis=0), index=names, name="mean")
             for j, g in enumerate(fit.group_names_)}
    tables = [population_table(mu[:, j], sigma, low, high, names).assign(group=g)
              for j, g in enumerate(fit.group_names_)]
    table = pd.concat(tables)
    if fit.prior == "pooled":
        fit.group_mean_ = means[None]
        fit.group_params_ = table.drop(columns="group")
    else:
        fit.group_mean_ = means
        fit.group_params_ = table.set_index("group", append=True) \
            .reorder_levels(["group", "parameter"])
        fit.group_differences_ = group_differences(mu, fit.group_names_, names, low, high)


def population_table(mu, sigma, low, high, names):
    """One population's posterior: (S, k) draws of its mean and sd in z."""
    mean_z, sd_z = mu.mean(axis=0), sigma.mean(axis=0)
    mu_lower, mu_upper = _credible(mu)
    sd_lower, sd_upper = _credible(sigma)
    return pd.DataFrame({
        "parameter": names,
        "median": to_bounded(mean_z, low, high),
        "lower": to_bounded(mean_z - Z95 * sd_z, low, high),
        "upper": to_bounded(mean_z + Z95 * sd_z, low, high),
        "mean_z": mean_z, "mean_z_lower": mu_lower, "mean_z_upper": mu_upper,
        "sd_z": sd_z, "sd_z_lower": sd_lower, "sd_z_upper": sd_upper,
    }).set_index("parameter")


def group_differences(mu, groups, names, low, high, level=0.95):
    """Posterior of every pair of groups' difference of population means.

    Parameters
    ----------
    mu : ndarray (S, g, k)
        Draws of the group means in z.

    Returns
    -------
    DataFrame
        Indexed by (parameter, group_a, group_b): ``mean``, ``lower``,
        ``upper`` of ``mu[a] - mu[b]`` in z, ``p_direction`` (posterior
        probability of its more probable sign), and the difference of the
        population medians in natural units (``difference``,
        ``difference_lower``, ``difference_upper``).
    """
    rows = []
    for (a, ga), (b, gb) in itertools.combinations(enumerate(groups), 2):
        delta = mu[:, a] - mu[:, b]
        natural = to_bounded(mu[:, a], low, high) - to_bounded(mu[:, b], low, high)
        lower, upper = _credible(delta, level=level)
        n_lower, n_upper = _credible(natural, level=level)
        positive = (delta > 0).mean(axis=0)
        for j, name in enumerate(names):
            rows.append({"parameter": name, "group_a": ga, "group_b": gb,
                         "mean": delta[:, j].mean(), "lower": lower[j], "upper": upper[j],
                         "p_direction": max(positive[j], 1.0 - positive[j]),
                         "difference": natural[:, j].mean(),
                         "difference_lower": n_lower[j], "difference_upper": n_upper[j]})
    columns = ["parameter", "group_a", "group_b", "mean", "lower", "upper", "p_direction",
               "difference", "difference_lower", "difference_upper"]
    return pd.DataFrame(rows, columns=columns).set_index(["parameter", "group_a", "group_b"])


def inference_data(fit, az):
    """The fit's draws as an ``arviz.InferenceData`` (see ``to_inference_data``)."""
    names = list(fit.params_.columns)
    participants = [str(p) for p in fit.params_.index]
    coords = {"participant": participants, "parameter": names}
    dims = {"theta": ["participant", "parameter"], "sigma": ["parameter"],
            "y": ["participant"]}
    if fit.prior == "pooled":
        mu = fit.mu_draws_[:, :, 0]
        dims["mu"] = ["parameter"]
    else:
        mu = fit.mu_draws_
        coords["group"] = [str(g) for g in fit.group_names_]
        dims["mu"] = ["group", "parameter"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return az.from_dict(posterior={"theta": fit.draws_, "mu": mu, "sigma": fit.sigma_draws_},
                            log_likelihood={"y": fit.log_likelihood_}, coords=coords, dims=dims)


def integrated_log_likelihood(fit, variant, data, low, high, group_index, rng,
                              n_inner=LOO_INNER_DRAWS, max_draws=LOO_MAX_DRAWS):
    """Each participant's log-likelihood with its parameters integrated over the population.

    For posterior draw ``s`` of the population (``mu_s`` of the participant's
    group, ``sigma_s``): ``log p(y_i | mu_s, sigma_s) = log ∫ p(y_i | z)
    N(z; mu_s, sigma_s) dz``, by importance sampling with ``n_inner`` draws
    from one proposal per participant (a multivariate t around its own
    posterior draws, their covariance inflated, mixed with the population
    averaged over the posterior), shared by every ``s``: the likelihood is
    evaluated ``n_inner`` times per participant, and only the population's
    density changes with ``s`` (Vehtari et al. 2016's integrated importance
    sampling). Leaving a participant's data out then moves only the
    population, not the participant's own parameters, so PSIS-LOO on these
    values is stable where the conditional log-likelihood's is not (Pareto k
    about 1 on ~500 trials per participant).

    Returns
    -------
    ndarray (n_chains, n_kept, n_participants)
        ``n_kept = ceil(n_samples / step)`` draws per chain, every ``step``-th
        with ``step`` the smallest that keeps at most ``max_draws`` in all.
    """
    n_chains, n_samples = fit.draws_.shape[:2]
    step = max(1, -(-n_chains * n_samples // max_draws))
    mu = fit.mu_draws_[:, ::step]                       # (c, d, g, k) in z
    sigma = fit.sigma_draws_[:, ::step]                 # (c, d, k)
    flat_mu = mu.reshape(-1, *mu.shape[2:])
    flat_sigma = sigma.reshape(-1, sigma.shape[-1])
    z_draws = np.clip(to_unbounded(fit.draws_, low, high), -Z_LIMIT, Z_LIMIT)
    objective = Objective(variant, data)
    n, k = data.n_participants, len(low)
    out = np.empty((flat_sigma.shape[0], n))
    for i in range(n):
        own = z_draws[:, :, i].reshape(-1, k)
        scale = LOO_INFLATION * np.cov(own, rowvar=False).reshape(k, k) + 1e-6 * np.eye(k)
        g = group_index[i]
        population = _Population(flat_mu[:, g].mean(axis=0), np.diag(
            (flat_sigma ** 2).mean(axis=0) + flat_mu[:, g].var(axis=0)))
        # the iBIC's defensive mixture: a t around the participant's own draws, and
        # a share from the population averaged over the posterior
        z, log_ratio = _importance_draws(population, own.mean(axis=0), scale, n_inner, rng,
                                         floor=0.0)
        log_q = _gauss_logpdf(z, population.mean, population.cov) - log_ratio
        log_lik = -objective(to_bounded(np.clip(z, -Z_LIMIT, Z_LIMIT), low, high),
                             np.full(n_inner, i))
        log_lik = np.where(np.isfinite(log_lik), log_lik, -np.inf)
        # log N(z_m; mu_s, sigma_s), draws s x inner draws m (diagonal population), as
        # two matrix products: sum_j -z^2 / (2 sigma^2) + z mu / sigma^2 - mu^2 / (2 sigma^2)
        precision = 1.0 / np.square(flat_sigma)
        mean = flat_mu[:, g]
        log_prior = (-0.5 * precision @ np.square(z).T + (mean * precision) @ z.T
                     + (-0.5 * (np.square(mean) * precision).sum(axis=1)
                        - np.log(flat_sigma).sum(axis=1) - 0.5 * k * np.log(2 * np.pi))[:, None])
        terms = log_prior
        terms += (log_lik - log_q)[None, :]
        top = terms.max(axis=1, keepdims=True)
        np.subtract(terms, top, out=terms)
        np.exp(terms, out=terms)
        # (scipy's logsumexp was half the cost here)
        out[:, i] = np.log(terms.sum(axis=1)) + top[:, 0] - np.log(n_inner)
    return out.reshape(mu.shape[0], mu.shape[1], n)


def diagnose(fit, az, ids, names, integrated=None):
    """R-hat, ESS (ArviZ) and PSIS-LOO; sets the diagnostic attributes on ``fit``.

    ``integrated`` (chains, draws, participants), from
    :func:`integrated_log_likelihood`, gives the integrated PSIS-LOO
    (``elpd_loo_``, ``pareto_k_``); the conditional one (each participant's
    log-likelihood at its own draws) is kept in ``elpd_loo_conditional_``
    and ``pareto_k_conditional_``.
    """
    idata = inference_data(fit, az)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # too few chains or draws: NaN diagnostics, said below
        rhat = az.rhat(idata)
        bulk = az.ess(idata, method="bulk")
        tail = az.ess(idata, method="tail")
        conditional = az.loo(idata, pointwise=True)
        loo = conditional
        if integrated is not None:
            # the posterior group only gives ArviZ the (chain, draw) layout
            marginal = az.from_dict(posterior={"draw_index": np.zeros(integrated.shape[:2])},
                                    log_likelihood={"y": integrated})
            loo = az.loo(marginal, pointwise=True)

    def frame(dataset):
        return pd.DataFrame(dataset["theta"].values, index=ids, columns=names)

    fit.rhat_, fit.ess_bulk_, fit.ess_tail_ = frame(rhat), frame(bulk), frame(tail)
    rows = []
    for quantity in ("mu", "sigma"):
        values = [np.atleast_2d(d[quantity].values) for d in (rhat, bulk, tail)]
        groups = fit.group_names_ if quantity == "mu" else [None]
        for j, group in enumerate(groups):
            for k, name in enumerate(names):
                rows.append({"quantity": quantity, "group": group, "parameter": name,
                             "r_hat": values[0][j, k], "ess_bulk": values[1][j, k],
                             "ess_tail": values[2][j, k]})
    fit.population_diagnostics_ = pd.DataFrame(rows).set_index(
        ["quantity", "group", "parameter"])
    fit.elpd_loo_ = pd.Series(np.asarray(loo.loo_i), index=ids, name="elpd_loo")
    fit.pareto_k_ = pd.Series(np.asarray(loo.pareto_k), index=ids, name="pareto_k")
    fit.elpd_loo_conditional_ = pd.Series(np.asarray(conditional.loo_i), index=ids,
                                          name="elpd_loo_conditional")
    fit.pareto_k_conditional_ = pd.Series(np.asarray(conditional.pareto_k), index=ids,
                                          name="pareto_k_conditional")


def nll_at(params, variant, data):
    """Each participant's negative log-likelihood at ``params`` (a participants x k frame)."""
    objective = Objective(variant, data)
    values = objective(params.to_numpy(dtype=float), np.arange(len(params)))
    return pd.Series(values, index=params.index, name="nll")
