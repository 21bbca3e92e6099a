"""Parameter tables: descriptives, fit tables, starts, bounds, outliers, intervals.

The second family of :mod:`avoidrl._tables` (fitted estimators ->
DataFrames): what the fitted parameters are (per group, per start, with
their intervals), which sit on a bound of the fit, which participants are
outliers, and how the parameters of interest of different models relate.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as _stats

from .._core.data import split_phases
from .._utils.fitted import (
    BOUND_TOLERANCE, _check_tolerance, _model_dict, bound_counts, bound_sides,
)
from ..stats import is_log_transformed, log_transform
from ._common import _n_parameters
from .behaviour import _behaviour

#: The statuses of an estimate in ``params_ci_``.
INTERVAL_STATUSES = ("interior", "at lower bound", "at upper bound", "not identified")


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
        parameters in the model's order. For an empirical-Bayes fit: its
        estimates (``params_``), fit = the NLL there and run = NaN (it has no starts).
    full_fit_data : dict {model name: DataFrame}
        The same layout with one row per participant and start (an
        empirical-Bayes fit: the same table as fit_data).
    """
    fit_data, full_fit_data = {}, {}
    for name, estimator in _model_dict(models).items():
        # a table source that does not say (no uses_starts) is read like one with starts
        if not getattr(estimator, "uses_starts", True):
            # no starts (empirical Bayes): one row per participant, its estimates and the NLL there
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
        bounds = estimator.bounds_
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


# -------------------------------------------------------------------- intervals
def parameter_intervals(models):
    """Every model's per-participant estimates with their intervals, in long form.

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
        identified'; lower and upper are NaN unless 'interior'), level (the
        interval's central level: 0.95, or the calibrated credible level of an
        ``EmpiricalBayes(interval_calibration=...)`` fit, its
        ``interval_level_``), in model, participant and parameter order.
    """
    columns = ["model", "participant_id", "group", "parameter", "estimate", "lower", "upper",
               "status", "level"]
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
        levels = getattr(estimator, "interval_level_", None)
        table["level"] = 0.95 if levels is None else \
            table["parameter"].map(levels).to_numpy(dtype=float)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


def interval_status_counts(estimator):
    """{status: number of estimates} of one fit's ``params_ci_``, every status listed."""
    counts = estimator.params_ci_["status"].value_counts()
    return {status: int(counts.get(status, 0)) for status in INTERVAL_STATUSES}
