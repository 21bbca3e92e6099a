"""Recovery tables: parameter and model recovery, their matrices, the generated data.

The last family of :mod:`avoidrl._tables`: fitted
:class:`~avoidrl.recovery.ParameterRecovery` and
:class:`~avoidrl.recovery.ModelRecovery` objects -> the reference's
fit_data layouts, true-vs-fitted correlations, the recovery matrices in
long form, and the simulated datasets in the input format.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._utils.fitted import BOUND_TOLERANCE, _check_tolerance, fit_methods
from ..recovery._calibration import clopper_pearson
from ..recovery._common import named_estimators


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


def _recovery_bounds(recovery):
    """The bounds a recovery's fits used: those of the model its estimator simulates."""
    # A recovery keeps its estimator unfitted (it fits clones), so there is no
    # bounds_ to read; the model's validated fit settings hold the same bounds.
    return recovery.estimator.simulator._fit_settings()["bounds"]


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
    bounds = _recovery_bounds(recovery)
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


def _calibrated(name, recovery, attribute="coverage_"):
    if not hasattr(recovery, attribute):
        raise ValueError(f"the parameter recovery of {name!r} has no {attribute} (fit it with "
                         "this version of avoidrl)")
    return recovery


def _stacked(parameter_recovery, attribute):
    """Each recovery's ``attribute`` table, after a leading model column, one under another."""
    parts = []
    for name, recovery in _recoveries(parameter_recovery).items():
        table = getattr(_calibrated(name, recovery, attribute), attribute).reset_index()
        table.insert(0, "model", name)
        parts.append(table)
    return pd.concat(parts, ignore_index=True)


def parameter_recovery_coverage(parameter_recovery):
    """Coverage of the fits' intervals per model and parameter (parameter_recovery_coverage.csv).

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}

    Returns
    -------
    DataFrame
        model, parameter, then the columns of ``coverage_``: nominal, n
        (estimates with an interval), n_inside, coverage, lower, upper (its
        95 % Clopper-Pearson interval), n_without_interval.
    """
    return _stacked(parameter_recovery, "coverage_")


def parameter_recovery_coverage_by_position(parameter_recovery):
    """Coverage split by the true value's position (parameter_recovery_coverage_by_position.csv).

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}

    Returns
    -------
    DataFrame
        model, parameter, position ('lower tail': the lowest 10 % of the true
        values, 'middle', 'upper tail': the highest 10 %), min_true, max_true
        (the range of true values in the position), then the columns of
        ``coverage_`` (see ``coverage_by_position_``).
    """
    return _stacked(parameter_recovery, "coverage_by_position_")


def parameter_recovery_sbc(parameter_recovery):
    """Simulation-based-calibration ranks of the recoveries whose fits give posterior draws.

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}

    Returns
    -------
    DataFrame
        model, dataset, parameter, rank (of the true value among n_draws
        thinned posterior draws, 0..n_draws), n_draws; only the recoveries
        with ``sbc_ranks_`` (empty when none has them).
    """
    parts = []
    for name, recovery in _recoveries(parameter_recovery).items():
        ranks = getattr(recovery, "sbc_ranks_", None)
        if ranks is None:
            continue
        table = ranks.rename_axis(index="dataset", columns="parameter").stack() \
            .rename("rank").reset_index()
        table.insert(0, "model", name)
        table["n_draws"] = int(ranks.attrs.get("n_draws", 0))
        parts.append(table)
    columns = ["model", "dataset", "parameter", "rank", "n_draws"]
    return pd.concat(parts, ignore_index=True)[columns] if parts \
        else pd.DataFrame(columns=columns)


def parameter_recovery_correlation_matrix(parameter_recovery):
    """True x fitted correlations, long form (parameter_recovery_correlation_matrix.csv).

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}

    Returns
    -------
    DataFrame
        model, true_parameter, fitted_parameter, r (Pearson r over the
        datasets; ``correlation_matrix_``): where the two names are equal it is the
        recovery r, elsewhere a trade-off between two parameters.
    """
    parts = []
    for name, recovery in _recoveries(parameter_recovery).items():
        matrix = _calibrated(name, recovery).correlation_matrix_
        parts.append(pd.DataFrame({
            "model": name,
            "true_parameter": np.repeat(np.asarray(matrix.index, dtype=object),
                                        len(matrix.columns)),
            "fitted_parameter": np.tile(np.asarray(matrix.columns, dtype=object),
                                        len(matrix.index)),
            "r": matrix.to_numpy(dtype=float).ravel()}))
    return pd.concat(parts, ignore_index=True)


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
    # each inference method says what its recovery minimises (recovery_criterion_label)
    # and that criterion's key; the first registered method (maximum likelihood) is
    # the default of a recovery without criterion names
    methods = list(fit_methods().values())
    names = set(getattr(model_recovery, "criterion_name_", {}).values()) \
        or {methods[0].recovery_criterion_label}
    if len(names) == 1:
        (label,) = names
        keys = [m.recovery_criterion for m in methods if m.recovery_criterion_label == label]
        return (keys[0] if keys else "criterion"), label
    mixed = ", ".join(f"{m.recovery_criterion_label} of {m.fit_method.upper()} fits"
                      for m in methods if m.recovery_criterion_label in names)
    return "criterion", f"criterion ({mixed})"


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


#: Coverage of the identification rates' intervals.
IDENTIFICATION_LEVEL = 0.95


def model_identification(model_recovery):
    """Group-level model identification with its n and uncertainty.

    Per generating model (index ``generating_model``): ``n_groups`` (groups
    of its datasets, each one a BMS or iBIC comparison), then for BMS and for
    iBIC (``ibic_*``: empirical-Bayes fits only, else NaN): ``*_n_correct``
    (groups in which it picks the generator), ``*_correct`` (their share),
    ``*_correct_lower`` / ``*_correct_upper`` (95 % Clopper-Pearson interval
    of that share: from one group, a share of 1 is only [0.025, 1]), and
    ``mean_bms_pxp`` and ``mean_bor`` over the groups (how sure each BMS was).
    """
    results = model_recovery.group_results_
    order = list(model_recovery.group_identification_.index)
    rows = []
    for generator in order:
        part = results[results["generating_model"] == generator]
        row = {"generating_model": generator, "n_groups": len(part)}
        for key in ("bms", "ibic"):
            winners = part[f"{key}_winner"]
            judged = winners.notna() if key == "ibic" else np.ones(len(part), bool)
            n, k = int(judged.sum()), int((winners[judged] == generator).sum())
            lower, upper = clopper_pearson(k, n, IDENTIFICATION_LEVEL)
            row.update({f"{key}_n_correct": k if n else np.nan,
                        f"{key}_correct": k / n if n else np.nan,
                        f"{key}_correct_lower": lower, f"{key}_correct_upper": upper})
        row.update({"mean_bms_pxp": float(part["bms_pxp"].mean()),
                    "mean_bor": float(part["bor"].mean())})
        rows.append(row)
    return pd.DataFrame(rows).set_index("generating_model")


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
