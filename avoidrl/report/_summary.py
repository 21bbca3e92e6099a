"""The JSON summaries of a run: ``summary_FIT.json``, ``summary_PARAMETER.json``, ``summary_MODEL.json``.

What a run found, in a few numbers per model, with the seed and settings
that reproduce it; written by the catalogue's summary entries
(:mod:`avoidrl.report._catalogue`) once the run's tables are computed. The
per-model entries of a FIT list the fields of the catalogue's
``MODEL_SUMMARY`` that apply to the run's inference method.
"""

from __future__ import annotations

import datetime

import numpy as np

from .._tables import BOUND_TOLERANCE, START_TOLERANCE, recovery_at_bounds
from .._utils.fitted import fit_method_of
from ..stats import BOUND_SHARE_NOTE
from ._catalogue import BEST_MODEL, MODEL_SUMMARY
from ._files import jsonable


def now():
    """The time stamp of a summary (UTC, seconds)."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def version():
    """avoidrl's version."""
    from .. import __version__  # late: avoidrl/__init__ may import this module

    return __version__


def run_info(random_state, info):
    """The seed and how it came, recorded in the summaries and the manifest."""
    seed = random_state if isinstance(random_state, (int, np.integer)) and \
        not isinstance(random_state, bool) else None
    recorded = {"seed": None if seed is None else int(seed)}
    recorded.update(jsonable(dict(info or {})))
    return recorded


def estimator_settings(estimator):
    """The estimator's parameters; a wrapped model (``estimator``) is spelt out, not its repr."""
    params = estimator.get_params(deep=False)
    inner = params.get("estimator")
    if hasattr(inner, "get_params") and hasattr(inner, "model_name"):
        params = {**params, "estimator": {"model": inner.model_name,
                                          **inner.get_params(deep=False)}}
    return jsonable(params)


def model_summary(estimator):
    """One model's entry of summary_FIT.json."""
    method = fit_method_of(estimator)
    return {key: value(estimator) for key, methods, value in MODEL_SUMMARY
            if methods is None or method in methods}


def fit_summary(run):
    """summary_FIT.json of the FIT ``run``."""
    best_model = {label: run.means[label].loc["full", "best_model"] for label in run.means}
    best_model.update({key: value(run) for key, methods, value in BEST_MODEL
                       if run.method in methods})
    groups = run.groups
    return {
        **run.info,
        "avoidrl_version": version(),
        "created": now(),
        "method": run.method,
        "evidence": run.estimator_class.evidence_label,
        "models": run.names,
        "n_participants": int(len(run.first.params_)),
        "groups": {str(g): int(n) for g, n in groups.value_counts(sort=False).items()},
        "best_model": best_model,
        "bms": bms_summary(run.bms),
        "parameters_at_bounds": bounds_summary(run.at_bounds),
        "parameters_mostly_on_a_bound": mostly_on_a_bound(run.at_bounds),
        "participants_with_a_parameter_on_a_bound": {
            name: int(len(table)) for name, table in run.outliers["participant_outliers"].items()},
        "parameter_outliers": {name: int(len(table))
                               for name, table in run.outliers["outlier_data"].items()},
        "parameter_of_interest_pairs": int(len(run.interest)),
        "model_simulation_figures": {str(g): f for g, f in run.simulation_files.items()},
        "per_model": {name: model_summary(est) for name, est in run.models.items()},
        "settings": {
            "random_state": jsonable(run.random_state), "n_simulations": int(run.n_simulations),
            "bound_tolerance": BOUND_TOLERANCE, "start_tolerance": START_TOLERANCE,
            "reference_group": jsonable(run.reference),
            "estimators": {name: estimator_settings(est) for name, est in run.models.items()},
        },
    }


def bounds_summary(counts):
    """summary_FIT.json's ``parameters_at_bounds``: {model: {parameter: {group: counts}}}."""
    summary = {}
    for row in counts.itertuples(index=False):
        summary.setdefault(row.model, {}).setdefault(row.parameter, {})[str(row.group)] = {
            "n": int(row.n), "lower": int(row.n_lower), "upper": int(row.n_upper)}
    return summary


def mostly_on_a_bound(counts):
    """{model: {parameter: share}} of the parameters with more than BOUND_SHARE_NOTE on a bound."""
    totals = counts.groupby(["model", "parameter"], sort=False)[["n", "n_at_bound"]].sum()
    summary = {}
    for (model, parameter), row in totals.iterrows():
        share = row["n_at_bound"] / row["n"] if row["n"] else 0.0
        if share > BOUND_SHARE_NOTE:
            summary.setdefault(model, {})[parameter] = round(float(share), 4)
    return summary


def bms_summary(bms):
    """The BMS entry of summary_FIT.json (None with one model)."""
    if bms is None:
        return None
    table = bms.set_index("model")
    pxp = table["protected_exceedance_probability"]
    return {"winner": pxp.idxmax(), "bor": float(table["bor"].iloc[0]),
            "evidence": table["evidence"].iloc[0],
            "expected_frequency": table["expected_frequency"].to_dict(),
            "protected_exceedance_probability": pxp.to_dict()}


def parameter_summary(run):
    """summary_PARAMETER.json's own entry."""
    return {"parameter_recovery": {
        name: {"n_datasets": len(r.datasets_),
               "n_converged": int(r.fits_["converged"].sum()),
               "correlations": r.correlations_.to_dict(),
               "n_fitted_on_a_bound": {p: int(n) for p, n in
                                       recovery_at_bounds(r).sum().items()},
               "settings": jsonable({k: v for k, v in r.get_params(deep=False).items()
                                     if k != "estimator"}),
               "estimator": estimator_settings(r.estimator)}
        for name, r in run.recoveries.items()}}


def model_recovery_summary(run):
    """summary_MODEL.json's own entry."""
    recovery = run.model_recovery
    confusion = recovery.confusion_
    identification = getattr(recovery, "group_identification_", None)
    return {"model_recovery": {
        "models": [n for n, _ in run.recovery_models],
        "n_datasets": len(recovery.datasets_),
        "n_converged": int(recovery.fits_["converged"].sum()),
        "n_fits": int(len(recovery.fits_)),
        "p_recovered": {g: float(confusion.loc[g, g]) if g in confusion.columns
                        else None for g in confusion.index},
        "criterion": run.criterion_label,
        "group_identification": None if identification is None else
        jsonable(identification.to_dict(orient="index")),
        "settings": jsonable({k: v for k, v in recovery.get_params(deep=False).items()
                              if k != "estimators"}),
        "estimators": {n: estimator_settings(e) for n, e in run.recovery_models},
    }}


def validation_summary(run, kind):
    """summary_PARAMETER.json or summary_MODEL.json (``kind``) of the VALIDATION ``run``."""
    own = parameter_summary(run) if kind == "PARAMETER" else model_recovery_summary(run)
    return {**run.info, "avoidrl_version": version(), "created": run.created, **own}

