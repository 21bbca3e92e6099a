"""Posterior tables of full-Bayes fits: summaries, populations, group differences, diagnostics.

A family of :mod:`avoidrl._tables` (fitted estimators -> DataFrames) for fits
that carry posterior draws (:class:`avoidrl.hierarchical.HierarchicalBayes`:
``draws_``, ``rhat_``, ``ess_bulk_``, ...). The report folder writes them for
``--method bayes``; each function refuses, naming the model, a fit without
draws.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from .._utils.fitted import _model_dict
from ..model_selection import PARETO_K_LIMIT

#: R-hat above which a quantity counts as not converged (Vehtari et al. 2021).
RHAT_LIMIT = 1.05
#: Bulk and tail ESS below this many per chain count as too few (Vehtari et al. 2021: 100).
ESS_PER_CHAIN = 100
#: The credible level of every interval of these tables.
LEVEL = 0.95

SUMMARY_COLUMNS = ["model", "participant_id", "group", "parameter", "mean", "median", "lower",
                   "upper", "r_hat", "ess_bulk", "ess_tail"]
POPULATION_COLUMNS = ["model", "prior", "group", "parameter", "median", "lower", "upper",
                      "mean_z", "mean_z_lower", "mean_z_upper", "sd_z", "sd_z_lower",
                      "sd_z_upper"]
DIFFERENCE_COLUMNS = ["model", "quantity", "parameter", "group_a", "group_b", "n_a", "n_b",
                      "mean", "lower", "upper", "p_direction"]
DIAGNOSTIC_COLUMNS = ["model", "quantity", "group", "parameter", "n", "max_r_hat",
                      "n_r_hat_above", "share_r_hat_above", "min_ess_bulk", "median_ess_bulk",
                      "min_ess_tail", "n_low_ess", "n_pareto_k_above", "converged"]


def _bayes_models(models):
    """The models, checked to carry posterior draws."""
    models = _model_dict(models)
    plain = [name for name, e in models.items() if not hasattr(e, "draws_")]
    if plain:
        raise ValueError(f"model(s) {plain} have no posterior draws (draws_): posterior "
                         "tables exist only for full-Bayes fits (HierarchicalBayes)")
    return models


def _credible(values, axis=0):
    tail = (1.0 - LEVEL) / 2.0
    return np.quantile(values, [tail, 1.0 - tail], axis=axis)


def posterior_summary(models):
    """Every participant's posterior per parameter, in long form.

    Parameters
    ----------
    models : dict {name: fitted HierarchicalBayes}, list of them, or one

    Returns
    -------
    DataFrame
        One row per model, participant and parameter: model, participant_id,
        group, parameter, mean, median, lower, upper (equal-tailed 95 %
        credible interval), r_hat, ess_bulk, ess_tail (ArviZ's rank-normalised
        split R-hat and effective sample sizes).
    """
    parts = []
    for name, fit in _bayes_models(models).items():
        ids, names = fit.params_.index, list(fit.params_.columns)
        flat = fit.draws_.reshape(-1, *fit.draws_.shape[2:])
        lower, upper = _credible(flat)
        n, k = len(ids), len(names)
        parts.append(pd.DataFrame({
            "model": name,
            "participant_id": np.repeat(ids.to_numpy(dtype=object), k),
            "group": np.repeat(fit.groups_.reindex(ids).to_numpy(dtype=object), k),
            "parameter": np.tile(names, n),
            "mean": fit.params_.to_numpy().ravel(),
            "median": fit.params_median_.to_numpy().ravel(),
            "lower": lower.ravel(), "upper": upper.ravel(),
            "r_hat": fit.rhat_.reindex(index=ids, columns=names).to_numpy().ravel(),
            "ess_bulk": fit.ess_bulk_.reindex(index=ids, columns=names).to_numpy().ravel(),
            "ess_tail": fit.ess_tail_.reindex(index=ids, columns=names).to_numpy().ravel(),
        }))
    return pd.concat(parts, ignore_index=True)[SUMMARY_COLUMNS]


def population_posterior(models):
    """The population posterior of every full-Bayes model (per group with ``prior='group'``).

    Returns
    -------
    DataFrame
        One row per model (and group) and parameter: model, prior, group
        (empty for a pooled prior), parameter, median, lower, upper (the
        population's median and central 95 % range in natural units, at the
        posterior means of its mean and sd), mean_z with its 95 % credible
        interval (mean_z_lower, mean_z_upper) and sd_z with its interval, in
        the logit space of the bounds.
    """
    parts = []
    for name, fit in _bayes_models(models).items():
        table = fit.group_params_.reset_index()
        if "group" not in table.columns:
            table["group"] = None
        table["model"] = name
        table["prior"] = fit.prior
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[POPULATION_COLUMNS]


def _sample_differences(fit, name):
    """Posterior of the difference of two groups' mean parameter over their participants."""
    groups = fit.groups_.reindex(fit.params_.index).to_numpy(dtype=object)
    flat = fit.draws_.reshape(-1, *fit.draws_.shape[2:])           # (S, n, k)
    order = list(pd.unique(groups))
    means = {g: flat[:, groups == g].mean(axis=1) for g in order}  # (S, k) each
    counts = {g: int((groups == g).sum()) for g in order}
    rows = []
    for a, b in itertools.combinations(order, 2):
        delta = means[a] - means[b]
        lower, upper = _credible(delta)
        positive = (delta > 0).mean(axis=0)
        for j, parameter in enumerate(fit.params_.columns):
            rows.append({"model": name, "quantity": "sample", "parameter": parameter,
                         "group_a": a, "group_b": b, "n_a": counts[a], "n_b": counts[b],
                         "mean": float(delta[:, j].mean()), "lower": float(lower[j]),
                         "upper": float(upper[j]),
                         "p_direction": float(max(positive[j], 1.0 - positive[j]))})
    return rows


def _population_differences(fit, name):
    """The fit's ``group_differences_`` (``prior='group'``), in natural units."""
    table = getattr(fit, "group_differences_", None)
    if table is None:
        return []
    counts = fit.groups_.value_counts()
    rows = []
    for (parameter, a, b), row in table.iterrows():
        rows.append({"model": name, "quantity": "population", "parameter": parameter,
                     "group_a": a, "group_b": b, "n_a": int(counts.get(a, 0)),
                     "n_b": int(counts.get(b, 0)), "mean": float(row["difference"]),
                     "lower": float(row["difference_lower"]),
                     "upper": float(row["difference_upper"]),
                     "p_direction": float(row["p_direction"])})
    return rows


def posterior_group_differences(models):
    """The posterior of every pair of groups' difference, per model and parameter.

    Two quantities, both in natural units (``a - b``):

    * ``'sample'``: the difference of the two groups' mean parameter over
      their participants, computed draw by draw (every fit has it; with a
      pooled prior, shrinkage toward one population makes it conservative);
    * ``'population'``: the difference of the two groups' population medians
      (``prior='group'`` only: ``group_differences_``).

    Returns
    -------
    DataFrame
        model, quantity, parameter, group_a, group_b, n_a, n_b (participants),
        mean (posterior mean of the difference), lower, upper (its 95 %
        credible interval) and p_direction (the posterior probability of its
        more probable sign, 0.5 to 1). Empty with one group.
    """
    rows = []
    for name, fit in _bayes_models(models).items():
        rows += _population_differences(fit, name) + _sample_differences(fit, name)
    return pd.DataFrame(rows, columns=DIFFERENCE_COLUMNS)


def _diagnostic_row(name, quantity, group, parameter, rhat, bulk, tail, ess_floor, pareto):
    rhat, bulk, tail = (np.asarray(v, dtype=float) for v in (rhat, bulk, tail))
    above = int((rhat > RHAT_LIMIT).sum())
    low = int(((bulk < ess_floor) | (tail < ess_floor)).sum())
    return {"model": name, "quantity": quantity, "group": group, "parameter": parameter,
            "n": int(rhat.size), "max_r_hat": float(np.nanmax(rhat)),
            "n_r_hat_above": above, "share_r_hat_above": above / rhat.size,
            "min_ess_bulk": float(np.nanmin(bulk)), "median_ess_bulk": float(np.nanmedian(bulk)),
            "min_ess_tail": float(np.nanmin(tail)), "n_low_ess": low,
            "n_pareto_k_above": pareto, "converged": bool(above == 0)}


def posterior_diagnostics(models):
    """Convergence and mixing of every full-Bayes fit, per quantity and parameter.

    Returns
    -------
    DataFrame
        One row per model, quantity ('participants': every participant's
        parameter; 'mu': the population mean, per group with
        ``prior='group'``; 'sigma': the population sd) and parameter: n
        (quantities summarised), max_r_hat, n_r_hat_above and
        share_r_hat_above (R-hat above 1.05), min_ess_bulk, median_ess_bulk,
        min_ess_tail, n_low_ess (bulk or tail ESS below 100 per chain: poor
        mixing), n_pareto_k_above (participants whose PSIS-LOO Pareto k
        exceeds 0.7, the same on every row of a model) and converged (no
        R-hat above 1.05). Metropolis-within-Gibbs has no divergent
        transitions (those are a Hamiltonian sampler's), so there is no such
        column.
    """
    rows = []
    for name, fit in _bayes_models(models).items():
        floor = ESS_PER_CHAIN * fit.draws_.shape[0]
        pareto = int((fit.pareto_k_ > PARETO_K_LIMIT).sum())
        for parameter in fit.params_.columns:
            rows.append(_diagnostic_row(name, "participants", None, parameter,
                                        fit.rhat_[parameter], fit.ess_bulk_[parameter],
                                        fit.ess_tail_[parameter], floor, pareto))
        for (quantity, group, parameter), row in fit.population_diagnostics_.iterrows():
            rows.append(_diagnostic_row(name, quantity, group, parameter, [row["r_hat"]],
                                        [row["ess_bulk"]], [row["ess_tail"]], floor, pareto))
    return pd.DataFrame(rows, columns=DIAGNOSTIC_COLUMNS)
