"""Result tables of fitted models: pure functions from estimators to DataFrames.

The bottom layer of the reporting code. Nothing here writes files or draws
figures; :mod:`avoidrl.plotting` draws these tables and :mod:`avoidrl.report._write`
writes them into an output folder. Users import these functions from
:mod:`avoidrl.report`.

The table functions take fitted estimators (a dict ``{name: estimator}``, a
list of estimators, or one estimator) and return DataFrames laid out like the
files the reference pipeline writes into ``RL/modelling``, so the lab's
analysis code can read them. Participants are always matched by id, groups
come from the data (``group_code``, in order of first appearance) and every
table works with one model and with one group.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
from scipy import stats as _stats
from sklearn.utils import check_random_state

from .._core.data import PAIR_NAMES, STIMULUS_LETTERS, STIMULUS_NAMES, load_task_data, split_phases
from .._utils.fitted import (
    BOUND_TOLERANCE, _bounds_of, _check_tolerance, _model_dict, _model_of, bound_counts,
    bound_sides, is_empirical_bayes,
)
from ..recovery._common import named_estimators
from ..stats import CRITERIA

#: Posterior-predictive simulations per participant and model of a FIT. Five make the
#: simulation noise of a group's mean learning curve about 0.9 percentage points (1.8 with
#: one; the participants' own spread is several times larger), at about 0.07 s of CPU per
#: model and simulation for 60 participants.
DEFAULT_N_SIMULATIONS = 5
#: -2 x the Laplace log evidence of an empirical-Bayes fit, compared like AIC/BIC.
LAPLACE = "laplace"
COMPARISONS = CRITERIA + (LAPLACE,)
_CRITERION_LABELS = {"aic": "AIC", "bic": "BIC", LAPLACE: "-2 log evidence (Laplace)"}
#: How models were fitted: maximum likelihood per participant, or empirical Bayes.
METHODS = ("ml", "eb")
#: The log evidence each method's model comparison uses.
EVIDENCE_LABELS = {"ml": "-BIC/2", "eb": "Laplace"}
#: The statuses of an estimate in ``params_ci_``.
INTERVAL_STATUSES = ("interior", "at lower bound", "at upper bound", "not identified")
#: Learning contexts of the four pairs, in pair order (Reward1, Reward2, Punish1, Punish2).
CONTEXTS = dict(zip(PAIR_NAMES, ("Reward", "Reward", "Loss Avoid", "Loss Avoid")))
CONTEXT_ORDER = ("Reward", "Loss Avoid")
#: Quarters of each pair's learning trials (1-6, 7-12, 13-18, 19-24 of 24).
BINS = ("Early", "Mid-Early", "Mid-Late", "Late")
#: Transfer stimulus types: high/low reward, low/high punishment, novel.
STIMULUS_TYPES = {"HR": ("A", "C"), "LR": ("B", "D"), "LP": ("E", "G"), "HP": ("F", "H"),
                  "N": ("N",)}
EMPIRICAL = "empirical"
_LETTER = dict(zip(STIMULUS_NAMES, STIMULUS_LETTERS))
_TYPE_OF_LETTER = {letter: kind for kind, letters in STIMULUS_TYPES.items() for letter in letters}
_MAX_SEED = np.iinfo(np.int32).max




# ------------------------------------------------------------------ helpers
def _check_comparison(criterion):
    """The criterion of a model comparison: 'aic', 'bic' or 'laplace'."""
    key = str(criterion).lower()
    if key not in COMPARISONS:
        raise ValueError(f"criterion must be 'aic', 'bic' or 'laplace', got {criterion!r}")
    return key


def criterion_label(criterion):
    """How a comparison criterion is named in figures and tables ('BIC', ...)."""
    return _CRITERION_LABELS[_check_comparison(criterion)]


def criterion_values(estimator, criterion, name=None):
    """Per-participant values of a comparison criterion of one fitted estimator.

    Parameters
    ----------
    estimator : fitted estimator
    criterion : {'aic', 'bic', 'laplace'}
        'laplace' is ``-2 * log_evidence_`` (the Laplace approximation of an
        empirical-Bayes fit's log evidence), on the same scale as AIC and
        BIC (lower is better) but a different quantity.
    name : str, optional
        The model's name in error messages.

    Returns
    -------
    Series
        Indexed by participant_id.

    Raises
    ------
    ValueError
        If the estimator has no such values (an empirical-Bayes fit has no
        AIC/BIC, a maximum-likelihood fit no Laplace evidence).
    """
    key = _check_comparison(criterion)
    name = name if name is not None else getattr(estimator, "model_name", repr(estimator))
    if key == LAPLACE:
        evidence = getattr(estimator, "log_evidence_", None)
        if evidence is None:
            raise ValueError(f"model {name!r} has no Laplace log evidence (log_evidence_; "
                             "only empirical-Bayes fits have one): compare it by 'aic' or "
                             "'bic'")
        return -2.0 * pd.Series(evidence, dtype=float)
    values = getattr(estimator, f"{key}_", None)
    if values is None:
        raise ValueError(f"model {name!r} has no {key.upper()} ({key}_; an empirical-Bayes "
                         "fit has none): compare it by 'laplace'")
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


def _t_ci(values):
    """Half-width of the two-sided 95 % t confidence interval of a mean."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    n = len(values)
    if n < 2:
        return np.nan
    return float(_stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n))


# ------------------------------------------------------------- fitting methods
def fit_method(models):
    """How the models were fitted: 'ml' (maximum likelihood) or 'eb' (empirical Bayes).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one

    Returns
    -------
    str
        'eb' when every model is an ``EmpiricalBayes`` fit, 'ml' when none is.

    Raises
    ------
    ValueError
        If some models are empirical-Bayes fits and others are not: their
        evidences (Laplace and -BIC/2) are different approximations, so one
        report does not compare them.
    """
    kinds = {name: is_empirical_bayes(e) for name, e in _model_dict(models).items()}
    if all(kinds.values()):
        return "eb"
    if not any(kinds.values()):
        return "ml"
    eb = [n for n, k in kinds.items() if k]
    ml = [n for n, k in kinds.items() if not k]
    raise ValueError(f"models {eb} are empirical-Bayes fits and {ml} maximum-likelihood fits; "
                     "fit every model of a report the same way")


def _n_parameters(estimator):
    """k, the number of free parameters (an EB fit's: its params_ columns)."""
    k = getattr(estimator, "n_parameters", None)
    return int(k) if k is not None else int(len(estimator.params_.columns))


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
        own trial count, used in its BIC).

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import information_criteria
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=1)
    >>> learning, transfer = model.sample(n_participants=2, random_state=0)
    >>> table = information_criteria(model.fit(learning, transfer))
    >>> table.columns.tolist()
    ['participant', 'group', 'model', 'nll', 'aic', 'bic', 'k', 'n_trials']
    """
    parts = []
    for name, estimator in _model_dict(models).items():
        if is_empirical_bayes(estimator):
            raise ValueError(f"model {name!r} is an empirical-Bayes fit, which has no AIC/BIC; "
                             "see model_evidence for its Laplace log evidences")
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
        }))
    return pd.concat(parts, ignore_index=True)


def group_criteria(models, criterion="bic"):
    """Mean AIC or BIC per group and model (the reference's group_AIC/BIC.csv).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants.
    criterion : {'bic', 'aic', 'laplace'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence.

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
    criterion : {'bic', 'aic', 'laplace'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence.

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
    criterion : {'bic', 'aic', 'laplace'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence.

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


# ------------------------------------------------------------- parameter tables
def _format_value(value, digits=4):
    """A number with ``digits`` significant digits, never '-0' (NaN as 'nan')."""
    if not np.isfinite(value):
        return "nan"
    text = format(float(value), f".{digits}g")
    return text.lstrip("-") if float(text) == 0 else text


def parameter_descriptives(models, tol=BOUND_TOLERANCE):
    """Mean (sd) of every fitted parameter per group (param_fit_descriptives.csv).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    tol : float, default=1e-6
        Bound tolerance of the at-bound counts (see :func:`parameters_at_bounds`).

    Returns
    -------
    DataFrame
        Columns: model (the full model name, as in every other table; the
        reference wrote the base name), parameter, then one column per group
        (order of first appearance) holding ``"mean (sd)"`` with 4
        significant digits (sd with ddof=1; the reference rounded to 2
        decimals, which showed a parameter piled up at 0.01 as "0.01 (0.0)"),
        then n (participants), n_at_lower and n_at_upper (how many of them
        sit on the parameter's lower / upper bound, all groups together).
    """
    models = _model_dict(models)
    counts = bound_counts(models, tol=tol)
    rows, order = [], []
    for name, estimator in models.items():
        groups = estimator.groups_.reindex(estimator.params_.index).astype(object)
        order += [g for g in pd.unique(groups.to_numpy()) if g not in order]
        for parameter in estimator.params_.columns:
            row = {"model": name, "parameter": parameter}
            by_group = estimator.params_[parameter].groupby(groups.to_numpy(), sort=False)
            for group, values in by_group:
                row[group] = f"{_format_value(values.mean())} ({_format_value(values.std())})"
            mine = counts[(counts["model"] == name) & (counts["parameter"] == parameter)]
            row.update(n=int(mine["n"].sum()), n_at_lower=int(mine["n_lower"].sum()),
                       n_at_upper=int(mine["n_upper"].sum()))
            rows.append(row)
    return pd.DataFrame(rows, columns=["model", "parameter", *order, "n", "n_at_lower",
                                       "n_at_upper"])


def fit_tables(models):
    """The reference's fit_data and full_fit_data dictionaries.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one

    Returns
    -------
    fit_data : dict {model name: DataFrame}
        One row per participant (its best start): participant, pain_group
        (the group_code), run (index of the start), fit (the NLL), then the
        parameters in the model's order. For an empirical-Bayes fit: its MAP
        estimates, fit = the NLL at the MAP and run = NaN (it has no starts).
    full_fit_data : dict {model name: DataFrame}
        The same layout with one row per participant and start (an
        empirical-Bayes fit: the same table as fit_data).
    """
    fit_data, full_fit_data = {}, {}
    for name, estimator in _model_dict(models).items():
        if is_empirical_bayes(estimator):
            # no starts: one row per participant, its MAP and the NLL there
            ids = estimator.params_.index
            table = pd.DataFrame({
                "participant": ids.to_numpy(dtype=object),
                "pain_group": estimator.groups_.reindex(ids).to_numpy(dtype=object),
                "run": np.nan,
                "fit": estimator.nll_.reindex(ids).to_numpy(dtype=float),
            })
            for parameter in estimator.params_.columns:
                table[parameter] = estimator.params_[parameter].to_numpy(dtype=float)
            fit_data[name] = full_fit_data[name] = table
            continue
        fits = estimator.fits_
        table = pd.DataFrame({
            "participant": fits["participant_id"].to_numpy(dtype=object),
            "pain_group": fits["group_code"].to_numpy(dtype=object),
            "run": fits["start"].to_numpy(dtype=int),
            "fit": fits["nll"].to_numpy(dtype=float),
        })
        for parameter in estimator.parameter_names:
            table[parameter] = fits[parameter].to_numpy(dtype=float)
        full_fit_data[name] = table
        fit_data[name] = table.loc[fits["best"].to_numpy(dtype=bool)].reset_index(drop=True)
    return fit_data, full_fit_data


# ------------------------------------------------------------- fit diagnostics
#: Parameters compared across models in parameter_of_interest_comparisons.png
#: (the reference hard-coded one model for each, reference-spec Q33).
PARAMETERS_OF_INTEREST = ("weighting_factor", "contextual_lr", "mixing_factor")
#: Absolute NLL tolerance of :func:`fit_by_starts` ("within tol of the best").
START_TOLERANCE = 0.01
#: Transfer choice-rate columns of the outlier table: A = (A + C) / 2,
#: B = (B + D) / 2, E = (E + G) / 2, F = (F + H) / 2, N.
_OUTLIER_RATES = {"A": "HR", "B": "LR", "E": "LP", "F": "HP", "N": "N"}


def criterion_distributions(models, criterion="bic"):
    """Distribution of the participants' AIC or BIC per model.

    The numbers behind ``model_fits_distributions.png``. Each participant's
    BIC uses its own trial count n (``k ln n + 2 NLL``, the estimators'
    ``bic_``); the reference recomputed it with n = 480 for everyone
    (reference-spec Q10).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace'}
        'laplace' compares empirical-Bayes fits by -2 x their Laplace log evidence.

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


def fit_by_starts(models, tol=START_TOLERANCE):
    """How the fit improves with the number of starts, from every start.

    For r = 1 .. n_starts, each participant's best (lowest) NLL among its
    first r starts (start indices 0 .. r-1 of ``fits_``), averaged over
    participants. This is what the reference's ``fit-by-runs.png`` says it
    shows; the reference computed it from the best-start table instead, so
    its curve was the mean NLL grouped by which start won (reference-spec
    Q19).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Fitted avoidrl estimators (they keep every start in ``fits_``).
    tol : float, default=0.01
        NLL tolerance of ``share_at_best``.

    Returns
    -------
    DataFrame
        One row per model and r: model, starts (r), mean_best_nll,
        n_participants, share_at_best (fraction of participants whose best
        NLL among the first r starts is within ``tol`` of their best over all
        starts). A start whose NLL is NaN never counts as best; a participant
        without a finite NLL among its first r starts makes mean_best_nll NaN.
        Participants may have different numbers of starts: r runs up to the
        largest, and a participant with fewer starts counts with its best
        over all of them.

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import fit_by_starts
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=3, random_state=0)
    >>> learning, transfer = model.sample(n_participants=2, random_state=0)
    >>> table = fit_by_starts(model.fit(learning, transfer))
    >>> table["starts"].tolist()
    [1, 2, 3]
    >>> bool(table["mean_best_nll"].is_monotonic_decreasing)
    True
    """
    rows = []
    for name, estimator in _model_dict(models).items():
        fits = getattr(estimator, "fits_", None)
        if fits is None:
            raise ValueError(f"model {name!r} has no fits_ table of its starts")
        # Participants may have different numbers of starts (extra rounds of starts
        # for some): number each participant's starts in order and pad with +inf, so a
        # participant with fewer starts keeps the best over all of its starts.
        ordered = fits.sort_values(["participant_id", "start"], kind="stable")
        position = ordered.groupby("participant_id", sort=False).cumcount().to_numpy()
        index, participants = pd.factorize(ordered["participant_id"])
        width = position.max() + 1 if len(position) else 0
        nll = np.full((len(participants), width), np.inf)
        values = ordered["nll"].to_numpy(dtype=float)
        nll[index, position] = np.where(np.isnan(values), np.inf, values)
        best_so_far = np.minimum.accumulate(nll, axis=1)
        final = best_so_far[:, -1:]
        at_best = best_so_far <= final + tol
        for r in range(nll.shape[1]):
            column = best_so_far[:, r]
            mean = float(column.mean()) if np.isfinite(column).all() else np.nan
            rows.append({"model": name, "starts": r + 1, "mean_best_nll": mean,
                         "n_participants": int(len(column)),
                         "share_at_best": float(at_best[:, r].mean())})
    return pd.DataFrame(rows, columns=["model", "starts", "mean_best_nll", "n_participants",
                                       "share_at_best"])


def parameters_at_bounds(models, tol=BOUND_TOLERANCE):
    """Fitted parameters that sit on a bound, one row each.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    tol : float, default=1e-6
        A value counts as on a bound when it is within ``tol * (high - low)``
        of it. The bounds are the ones the model was fitted with
        (``bounds_``; an empirical-Bayes fit's model's bounds). The reference
        tested exact equality with the default bounds, whatever bounds were
        fitted.

    Returns
    -------
    DataFrame
        Columns model, participant, group, parameter, value, lower, upper,
        bound ('lower' or 'upper'), in model, participant and parameter
        order.
    """
    _check_tolerance(tol)
    columns = ["model", "participant", "group", "parameter", "value", "lower", "upper", "bound"]
    rows = []
    for name, estimator in _model_dict(models).items():
        sides = bound_sides(estimator, tol, name)
        bounds = _bounds_of(estimator)
        params = estimator.params_
        groups = estimator.groups_.reindex(params.index)
        for participant, values in params.iterrows():
            for parameter, value in values.items():
                side = sides.at[participant, parameter]
                if side is not None:
                    low, high = bounds[parameter]
                    rows.append({"model": name, "participant": participant,
                                 "group": groups.loc[participant], "parameter": parameter,
                                 "value": float(value), "lower": low, "upper": high,
                                 "bound": side})
    return pd.DataFrame(rows, columns=columns)


def _choice_summary(learning, transfer, participants):
    """accuracy (0-1) and A/B/E/F/N transfer choice rates (0-1) per participant."""
    if not len(participants):
        return pd.DataFrame({"participant": pd.Series(dtype=object),
                             **{c: pd.Series(dtype=float) for c in ("accuracy", *_OUTLIER_RATES)}})
    learning = learning[learning["participant_id"].isin(participants)]
    transfer = transfer[transfer["participant_id"].isin(participants)]
    better = (learning["choice_made"].to_numpy(float) == 0) == \
        (learning["symbol_L_value"].to_numpy(float) > learning["symbol_R_value"].to_numpy(float))
    accuracy = pd.Series(better.astype(float)).groupby(
        learning["participant_id"].to_numpy(dtype=object)).mean()
    _, choice = _behaviour(learning, transfer)
    rates = choice.pivot(index="participant", columns="stimulus", values="choice_rate") / 100
    table = pd.DataFrame({"participant": pd.Series(list(participants), dtype=object)})
    table["accuracy"] = accuracy.reindex(table["participant"]).to_numpy(dtype=float)
    for column, kind in _OUTLIER_RATES.items():
        values = rates[kind] if kind in rates.columns else pd.Series(dtype=float)
        table[column] = values.reindex(table["participant"]).to_numpy(dtype=float)
    return table


def parameter_outliers(models, X_learning, X_transfer=None, *, tol=BOUND_TOLERANCE,
                       proportion=0.5):
    """The reference's parameter-at-bound outlier analysis (parameter_outlier_results.pkl).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (as in ``fit``), for the outliers'
        accuracy and choice rates.
    tol : float, default=1e-6
        Bound tolerance, as a fraction of each parameter's range (see
        :func:`parameters_at_bounds`).
    proportion : float, default=0.5
        A participant is an outlier when more than ``round(proportion * k)``
        of its k parameters sit on a bound (numpy rounding, half to even, as
        the reference: k = 3 -> 2, 4 -> 2, 5 -> 2, 7 -> 4).

    Returns
    -------
    dict
        participant_outliers : {model: Series}
            Participants with at least one parameter on a bound -> how many,
            most first (ties in participant order).
        model_outliers : {model: Series}
            Number of parameters on a bound (1, 2, ...) -> number of
            participants.
        outliers_summary : DataFrame
            model_outliers as a table: rows = models, columns = 1 .. the
            largest count, then ``total`` (participants with any parameter
            on a bound).
        model_params : {model: int}
            k, the model's number of free parameters (the reference counted
            every parameter its base model can have, active or not).
        outlier_data : {model: DataFrame}
            The outliers: participant, accuracy (share of learning choices of
            the better option, i.e. 1 - mean of choosing the worse one), and
            the transfer choice rates (0-1) A = (A + C) / 2, B = (B + D) / 2,
            E = (E + G) / 2, F = (F + H) / 2 and N. A rate averages the
            stimuli that were shown (NaN if neither was).

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import parameter_outliers
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=2, random_state=0)
    >>> learning, transfer = model.sample(n_participants=3, random_state=0)
    >>> results = parameter_outliers(model.fit(learning, transfer), learning, transfer)
    >>> list(results)
    ['participant_outliers', 'model_outliers', 'outliers_summary', 'model_params', 'outlier_data']
    >>> results["model_params"]
    {'QLearning+novel': 4}
    """
    models = _model_dict(models)
    learning, transfer = split_phases(X_learning, X_transfer)
    at_bounds = parameters_at_bounds(models, tol=tol)
    participant_outliers, model_outliers, model_params, outlier_data = {}, {}, {}, {}
    for name, estimator in models.items():
        ids = list(estimator.params_.index)
        rows = at_bounds[at_bounds["model"] == name]
        counts = rows.groupby("participant", sort=False).size().reindex(ids).dropna()
        counts = counts.astype(int).sort_values(ascending=False, kind="stable")
        counts.index.name, counts.name = "participant", "count"
        participant_outliers[name] = counts
        per_count = counts.value_counts().sort_index()
        per_count.index.name, per_count.name = "parameters_at_bound", "participants"
        model_outliers[name] = per_count
        k = _n_parameters(estimator)
        model_params[name] = k
        threshold = int(np.round(proportion * k))
        flagged = [p for p in counts.index if counts[p] > threshold]
        missing = sorted(set(flagged) - set(pd.unique(learning["participant_id"])), key=str)
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        outlier_data[name] = _choice_summary(learning, transfer, flagged)
    largest = max([int(s.index.max()) for s in model_outliers.values() if len(s)], default=0)
    summary = pd.DataFrame({count: [int(model_outliers[name].get(count, 0)) for name in models]
                            for count in range(1, largest + 1)},
                           index=pd.Index(list(models), name="model"), dtype=int)
    summary["total"] = summary.sum(axis=1).astype(int)
    return {"participant_outliers": participant_outliers, "model_outliers": model_outliers,
            "outliers_summary": summary, "model_params": model_params,
            "outlier_data": outlier_data}


def _interest_items(models, parameters):
    """[(model, parameter)] of the fitted models that have a parameter of interest."""
    parameters = (parameters,) if isinstance(parameters, str) else tuple(parameters)
    return [(name, parameter) for name, estimator in models.items()
            for parameter in parameters if parameter in estimator.params_.columns]


def parameter_of_interest_values(models, parameters=PARAMETERS_OF_INTEREST):
    """The parameters of interest of every model, side by side per participant.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    parameters : sequence of str, default=('weighting_factor', 'contextual_lr', 'mixing_factor')
        Parameter names; every fitted model that has one contributes it.

    Returns
    -------
    DataFrame
        Indexed by participant_id (the participants of the first such model,
        in its order), one column per (model, parameter) pair, a
        MultiIndex. ``contextual_lr`` and any other parameter that
        :func:`avoidrl.stats.log_transform` transforms are log-transformed, as
        in the reference's figure; mixing_factor and weighting_factor are not.
        No columns when no model has any of the parameters.
    """
    from ..stats import log_transform

    models = _model_dict(models)
    items = _interest_items(models, parameters)
    columns = pd.MultiIndex.from_tuples(items, names=["model", "parameter"]) if items else \
        pd.MultiIndex.from_tuples([], names=["model", "parameter"])
    if not items:
        return pd.DataFrame(columns=columns)
    ids = models[items[0][0]].params_.index
    table = pd.DataFrame(
        {(name, parameter): log_transform(models[name].params_[parameter], parameter)
         .reindex(ids) for name, parameter in items}, index=ids)
    table.columns = columns
    return table


def _interest_at_bound(models, values, tol=BOUND_TOLERANCE):
    """Booleans shaped like ``values`` (of :func:`parameter_of_interest_values`): on a bound."""
    models = _model_dict(models)
    mask = pd.DataFrame(False, index=values.index, columns=values.columns)
    for name, parameter in values.columns:
        sides = bound_sides(models[name], tol, name)[parameter].reindex(values.index)
        mask[(name, parameter)] = sides.notna().to_numpy()
    return mask


def _pearson(x, y):
    """(r, p) of Pearson's correlation; NaN with fewer than 3 points or no variance."""
    if len(x) >= 3 and np.std(x) > 0 and np.std(y) > 0:
        result = _stats.pearsonr(x, y)
        return float(result[0]), float(result[1])
    return np.nan, np.nan


def parameter_of_interest_correlations(models, parameters=PARAMETERS_OF_INTEREST,
                                       tol=BOUND_TOLERANCE):
    """Pearson correlations of the parameters of interest across models.

    Generalises the reference's parameter_of_interest_comparisons (which
    hard-coded Advantage+novel, Relative+novel and Hybrid2012+novel,
    reference-spec Q33) to any fitted models: every pair of (model,
    parameter) columns of :func:`parameter_of_interest_values` is
    correlated over the participants both models were fitted to, once with
    every participant and once without the participants whose value of
    either parameter sits on a bound (a pile-up on a bound can make a
    correlation out of a few interior points).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    parameters : sequence of str, default=('weighting_factor', 'contextual_lr', 'mixing_factor')
    tol : float, default=1e-6
        Bound tolerance, as a fraction of each parameter's range (see
        :func:`parameters_at_bounds`).

    Returns
    -------
    DataFrame
        One row per pair: model_x, parameter_x, model_y, parameter_y,
        transform_x, transform_y ('log' or 'none'), r, p_value, n (every
        participant), n_at_bound (participants with either value on a
        bound), r_interior, p_value_interior, n_interior (the others). r and
        p are NaN with fewer than 3 participants or a constant parameter.
        Empty (with these columns) when fewer than two (model, parameter)
        columns exist.
    """
    from ..stats import is_log_transformed

    values = parameter_of_interest_values(models, parameters)
    at_bound = _interest_at_bound(models, values, tol)
    columns = ["model_x", "parameter_x", "model_y", "parameter_y", "transform_x",
               "transform_y", "r", "p_value", "n", "n_at_bound", "r_interior",
               "p_value_interior", "n_interior"]
    items = list(values.columns)
    rows = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            pair = values[[items[i], items[j]]].dropna()
            x, y = pair.iloc[:, 0].to_numpy(float), pair.iloc[:, 1].to_numpy(float)
            bounded = at_bound.loc[pair.index, [items[i], items[j]]].any(axis=1).to_numpy()
            r, p = _pearson(x, y)
            r_in, p_in = _pearson(x[~bounded], y[~bounded])
            rows.append({"model_x": items[i][0], "parameter_x": items[i][1],
                         "model_y": items[j][0], "parameter_y": items[j][1],
                         "transform_x": "log" if is_log_transformed(items[i][1]) else "none",
                         "transform_y": "log" if is_log_transformed(items[j][1]) else "none",
                         "r": r, "p_value": p, "n": int(len(x)),
                         "n_at_bound": int(bounded.sum()), "r_interior": r_in,
                         "p_value_interior": p_in, "n_interior": int((~bounded).sum())})
    return pd.DataFrame(rows, columns=columns)


# ------------------------------------------- intervals, evidence and model selection
def parameter_intervals(models):
    """Every model's per-participant estimates with their 95 % intervals, in long form.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Fits with a ``params_ci_`` table (maximum-likelihood fits: Wald
        intervals; empirical-Bayes fits: Laplace posterior intervals, both
        computed in the logit space of the bounds).

    Returns
    -------
    DataFrame
        Columns model, participant_id, group, parameter, estimate, lower,
        upper, status ('interior', 'at lower bound', 'at upper bound' or 'not
        identified'; lower and upper are NaN unless 'interior'), in model,
        participant and parameter order.
    """
    columns = ["model", "participant_id", "group", "parameter", "estimate", "lower", "upper",
               "status"]
    parts = []
    for name, estimator in _model_dict(models).items():
        intervals = getattr(estimator, "params_ci_", None)
        if intervals is None:
            raise ValueError(f"model {name!r} has no params_ci_ (intervals); fit it with "
                             "avoidrl")
        table = intervals.reset_index()
        table.insert(0, "model", name)
        groups = estimator.groups_.astype(object)
        table.insert(2, "group", table["participant_id"].map(groups).to_numpy(dtype=object))
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


def interval_status_counts(estimator):
    """{status: number of estimates} of one fit's ``params_ci_``, every status listed."""
    counts = estimator.params_ci_["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in INTERVAL_STATUSES}


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
    from .._bms import log_evidence_table  # late: _bms imports this module

    models = _model_dict(models)
    method = fit_method(models)
    clash = sorted({"participant_id", "group", "evidence"} & set(models))
    if clash:
        raise ValueError(f"model name(s) {clash} clash with the table's own columns; rename them")
    table = log_evidence_table(models)
    first = models[next(iter(models))]
    out = table.reset_index()
    out.columns.name = None
    out.insert(1, "group", out["participant_id"].map(first.groups_.astype(object))
               .to_numpy(dtype=object))
    out["evidence"] = EVIDENCE_LABELS[method]
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
    from .._bms import log_evidence_table, random_effects_bms  # late: _bms imports this module

    models = _model_dict(models)
    if len(models) < 2:
        raise ValueError("Bayesian model selection compares at least 2 models; got "
                         f"{len(models)}")
    method = fit_method(models)
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
    table["evidence"] = EVIDENCE_LABELS[method]
    table.attrs.update(result.attrs)
    return table


def _eb_models(models):
    models = _model_dict(models)
    plain = [name for name, e in models.items() if not is_empirical_bayes(e)]
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
    for name, estimator in _eb_models(models).items():
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
        delta_ibic (from the lowest), best (the lowest), n_participants,
        n_iter and converged (of EM).
    """
    models = _eb_models(models)
    table = pd.DataFrame({
        "model": list(models),
        "ibic": [float(e.ibic_) for e in models.values()],
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
    for name, estimator in _eb_models(models).items():
        table = estimator.history_.copy()
        table.insert(0, "model", name)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


# ------------------------------------------------------- posterior predictive
def _behaviour(learning, transfer):
    """Per-participant learning accuracy (by context x bin) and transfer choice rates."""
    learning = learning.reset_index(drop=True)
    participant = learning["participant_id"].to_numpy(dtype=object)
    pair = learning["symbol_names"].astype(object).to_numpy()
    left_better = learning["symbol_L_value"].to_numpy(float) > \
        learning["symbol_R_value"].to_numpy(float)
    chose_left = learning["choice_made"].to_numpy(float) == 0
    trial = learning.groupby([participant, pair], sort=False).cumcount().to_numpy() + 1
    n_trials = learning.groupby([participant, pair], sort=False)["symbol_names"] \
        .transform("size").to_numpy()
    quarter = np.clip(np.ceil(4 * trial / n_trials).astype(int), 1, 4) - 1
    frame = pd.DataFrame({
        "participant": participant,
        "group": learning["group_code"].to_numpy(dtype=object),
        "context": pd.Series(pair).map(CONTEXTS).to_numpy(dtype=object),
        "bin": np.asarray(BINS, dtype=object)[quarter],
        "accuracy": 100.0 * (chose_left == left_better),
    })
    accuracy = (frame.groupby(["participant", "group", "context", "bin"], sort=False)["accuracy"]
                .mean().reset_index())

    transfer = transfer.reset_index(drop=True)
    left = transfer["symbol_L_name"].astype(object).map(_LETTER).to_numpy(dtype=object)
    right = transfer["symbol_R_name"].astype(object).map(_LETTER).to_numpy(dtype=object)
    chosen = np.where(transfer["choice_made"].to_numpy(float) == 0, left, right)
    ids = transfer["participant_id"].to_numpy(dtype=object)
    codes = transfer["group_code"].to_numpy(dtype=object)
    shown = pd.DataFrame({
        "participant": np.concatenate([ids, ids]), "group": np.concatenate([codes, codes]),
        "letter": np.concatenate([left, right]),
        "chosen": 100.0 * np.concatenate([chosen == left, chosen == right]),
    })
    per_letter = (shown.groupby(["participant", "group", "letter"], sort=False)["chosen"]
                  .mean().reset_index())
    per_letter["stimulus"] = per_letter["letter"].map(_TYPE_OF_LETTER)
    choice = (per_letter.groupby(["participant", "group", "stimulus"], sort=False)["chosen"]
              .mean().rename("choice_rate").reset_index())
    return accuracy, choice


def _order_behaviour(accuracy, choice, participants):
    """Sort rows by participant order, context, bin and stimulus type."""
    rank = {p: i for i, p in enumerate(participants)}
    accuracy = accuracy.assign(
        _p=accuracy["participant"].map(rank),
        _c=accuracy["context"].map({c: i for i, c in enumerate(CONTEXT_ORDER)}),
        _b=accuracy["bin"].map({b: i for i, b in enumerate(BINS)}))
    choice = choice.assign(
        _p=choice["participant"].map(rank),
        _s=choice["stimulus"].map({s: i for i, s in enumerate(STIMULUS_TYPES)}))
    accuracy = accuracy.sort_values(["_p", "_c", "_b"]).drop(columns=["_p", "_c", "_b"])
    choice = choice.sort_values(["_p", "_s"]).drop(columns=["_p", "_s"])
    return accuracy.reset_index(drop=True), choice.reset_index(drop=True)


def posterior_predictive(models, X_learning, X_transfer=None, random_state=None,
                         n_simulations=1):
    """Simulate the fitted models on each participant's own task and summarise behaviour.

    Each fitted participant is simulated by ``estimator.sample`` with its own
    best-fit parameters on its own learning sequence (the observed outcomes of
    both options) and its own transfer pairs, as in the reference's
    posterior-predictive step; the participants' observed behaviour is
    summarised the same way.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (as in ``fit``).
    random_state : int, RandomState instance or None
        Seeds every simulation.
    n_simulations : int, default=1
        Simulated runs per participant and model.

    Returns
    -------
    accuracy : DataFrame
        One row per (source, model, simulation, participant, context, bin):
        source ('model' or 'empirical'), model (the model name, or
        'empirical'), simulation (0-based; NA for the empirical rows),
        participant, group, context ('Reward' / 'Loss Avoid'), bin ('Early',
        'Mid-Early', 'Mid-Late', 'Late': quarters of the pair's trials, i.e.
        trials 1-6 / 7-12 / 13-18 / 19-24 of 24), accuracy (% choices of the
        better option).
    choice : DataFrame
        One row per (source, model, simulation, participant, stimulus):
        stimulus ('HR' = A/C, 'LR' = B/D, 'LP' = E/G, 'HP' = F/H, 'N') and
        choice_rate: the % of the transfer trials showing a stimulus on which
        it was chosen, averaged over the two stimuli of a type (the reference's
        rates, without its truncation to whole percents).

    Notes
    -----
    Accuracy, context and trial position are computed from ``choice_made``,
    the symbol values and ``symbol_names`` (row order = trial order), so the
    raw CSVs' ``accuracy``, ``context_val_name`` and ``trial_number`` columns
    are not needed (on the tutorial data they agree).
    """
    models = _model_dict(models)
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, (int, np.integer)) \
            or n_simulations < 1:
        raise ValueError(f"n_simulations must be a positive integer, got {n_simulations!r}")
    learning, transfer = split_phases(X_learning, X_transfer)
    in_data = set(pd.unique(learning["participant_id"]))
    fitted = []
    for name, estimator in models.items():
        missing = [p for p in estimator.params_.index if p not in in_data]
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        fitted += [p for p in estimator.params_.index if p not in set(fitted)]
    order = [p for p in pd.unique(learning["participant_id"]) if p in set(fitted)]
    rng = check_random_state(random_state)

    accuracy_parts, choice_parts = [], []
    keep_l = learning[learning["participant_id"].isin(order)]
    keep_t = transfer[transfer["participant_id"].isin(order)]
    accuracy, choice = _order_behaviour(*_behaviour(keep_l, keep_t), order)
    for table, parts in ((accuracy, accuracy_parts), (choice, choice_parts)):
        parts.append(table.assign(source=EMPIRICAL, model=EMPIRICAL,
                                  simulation=pd.array([pd.NA] * len(table), dtype="Int64")))
    templates = load_task_data(learning, transfer)  # validated once for every simulation
    for name, estimator in models.items():
        for simulation in range(n_simulations):
            seed = int(rng.randint(_MAX_SEED))
            sim_l, sim_t = _model_of(estimator)._sample_on(
                templates, learning, transfer, estimator.params_, seed)
            accuracy, choice = _order_behaviour(*_behaviour(sim_l, sim_t), order)
            for table, parts in ((accuracy, accuracy_parts), (choice, choice_parts)):
                parts.append(table.assign(
                    source="model", model=name,
                    simulation=pd.array([simulation] * len(table), dtype="Int64")))
    lead = ["source", "model", "simulation", "participant", "group"]
    accuracy = pd.concat(accuracy_parts, ignore_index=True)
    choice = pd.concat(choice_parts, ignore_index=True)
    accuracy = accuracy[lead + ["context", "bin", "accuracy"]]
    choice = choice[lead + ["stimulus", "choice_rate"]]
    return accuracy, choice


#: Learning pair of trial_values -> context.
_PAIR_CONTEXT = dict(zip(("AB", "CD", "EF", "GH"), CONTEXTS.values()))
#: The prediction error of each base model's trial_values (pe0/pe1): r is the
#: option's outcome, Q its Q value, C the context value, V the critic value.
#: Actor-critic and hybrids: the critic's error (hybrids' Q errors are not shown).
_PE_FORMULAS = {"QLearning": "r - Q", "Relative": "r - C - Q",
                "Advantage": "r - weighting_factor * (r0 + r1) / 2 - Q"}
_ACTOR_CRITIC_PE = "r - V"
#: The values that drive the learning choices, by the base model's value systems.
_VALUE_FORMULAS = {("q",): "Q", ("w",): "W", ("w", "q"): "(1 - m) W + m Q"}


def _choice_values(estimator, rows):
    """Values of options 0 and 1 that drive the choice, from trial_values' learning rows.

    With several value systems the model's own ``mix_values`` combines them
    (it is linear in the systems' values, so it maps each option's values as
    it maps their difference); for the hybrids that is H = (1 - m) W + m Q
    (reference-spec 3.5).
    """
    variant = _model_of(estimator)._variant()
    systems = tuple(variant.base.value_systems)
    if len(systems) == 1:
        (system,) = systems
        return rows[f"{system}0"].to_numpy(float), rows[f"{system}1"].to_numpy(float), \
            _VALUE_FORMULAS[systems]
    params = estimator.params_.reindex(rows["participant_id"])
    # the kernel's layout: theta[name] of shape (2, batch, 1) and values of (batch, 1)
    theta = {name: np.broadcast_to(params[name].to_numpy(float)[None, :, None],
                                   (2, len(rows), 1)).copy()
             for name in variant.parameter_names}
    values = [variant.base.mix_values(
        [rows[f"{system}{o}"].to_numpy(float)[:, None].copy() for system in systems],
        theta).ravel() for o in (0, 1)]
    formula = _VALUE_FORMULAS.get(
        systems, f"the model's mix_values of {', '.join(s.upper() for s in systems)}")
    return values[0], values[1], formula


def learning_dynamics(models, X_learning, X_transfer=None):
    """Prediction errors and values of the fitted models, by trial within pair.

    Each fitted participant's learning phase is replayed by
    ``estimator.trial_values`` at its fitted parameters, on its own choices
    and the outcomes of both options (not on simulated choices). The numbers
    behind rows 2 and 3 of ``{group}_model_simulations.png``.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (as in ``fit``).

    Returns
    -------
    DataFrame
        One row per model, participant, context and trial: model,
        participant, group (the data's group_code), context ('Reward' /
        'Loss Avoid'), trial (1-based position within its pair), then the
        averages over the context's two pairs of

        * pe: the mean of both options' prediction errors of the trial's
          update (every option learns every trial: complete feedback), as the
          reference's ``averaged_pe``. Q-learning models: the Q error
          (``r - Q``; Relative ``r - C - Q``, Advantage ``r - weighting_factor
          * (r0 + r1) / 2 - Q``); ActorCritic and hybrids: the critic's error
          ``r - V`` (the reference added the hybrids' Q errors to it);
        * value0, value1: the values of option 0 (the better option: A/C in
          Reward, E/G in Loss Avoid) and option 1 before the trial's update,
          the ones the choice rule compares: Q for the Q-learning models, the
          normalised actor weights W for ActorCritic, and
          ``(1 - m) W + m Q`` (m = mixing_factor) for hybrids;

        then pe_formula and value_formula, which say which of these a model's
        rows hold. Rows are in model, participant (data order), context and
        trial order.

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import learning_dynamics
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=1)
    >>> learning, transfer = model.sample(n_participants=2, random_state=0)
    >>> table = learning_dynamics(model.fit(learning, transfer), learning, transfer)
    >>> table.columns.tolist()[:8]
    ['model', 'participant', 'group', 'context', 'trial', 'pe', 'value0', 'value1']
    >>> int(table["trial"].max()), table["pe_formula"].iloc[0], table["value_formula"].iloc[0]
    (24, 'r - Q', 'Q')
    """
    models = _model_dict(models)
    learning, transfer = split_phases(X_learning, X_transfer)
    groups = learning.groupby(learning["participant_id"].to_numpy(dtype=object),
                              sort=False)["group_code"].first()
    rank = {p: i for i, p in enumerate(groups.index)}
    context_rank = {c: i for i, c in enumerate(CONTEXT_ORDER)}
    columns = ["model", "participant", "group", "context", "trial", "pe", "value0", "value1",
               "pe_formula", "value_formula"]
    parts = []
    for name, estimator in models.items():
        ids = list(estimator.params_.index)
        missing = [p for p in ids if p not in rank]
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        rows = _model_of(estimator).trial_values(
            learning[learning["participant_id"].isin(ids)],
            transfer[transfer["participant_id"].isin(ids)], params=estimator.params_)
        rows = rows[rows["phase"] == "learning"].reset_index(drop=True)
        value0, value1, value_formula = _choice_values(estimator, rows)
        base = _model_of(estimator)._variant().base
        frame = pd.DataFrame({
            "participant": rows["participant_id"].to_numpy(dtype=object),
            "context": rows["pair"].map(_PAIR_CONTEXT).to_numpy(dtype=object),
            "trial": rows.groupby(["participant_id", "pair"], sort=False).cumcount()
            .to_numpy() + 1,
            "pe": 0.5 * (rows["pe0"].to_numpy(float) + rows["pe1"].to_numpy(float)),
            "value0": value0, "value1": value1,
        })
        table = (frame.groupby(["participant", "context", "trial"], sort=False)
                 [["pe", "value0", "value1"]].mean().reset_index())
        table = table.iloc[np.lexsort((table["trial"].to_numpy(),
                                       table["context"].map(context_rank).to_numpy(),
                                       table["participant"].map(rank).to_numpy()))]
        table.insert(0, "model", name)
        table.insert(2, "group", table["participant"].map(groups).to_numpy(dtype=object))
        table["pe_formula"] = _ACTOR_CRITIC_PE if "w" in base.value_systems \
            else _PE_FORMULAS.get(base.name, "the model's own prediction error (pe)")
        table["value_formula"] = value_formula
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


def _group_filenames(groups):
    """{group: file-name stem} for per-group files, unique in a case-insensitive file system.

    Spaces and every character other than ASCII letters, digits, ``-`` and
    ``_`` are removed, after accents are taken off ('no pain' -> 'nopain',
    'aiguë' -> 'aigue'); a name left empty becomes 'group'. When two groups
    give the same name, the later ones get ``_2``, ``_3``, ...
    """
    stems, used = {}, set()
    for group in groups:
        text = unicodedata.normalize("NFKD", str(group))
        base = re.sub(r"[^A-Za-z0-9_-]", "", text) or "group"
        stem, k = base, 2
        while stem.lower() in used:
            stem, k = f"{base}_{k}", k + 1
        used.add(stem.lower())
        stems[group] = stem
    return stems


# ------------------------------------------------------------ recovery tables
def _recoveries(parameter_recovery):
    """{model name: fitted ParameterRecovery} from one, a list or a dict."""
    if isinstance(parameter_recovery, dict):
        named = dict(parameter_recovery)
    else:
        items = parameter_recovery if isinstance(parameter_recovery, (list, tuple)) \
            else [parameter_recovery]
        named = {}
        for recovery in items:
            name = getattr(getattr(recovery, "estimator", None), "model_name", None)
            if name is None:
                raise TypeError(f"{recovery!r} is not a ParameterRecovery")
            if name in named:
                raise ValueError(f"two parameter recoveries of {name!r}; pass a dict to name "
                                 "them")
            named[name] = recovery
    if not named:
        raise ValueError("no parameter recovery given")
    for name, recovery in named.items():
        if not hasattr(recovery, "fits_"):
            raise ValueError(f"the parameter recovery of {name!r} is not fitted (call fit)")
    return named


def _dataset_groups(datasets):
    return {d.id: d.learning["group_code"].iloc[0] if "group_code" in d.learning and len(d.learning)
            else d.model for d in datasets}


def parameter_recovery_tables(parameter_recovery):
    """Parameter-recovery fits in the reference's fit_data layout, with the true values.

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}
        Fitted recovery objects, one per model.

    Returns
    -------
    fit_data : dict {model name: DataFrame}
        participant (dataset id), pain_group (the simulated data's
        group_code), run (NaN: recovery objects keep only each dataset's best
        start), fit (NLL), then the fitted parameters.
    true_params : dict {model name: DataFrame}
        participant, then the generating parameters.
    """
    fit_data, true_params = {}, {}
    for name, recovery in _recoveries(parameter_recovery).items():
        groups = _dataset_groups(recovery.datasets_)
        fits = recovery.fits_
        ids = fits.index.to_numpy(dtype=object)
        table = pd.DataFrame({"participant": ids,
                              "pain_group": [groups.get(i, "simulated") for i in ids],
                              "run": np.nan, "fit": fits["nll"].to_numpy(dtype=float)})
        for parameter in recovery.fitted_params_.columns:
            table[parameter] = recovery.fitted_params_.reindex(fits.index)[parameter].to_numpy()
        fit_data[name] = table
        truth = recovery.true_params_.reindex(fits.index)
        true_params[name] = pd.concat(
            [pd.DataFrame({"participant": ids}), truth.reset_index(drop=True)], axis=1)
    return fit_data, true_params


def recovery_at_bounds(recovery, tol=BOUND_TOLERANCE):
    """Which fitted values of a parameter recovery sit on a bound of the fit.

    Parameters
    ----------
    recovery : fitted ParameterRecovery
    tol : float, default=1e-6
        A value counts as on a bound when it is within ``tol * (high - low)``
        of it (see :func:`parameters_at_bounds`).

    Returns
    -------
    DataFrame of bool
        Shaped like ``fitted_params_``, in the order of ``true_params_``.
    """
    _check_tolerance(tol)
    bounds = _model_of(recovery.estimator)._fit_settings()["bounds"]
    fitted = recovery.fitted_params_.reindex(recovery.true_params_.index)
    on_bound = pd.DataFrame(False, index=fitted.index, columns=fitted.columns)
    for parameter in fitted.columns:
        low, high = bounds[parameter]
        margin = tol * (high - low)
        values = fitted[parameter].to_numpy(dtype=float)
        on_bound[parameter] = (values <= low + margin) | (values >= high - margin)
    return on_bound


def parameter_recovery_correlations(parameter_recovery):
    """Pearson r of true vs fitted values (param_recovery_corrs.csv).

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}

    Returns
    -------
    DataFrame
        Columns Model, Parameter, Correlation (rounded to 2 decimals; NaN when
        either side has no variance).
    """
    rows = []
    for name, recovery in _recoveries(parameter_recovery).items():
        for parameter, r in recovery.correlations_.items():
            rows.append({"Model": name, "Parameter": parameter,
                         "Correlation": float(np.round(r, 2))})
    return pd.DataFrame(rows, columns=["Model", "Parameter", "Correlation"])


def _recovery_models(model_recovery):
    """[(name, estimator)] of a ModelRecovery, in its order."""
    return named_estimators(model_recovery.estimators)


def model_recovery_fit_tables(model_recovery):
    """Model-recovery fits in the reference's layout (fit_data_MODEL.pkl).

    Parameters
    ----------
    model_recovery : fitted ModelRecovery

    Returns
    -------
    dict {fitting model name: DataFrame}
        participant (dataset id), pain_group (the simulated data's
        group_code), model (the generating model), run (NaN: only the best
        start is kept), fit (NLL), then the fitting model's parameters.
    """
    if not hasattr(model_recovery, "fits_"):
        raise ValueError("the model recovery is not fitted (call fit)")
    groups = _dataset_groups(model_recovery.datasets_)
    fits = model_recovery.fits_
    tables = {}
    for name, estimator in _recovery_models(model_recovery):
        rows = fits[fits["fitting_model"] == name]
        ids = rows["dataset"].to_numpy(dtype=object)
        table = pd.DataFrame({"participant": ids,
                              "pain_group": [groups.get(i, "simulated") for i in ids],
                              "model": rows["generating_model"].to_numpy(dtype=object),
                              "run": np.nan, "fit": rows["nll"].to_numpy(dtype=float)})
        for parameter in estimator.parameter_names:
            table[parameter] = rows[parameter].to_numpy(dtype=float)
        tables[name] = table
    return tables


def recovery_criterion(model_recovery):
    """(key, label) of the criterion in a model recovery's mean matrix (``bic_``).

    ('bic', 'BIC') for maximum-likelihood estimators, ('laplace', '-2 log
    evidence (Laplace)') for empirical-Bayes ones, ('criterion', ...) for a mix.
    """
    names = set(getattr(model_recovery, "criterion_name_", {}).values()) or {"BIC"}
    if names == {"BIC"}:
        return "bic", "BIC"
    if len(names) == 1:
        return LAPLACE, names.pop()
    return "criterion", "criterion (BIC of ML fits, -2 log evidence (Laplace) of EB fits)"


def model_recovery_matrices(model_recovery):
    """The model-recovery matrices in long form (model_recovery_matrices.csv).

    Parameters
    ----------
    model_recovery : fitted ModelRecovery

    Returns
    -------
    DataFrame
        Columns matrix ('mean_bic', 'normalized_bic' (within each generating
        model: -100 = the fitting model with the lowest mean BIC, +100 = the
        highest), 'confusion' (p(best fit | generating model)), 'inversion'
        (p(generating model | best fit))), fitting_model, generating_model,
        value; rows in generating model, then fitting model order (the
        matrices' rows are the generating models). With empirical-Bayes estimators the first two are
        'mean_laplace' and 'normalized_laplace' (-2 x Laplace log evidence;
        'mean_criterion' and 'normalized_criterion' when the estimators mix
        both kinds), so no Laplace number is labelled BIC.
    """
    if not hasattr(model_recovery, "fits_"):
        raise ValueError("the model recovery is not fitted (call fit)")
    key, _ = recovery_criterion(model_recovery)
    parts = []
    for label, matrix in ((f"mean_{key}", model_recovery.bic_),
                          (f"normalized_{key}", model_recovery.normalized_bic_),
                          ("confusion", model_recovery.confusion_),
                          ("inversion", model_recovery.inversion_)):
        long = _stack(matrix)
        long.insert(0, "matrix", label)
        parts.append(long)
    return pd.concat(parts, ignore_index=True)


def _stack(matrix):
    """Long form of a recovery matrix (rows = generating models, columns = fitting models)."""
    rows, columns = matrix.index, matrix.columns
    return pd.DataFrame({
        "fitting_model": np.tile(np.asarray(columns, dtype=object), len(rows)),
        "generating_model": np.repeat(np.asarray(rows, dtype=object), len(columns)),
        "value": matrix.to_numpy(dtype=float).ravel(),
    })


def _synthetic_datasets(source):
    """The SyntheticDatasets of a recovery object, a list/dict of them, or a list of datasets."""
    if isinstance(source, dict):
        source = list(source.values())
    items = list(source) if isinstance(source, (list, tuple)) else [source]
    datasets = []
    for item in items:
        if hasattr(item, "learning") and hasattr(item, "true_params"):
            datasets.append(item)
        elif hasattr(item, "datasets_"):
            datasets.extend(item.datasets_)
        else:
            raise TypeError(f"{item!r} is neither a fitted ParameterRecovery/ModelRecovery nor "
                            "a SyntheticDataset")
    return datasets


def generated_data(source):
    """The generated (simulated) datasets as tables in the input format.

    Parameters
    ----------
    source : ParameterRecovery, ModelRecovery, a list or dict of them, or a list of SyntheticDataset
        Fitted recovery objects (their ``datasets_``) or datasets.

    Returns
    -------
    dict {generating model: dict}
        In order of first appearance; each holds three DataFrames:
        ``learning`` and ``transfer``, the simulated trials of all of the
        model's datasets in the input format (the columns of the tutorial
        CSVs; participant_id = dataset id, group_code = the generating model,
        raw outcomes, so they can be fitted again), and ``parameters``:
        participant_id, model, template (the template participant whose trial
        sequence was replayed; empty for the default task design), then the
        true (generating) parameters.

    Raises
    ------
    ValueError
        If two different datasets share an id.

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.recovery import ParameterRecovery
    >>> from avoidrl.report import generated_data
    >>> recovery = ParameterRecovery(avoidrl.make_model("QLearning+novel", n_starts=1),
    ...                              n_datasets=2, random_state=0).fit()
    >>> tables = generated_data(recovery)["QLearning+novel"]
    >>> tables["parameters"].columns.tolist()[:3]
    ['participant_id', 'model', 'template']
    >>> tables["learning"]["participant_id"].unique().tolist()
    ['QLearning+novel_0', 'QLearning+novel_1']
    """
    by_model, seen = {}, {}
    for dataset in _synthetic_datasets(source):
        if dataset.id in seen:
            if seen[dataset.id] is dataset:
                continue
            raise ValueError(f"two different datasets have the id {dataset.id!r}; pass the "
                             "datasets of one recovery at a time")
        seen[dataset.id] = dataset
        by_model.setdefault(dataset.model, []).append(dataset)
    tables = {}
    for model, datasets in by_model.items():
        names = list(datasets[0].true_params.index)
        parameters = pd.DataFrame({
            "participant_id": pd.Series([d.id for d in datasets], dtype=object),
            "model": model,
            "template": pd.Series([d.template for d in datasets], dtype=object),
        })
        for name in names:
            parameters[name] = [float(d.true_params[name]) for d in datasets]
        tables[model] = {
            "learning": pd.concat([d.learning for d in datasets], ignore_index=True),
            "transfer": pd.concat([d.transfer for d in datasets], ignore_index=True),
            "parameters": parameters,
        }
    return tables

