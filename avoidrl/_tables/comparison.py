"""Model-comparison tables: criteria, group criteria and differences, evidence, BMS, iBIC.

The first family of :mod:`avoidrl._tables` (fitted estimators -> DataFrames):
per-participant criteria (AIC, BIC, the Laplace evidence of empirical-Bayes
fits), their group means, best-fit shares and differences from the best
model, the log evidences and the random-effects Bayesian model selection
over them, and the population tables of hierarchical fits (population
parameters, iBIC, EM history).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _stats

from .._bms import log_evidence_table, random_effects_bms
from .._utils.fitted import CRITERIA, _model_dict, fit_method_of, fit_methods
from ._common import _t_ci

#: -2 x the Laplace log evidence of an empirical-Bayes fit, compared like AIC/BIC.
LAPLACE = "laplace"
#: -2 x the PSIS-LOO log predictive density of a full-Bayes fit, compared like AIC/BIC.
LOO = "loo"
COMPARISONS = CRITERIA + (LAPLACE, LOO)
_CRITERION_LABELS = {"aic": "AIC", "bic": "BIC", LAPLACE: "-2 log evidence (Laplace)",
                     LOO: "-2 elpd (PSIS-LOO)"}
#: The per-participant quantity behind each -2 x log criterion, and which fits have it.
_LOG_CRITERIA = {LAPLACE: ("log_evidence_", "Laplace log evidence", "empirical-Bayes"),
                 LOO: ("elpd_loo_", "PSIS-LOO log predictive density", "full-Bayes")}
# The registry of inference methods is complete here: importing avoidrl (which
# happens before this module runs) registers every built-in method.
#: How models can be fitted, in the order the methods were registered: ('ml', 'eb',
#: 'bayes'), maximum likelihood per participant, empirical Bayes or full hierarchical Bayes.
METHODS = tuple(fit_methods())
#: The log evidence each method's model comparison uses: {'ml': '-BIC/2', 'eb': 'Laplace',
#: 'bayes': 'PSIS-LOO'}.
EVIDENCE_LABELS = {method: cls.evidence_label for method, cls in fit_methods().items()}


# ------------------------------------------------------------------ helpers
def _check_comparison(criterion):
    """The criterion of a model comparison: 'aic', 'bic', 'laplace' or 'loo'."""
    key = str(criterion).lower()
    if key not in COMPARISONS:
        raise ValueError(f"criterion must be 'aic', 'bic', 'laplace' or 'loo', got "
                         f"{criterion!r}")
    return key


def criterion_label(criterion):
    """How a comparison criterion is named in figures and tables ('BIC', ...)."""
    return _CRITERION_LABELS[_check_comparison(criterion)]


def criterion_values(estimator, criterion, name=None):
    """Per-participant values of a comparison criterion of one fitted estimator.

    Parameters
    ----------
    estimator : fitted estimator
    criterion : {'aic', 'bic', 'laplace', 'loo'}
        'laplace' is ``-2 * log_evidence_`` (the Laplace approximation of an
        empirical-Bayes fit's log evidence), 'loo' is ``-2 * elpd_loo_`` (a
        full-Bayes fit's PSIS-LOO log predictive density): on the same scale
        as AIC and BIC (lower is better) but different quantities.
    name : str, optional
        The model's name in error messages.

    Returns
    -------
    Series
        Indexed by participant_id.

    Raises
    ------
    ValueError
        If the estimator has no such values (an empirical-Bayes or full-Bayes
        fit has no AIC/BIC, a maximum-likelihood fit no Laplace evidence or
        PSIS-LOO).
    """
    key = _check_comparison(criterion)
    name = name if name is not None else getattr(estimator, "model_name", repr(estimator))
    if key in _LOG_CRITERIA:
        attribute, what, kind = _LOG_CRITERIA[key]
        values = getattr(estimator, attribute, None)
        if values is None:
            own = ", ".join(f"{k!r}" for k in getattr(estimator, "comparison_criteria", {})
                            .values()) or "its own criteria"
            raise ValueError(f"model {name!r} has no {what} ({attribute}; only {kind} fits "
                             f"have one): compare it by {own}")
        return -2.0 * pd.Series(values, dtype=float)
    values = getattr(estimator, f"{key}_", None)
    if values is None:
        own = ", ".join(f"{k!r}" for k in estimator.comparison_criteria.values())
        raise ValueError(f"model {name!r} has no {key.upper()} ({key}_; only "
                         f"maximum-likelihood fits have one): compare it by {own}")
    return values


def _criterion_matrix(models, criterion):
    """Per-participant criterion values, one column per model, matched by participant id.

    Returns (wide DataFrame indexed by participant_id in the first model's
    order, groups Series on the same index, group order).
    """
    models = _model_dict(models)
    key = _check_comparison(criterion)
    names = list(models)
    first = models[names[0]]
    ids = first.params_.index
    for name in names[1:]:
        other = models[name].params_.index
        if set(other) != set(ids):
            missing = sorted(set(ids) - set(other), key=str)[:5]
            extra = sorted(set(other) - set(ids), key=str)[:5]
            raise ValueError(
                f"models {names[0]!r} and {name!r} were fitted to different participants "
                f"(only in {names[0]!r}: {missing}; only in {name!r}: {extra}); compare "
                "models fitted to the same data")
    wide = pd.DataFrame({name: criterion_values(models[name], key, name).reindex(ids)
                         for name in names}, index=ids)
    groups = first.groups_.reindex(ids).astype(object)
    order = list(pd.unique(groups.to_numpy()))
    if "full" in order:
        raise ValueError("a group is named 'full', which is the name of the all-participants "
                         "row; rename it")
    return wide, groups, order


# ------------------------------------------------------------- fitting methods
def fit_method(models):
    """How the models were fitted: 'ml' (maximum likelihood) or 'eb' (empirical Bayes).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one

    Returns
    -------
    str
        The ``fit_method`` every model shares: 'eb' when every model is an
        ``EmpiricalBayes`` fit, 'ml' when every model is a
        maximum-likelihood fit (see :data:`METHODS`).

    Raises
    ------
    ValueError
        If the models were fitted by different methods (say some are
        empirical-Bayes fits and others are not): their evidences (Laplace
        and -BIC/2) are different approximations, so one report does not
        compare them.
    """
    by_method = {}
    for name, estimator in _model_dict(models).items():
        by_method.setdefault(fit_method_of(estimator), ([], estimator))[0].append(name)
    if len(by_method) == 1:
        return next(iter(by_method))
    # "models ['Q'] are empirical-Bayes fits and ['R'] maximum-likelihood fits; ..."
    described = [f"{names} {'are ' if i == 0 else ''}{e.fit_method_name} fits"
                 for i, (names, e) in enumerate(by_method.values())]
    raise ValueError(f"models {', '.join(described[:-1])} and {described[-1]}; "
                     "fit every model of a report the same way")


# -------------------------------------------------------- information criteria
def information_criteria(models):
    """Per-participant fit statistics of every model, in long form.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one

    Returns
    -------
    DataFrame
        One row per participant and model: participant, group, model, nll,
        aic, bic, k (number of free parameters), n_trials (that participant's
        own count of trials with a choice, used in its BIC), n_missed (its
        missed trials, no choice made: in no likelihood term).

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import information_criteria
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=1)
    >>> learning, transfer = model.sample(n_participants=2, random_state=0)
    >>> table = information_criteria(model.fit(learning, transfer))
    >>> table.columns.tolist()
    ['participant', 'group', 'model', 'nll', 'aic', 'bic', 'k', 'n_trials', 'n_missed']
    """
    parts = []
    for name, estimator in _model_dict(models).items():
        if getattr(estimator, "aic_", None) is None or getattr(estimator, "bic_", None) is None:
            kind = estimator.fit_method_name
            raise ValueError(f"model {name!r} is {'an' if kind[0] in 'aeiou' else 'a'} {kind} "
                             "fit, which has no AIC/BIC; see model_evidence for its "
                             f"{estimator.evidence_label} log evidences")
        ids = estimator.params_.index
        parts.append(pd.DataFrame({
            "participant": ids.to_numpy(),
            "group": estimator.groups_.reindex(ids).to_numpy(dtype=object),
            "model": name,
            "nll": estimator.nll_.reindex(ids).to_numpy(),
            "aic": estimator.aic_.reindex(ids).to_numpy(),
            "bic": estimator.bic_.reindex(ids).to_numpy(),
            "k": int(estimator.n_parameters),
            "n_trials": estimator.n_trials_.reindex(ids).to_numpy(),
            # missed trials (no choice made) are in no term and not in n_trials
            "n_missed": _n_missed(estimator, ids),
        }))
    return pd.concat(parts, ignore_index=True)


def _n_missed(estimator, ids):
    """Each participant's missed trials; 0 for a fit made before they were counted."""
    missed = getattr(estimator, "n_missed_", None)
    if missed is None:
        return np.zeros(len(ids), dtype=int)
    return missed.reindex(ids).to_numpy()


def group_criteria(models, criterion="bic"):
    """Mean AIC or BIC per group and model (the reference's group_AIC/BIC.csv).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants.
    criterion : {'bic', 'aic', 'laplace', 'loo'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence,
        'loo' full-Bayes fits by -2 x their PSIS-LOO log predictive density.

    Returns
    -------
    DataFrame
        Index ``group``: the groups in order of first appearance, then
        ``full`` (all participants). Columns: one per model (the mean of the
        participants' criterion values), then ``best_model`` (the lowest mean).
    """
    wide, groups, order = _criterion_matrix(models, criterion)
    table = wide.groupby(groups.to_numpy(), sort=False).mean().reindex(order)
    table.loc["full"] = wide.mean()
    table.index.name = "group"
    table["best_model"] = table[list(wide.columns)].idxmin(axis=1)
    return table


def group_best_fit_percentages(models, criterion="bic"):
    """Percentage of participants best fit by each model, per group.

    Each participant's criterion values are compared across models by
    participant id (the reference compared rows by position, so its table
    mixed participants up: reference-spec Q18). Ties go to the first model.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace', 'loo'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence,
        'loo' full-Bayes fits by -2 x their PSIS-LOO log predictive density.

    Returns
    -------
    DataFrame
        Index ``group`` (groups in order of first appearance, then ``full``),
        one column per model; each row sums to 100.
    """
    wide, groups, order = _criterion_matrix(models, criterion)
    winners = pd.Series(np.asarray(wide.columns)[np.argmin(wide.to_numpy(), axis=1)],
                        index=wide.index)
    counts = pd.crosstab(groups.to_numpy(), winners.to_numpy()).reindex(
        index=order, columns=list(wide.columns), fill_value=0)
    counts.loc["full"] = counts.sum()
    table = counts.div(counts.sum(axis=1), axis=0) * 100
    table.index.name = "group"
    table.columns.name = None
    return table.astype(float)


def criterion_differences(models, criterion="bic"):
    """Per-participant difference of each model's AIC/BIC from the best model.

    The best model has the lowest mean over all participants. For every other
    model, the difference ``criterion(model) - criterion(best)`` is taken per
    participant (matched by id) and summarised by its mean and the
    half-width of its 95 % t confidence interval, ``t_{.975, n-1} sd / sqrt(n)``.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace', 'loo'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence,
        'loo' full-Bayes fits by -2 x their PSIS-LOO log predictive density.

    Returns
    -------
    DataFrame
        One row per model other than the best: model, best_model, mean, sd,
        n, ci. Empty (with these columns) when there is only one model.
    """
    wide, _, _ = _criterion_matrix(models, criterion)
    best = wide.mean().idxmin()
    rows = []
    for name in wide.columns:
        if name == best:
            continue
        difference = (wide[name] - wide[best]).to_numpy(dtype=float)
        rows.append({"model": name, "best_model": best, "mean": float(np.mean(difference)),
                     "sd": float(np.std(difference, ddof=1)) if len(difference) > 1 else np.nan,
                     "n": len(difference), "ci": _t_ci(difference)})
    return pd.DataFrame(rows, columns=["model", "best_model", "mean", "sd", "n", "ci"])


# ------------------------------------------------------ criterion distributions
def criterion_distributions(models, criterion="bic"):
    """Distribution of the participants' AIC or BIC per model.

    The numbers behind ``model_fits_distributions.png``. Each participant's
    BIC uses its own trial count n (``k ln n + 2 NLL``, the estimators'
    ``bic_``); the reference recomputed it with n = 480 for everyone
    (reference-spec Q10).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace', 'loo'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence,
        'loo' full-Bayes fits by -2 x their PSIS-LOO log predictive density.

    Returns
    -------
    DataFrame
        Indexed by model: n (participants), mean, sd (ddof=1), min, max,
        skewness and kurtosis (pandas' bias-corrected sample skewness and
        excess kurtosis, as the reference; NaN with fewer than 3 and 4
        participants).
    """
    key = _check_comparison(criterion)
    rows = {}
    for name, estimator in _model_dict(models).items():
        values = pd.Series(criterion_values(estimator, key, name), dtype=float).dropna()
        rows[name] = {"n": int(len(values)), "mean": values.mean(), "sd": values.std(),
                      "min": values.min(), "max": values.max(),
                      "skewness": values.skew(), "kurtosis": values.kurt()}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return table


# ------------------------------------------- evidence and Bayesian model selection
def model_evidence(models):
    """Participants x models log evidences, as the model comparison uses them.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        All maximum-likelihood or all empirical-Bayes fits (see :func:`fit_method`).

    Returns
    -------
    DataFrame
        Columns participant_id, group, one per model (the values of
        :func:`avoidrl.model_selection.log_evidence_table`: ``-BIC/2`` for
        maximum-likelihood fits, the Laplace log evidence ``log_evidence_``
        for empirical-Bayes fits), then ``evidence`` naming which of the two
        it is ('-BIC/2' or 'Laplace').
    """
    models = _model_dict(models)
    fit_method(models)  # one method for all, so one kind of evidence
    clash = sorted({"participant_id", "group", "evidence"} & set(models))
    if clash:
        raise ValueError(f"model name(s) {clash} clash with the table's own columns; rename them")
    table = log_evidence_table(models)
    first = models[next(iter(models))]
    out = table.reset_index()
    out.columns.name = None
    out.insert(1, "group", out["participant_id"].map(first.groups_.astype(object))
               .to_numpy(dtype=object))
    out["evidence"] = first.evidence_label
    return out


def bms_results(models):
    """Random-effects Bayesian model selection over the models' log evidences.

    :func:`avoidrl.model_selection.random_effects_bms` of
    :func:`avoidrl.model_selection.log_evidence_table`, with the 95 % interval
    of each model frequency from its marginal posterior,
    ``Beta(alpha_k, sum(alpha) - alpha_k)``.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators
        At least two models, all maximum-likelihood or all empirical-Bayes fits.

    Returns
    -------
    DataFrame
        One row per model: model, alpha, expected_frequency, frequency_lower,
        frequency_upper, exceedance_probability,
        protected_exceedance_probability, bor (the Bayesian omnibus risk, the
        same on every row), n_participants, evidence ('-BIC/2' or
        'Laplace'). ``attrs`` holds random_effects_bms's attrs.
    """
    models = _model_dict(models)
    if len(models) < 2:
        raise ValueError("Bayesian model selection compares at least 2 models; got "
                         f"{len(models)}")
    fit_method(models)  # one method for all, so one kind of evidence
    evidence = log_evidence_table(models)
    result = random_effects_bms(evidence)
    alpha = result["alpha"].to_numpy(dtype=float)
    rest = alpha.sum() - alpha
    table = result.reset_index()
    table.columns.name = None
    table.insert(3, "frequency_lower", _stats.beta.ppf(0.025, alpha, rest))
    table.insert(4, "frequency_upper", _stats.beta.ppf(0.975, alpha, rest))
    table["bor"] = float(result.attrs["bor"])
    table["n_participants"] = int(len(evidence))
    table["evidence"] = next(iter(models.values())).evidence_label
    table.attrs.update(result.attrs)
    return table


# ------------------------------------------------- population (hierarchical) tables
def _population_models(models, attribute):
    """The models, checked to have a fitted population (``attribute``: group_params_, ...)."""
    models = _model_dict(models)
    plain = [name for name, e in models.items() if not hasattr(e, attribute)]
    if plain:
        raise ValueError(f"model(s) {plain} are not empirical-Bayes fits; population "
                         "parameters, iBIC and the EM history exist only for those")
    return models


def population_parameters(models):
    """The fitted population (prior) of every empirical-Bayes model.

    Parameters
    ----------
    models : dict {name: fitted EmpiricalBayes}, list of them, or one

    Returns
    -------
    DataFrame
        One row per model (and group, with ``prior='group'``) and parameter:
        model, prior ('pooled' or 'group'), group (empty for a pooled prior),
        parameter, median, lower, upper (the population's median and central
        95 % range in natural units: the prior's, mapped back through the
        bounds), mean_z, sd_z (the prior's mean and sd in the logit space).
    """
    columns = ["model", "prior", "group", "parameter", "median", "lower", "upper", "mean_z",
               "sd_z"]
    parts = []
    for name, estimator in _population_models(models, "group_params_").items():
        table = estimator.group_params_.reset_index()
        if "group" not in table.columns:
            table["group"] = None
        table["model"] = name
        table["prior"] = estimator.prior
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


def ibic_table(models):
    """The integrated BIC of every empirical-Bayes model (group-level comparison).

    Parameters
    ----------
    models : dict {name: fitted EmpiricalBayes}, list of them, or one

    Returns
    -------
    DataFrame
        One row per model: model, ibic (Huys et al. 2011; lower is better),
        delta_ibic (from the lowest), best (the lowest), ibic_se (the
        Monte-Carlo standard error of ibic; NaN for fits saved before it was
        estimated), n_participants, n_iter and converged (of EM).
    """
    models = _population_models(models, "ibic_")
    table = pd.DataFrame({
        "model": list(models),
        "ibic": [float(e.ibic_) for e in models.values()],
        "ibic_se": [float(getattr(e, "ibic_se_", np.nan)) for e in models.values()],
        "n_participants": [int(len(e.params_)) for e in models.values()],
        "n_iter": [int(e.n_iter_) for e in models.values()],
        "converged": [bool(e.converged_) for e in models.values()],
    })
    table.insert(2, "delta_ibic", table["ibic"] - table["ibic"].min())
    table.insert(3, "best", table["delta_ibic"] == 0)
    return table


def em_history(models):
    """Every empirical-Bayes model's EM iterations, in long form.

    Parameters
    ----------
    models : dict {name: fitted EmpiricalBayes}, list of them, or one

    Returns
    -------
    DataFrame
        model, then the columns of ``history_``: (group, with
        ``prior='group'``), iteration, change (the largest move of the
        prior's quantiles, EM's convergence measure), sum_nll (at the MAPs),
        sum_log_evidence (Laplace).
    """
    parts = []
    for name, estimator in _population_models(models, "history_").items():
        table = estimator.history_.copy()
        table.insert(0, "model", name)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------ do the criteria agree?
#: A recommended winner leading by less than this many standard errors of its
#: lead is not separated from the runner-up by the data.
SEPARATION_SE = 2.0
_COMPARISON_COLUMNS = ["criterion", "winner", "statistic", "lead", "lead_in_se", "recommended"]


def _lead_row(criterion, values, se_of_lead):
    """The row of a lower-is-better criterion: ``values`` {model: value}."""
    ranked = sorted(values, key=values.get)
    winner = ranked[0]
    lead = values[ranked[1]] - values[winner] if len(ranked) > 1 else np.nan
    se = se_of_lead(winner, ranked[1]) if len(ranked) > 1 else np.nan
    return {"criterion": criterion, "winner": winner, "statistic": float(values[winner]),
            "lead": float(lead), "lead_in_se": float(lead / se) if se > 0 else np.nan}


def model_comparison_criteria(models):
    """The winner of every group-level comparison criterion, and the recommended one.

    Read through the fitted-model protocol: each group criterion of the
    estimators (``group_criteria``, e.g. ``'ibic'``: lowest wins, its lead
    over the runner-up divided by the standard error of that difference,
    ``sqrt(se_winner**2 + se_runner**2)`` from the ``<criterion>_se_``
    attributes); each per-participant criterion's mean over participants
    (``comparison_criteria``, as ``'mean_<key>'``: lowest mean wins, lead
    divided by the paired standard error of the participants' differences);
    and random-effects BMS on ``evidence_`` (``'bms'``: highest protected
    exceedance probability wins, lead = its margin in that probability,
    ``attrs['bor']`` = the Bayesian omnibus risk).

    The recommended criterion (the avoidrl README, "Which criterion for
    group-level comparison") is the first group criterion when the fits have
    one (the iBIC handles nested models), else the mean BIC, else the first
    per-participant criterion.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators
        At least two models fitted to the same participants by one method.

    Returns
    -------
    DataFrame
        One row per criterion: criterion, winner, statistic (the winner's
        iBIC, mean criterion or protected exceedance probability), lead (over
        the runner-up), lead_in_se (NaN for BMS, or without a standard
        error), recommended (True on one row). ``attrs``: ``agree`` (one
        winner for all), ``recommended``, ``bor``, ``evidence``.
    """
    models = _model_dict(models)
    if len(models) < 2:
        raise ValueError(f"comparing criteria needs at least 2 models; got {len(models)}")
    first = next(iter(models.values()))  # one method for all: its protocol answers
    fit_method(models)
    rows = []
    for attribute in first.group_criteria.values():
        values = {name: float(getattr(e, attribute)) for name, e in models.items()}
        errors = {name: float(getattr(e, attribute[:-1] + "_se_", np.nan))
                  for name, e in models.items()}
        rows.append(_lead_row(attribute.rstrip("_"), values,
                              lambda a, b, errors=errors: np.hypot(errors[a], errors[b])))
    for key in first.comparison_criteria.values():
        wide, _, _ = _criterion_matrix(models, key)

        def paired_se(a, b, wide=wide):
            difference = (wide[b] - wide[a]).to_numpy(dtype=float)
            return np.std(difference, ddof=1) / np.sqrt(len(difference)) \
                if len(difference) > 1 else np.nan
        rows.append(_lead_row(f"mean_{key}", wide.mean().to_dict(), paired_se))
    ids = first.params_.index
    bms = random_effects_bms(pd.DataFrame(
        {name: pd.Series(e.evidence_, dtype=float).reindex(ids) for name, e in models.items()}))
    # stable sort: a tie goes to the first model, as everywhere in the report
    pxp = bms["protected_exceedance_probability"].sort_values(ascending=False, kind="stable")
    rows.append({"criterion": "bms", "winner": pxp.index[0], "statistic": float(pxp.iloc[0]),
                 "lead": float(pxp.iloc[0] - pxp.iloc[1]), "lead_in_se": np.nan})
    table = pd.DataFrame(rows)
    keys = table["criterion"].tolist()
    recommended = keys[0] if first.group_criteria else \
        "mean_bic" if "mean_bic" in keys else keys[0]
    table["recommended"] = table["criterion"] == recommended
    table.attrs.update(agree=bool(table["winner"].nunique() == 1), recommended=recommended,
                       bor=float(bms.attrs["bor"]), evidence=first.evidence_label)
    return table[_COMPARISON_COLUMNS]
