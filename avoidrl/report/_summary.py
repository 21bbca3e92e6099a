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

from .._tables import (
    BOUND_TOLERANCE, SEPARATION_SE, START_TOLERANCE, model_identification, recovery_at_bounds,
)
from .._utils.fitted import fit_method_of
from ..recovery._calibration import clopper_pearson, pooled_tails
from ..recovery._common import generating_model
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


#: What a setting left at None means, when the fit does not resolve it to a value.
UNSEEDED = "None: unseeded (fresh OS entropy), not reproducible"
SERIAL = 1  # n_jobs=None runs in this process, as joblib's None


def effective_settings(estimator):
    """The settings a (fitted) estimator's fit used: its defaults resolved.

    Read from the estimator's checked fit settings (``_fit_settings``, the
    object the fit itself used) and its fitted attributes; {} for an
    estimator without them.
    """
    try:
        settings = estimator._fit_settings()
    except (AttributeError, ValueError, TypeError):
        return {}
    bounds = getattr(estimator, "bounds_", None) or settings.bounds
    return {"bounds": {name: [float(low), float(high)] for name, (low, high) in bounds.items()},
            "init": dict(getattr(estimator, "init_", None) or settings.init),
            "start": settings.start,
            "n_starts": int(getattr(estimator, "n_starts_", settings.n_starts)),
            "max_starts": int(settings.max_starts),
            "optimizer_options": dict(settings.options)}


def _resolved(params, effective):
    """``params`` with the values used: ``effective``'s, else None resolved.

    ``effective`` wins even over a given value (partial bounds are completed,
    ``n_starts`` of fixed starts is 1); ``defaults`` lists the keys that were None.
    """
    resolved = {**params, **{k: v for k, v in effective.items() if k in params}}
    for key in ("n_jobs", "random_state"):
        if key in params and params[key] is None:
            resolved[key] = SERIAL if key == "n_jobs" else UNSEEDED
    resolved["defaults"] = [key for key, value in params.items() if value is None]
    return resolved


def estimator_settings(estimator):
    """The estimator's parameters with their defaults resolved to the values its fit used.

    A wrapped model (``estimator``) is spelt out, not its repr. The keys that
    were None (defaults) are listed under ``defaults``.
    """
    params = estimator.get_params(deep=False)
    inner = params.get("estimator")
    if hasattr(inner, "get_params") and hasattr(inner, "model_name"):
        params = {**params, "estimator": {"model": inner.model_name,
                                          **_resolved(inner.get_params(deep=False),
                                                      effective_settings(inner))}}
        return jsonable(_resolved(params, {}))
    return jsonable(_resolved(params, effective_settings(estimator)))


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
        "model_comparison": comparison_summary(run.agreement),
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
            "random_state": UNSEEDED if run.random_state is None else jsonable(run.random_state),
            "n_simulations": int(run.n_simulations), "figure_style": run.style,
            "transfer_prediction": bool(run.transfer_prediction),
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


def comparison_summary(table):
    """summary_FIT.json's ``model_comparison``: do the criteria agree, and the recommended one's
    winner (None with one model; ``table``: :func:`~avoidrl.report.model_comparison_criteria`)."""
    if table is None:
        return None
    best = table.loc[table["recommended"]].iloc[0]
    in_se = None if np.isnan(best["lead_in_se"]) else float(best["lead_in_se"])
    return {"winners": dict(zip(table["criterion"], table["winner"])),
            "agree": table.attrs["agree"],
            "recommended": best["criterion"], "recommended_winner": best["winner"],
            "recommended_lead": float(best["lead"]), "recommended_lead_in_se": in_se,
            # None: no standard error, so no telling
            "lead_within_2_se": None if in_se is None else bool(in_se < SEPARATION_SE),
            "bms_bor": table.attrs["bor"], "evidence": table.attrs["evidence"]}


def coverage_summary(recovery):
    """A recovery's interval coverage per parameter: overall and of both tails together.

    Each entry: ``n`` (intervals), ``n_inside``, ``coverage`` and its 95 %
    Clopper-Pearson ``lower``/``upper`` (None when n is 0); ``nominal`` is the
    intervals' level, ``tails`` the lowest and highest 10 % of the true values.
    """
    def entry(n, inside):
        low, high = clopper_pearson(inside, n)
        return {"n": int(n), "n_inside": int(inside),
                "coverage": inside / n if n else None, "lower": low, "upper": high}

    overall = recovery.coverage_
    tails = pooled_tails(recovery.coverage_by_position_)
    return {"nominal": float(overall["nominal"].iloc[0]),
            "all": {p: entry(row["n"], row["n_inside"]) for p, row in overall.iterrows()},
            "tails": {p: entry(row["n"], row["n_inside"]) for p, row in tails.iterrows()}}


def parameter_summary(run):
    """summary_PARAMETER.json's own entry."""
    return {"parameter_recovery": {
        name: {"n_datasets": len(r.datasets_),
               "n_converged": int(r.fits_["converged"].sum()),
               "correlations": r.correlations_.to_dict(),
               "coverage": coverage_summary(r),
               "n_fitted_on_a_bound": {p: int(n) for p, n in
                                       recovery_at_bounds(r).sum().items()},
               "settings": recovery_settings(r, "estimator"),
               "estimator": _per_dataset_seed(estimator_settings(r.estimator))}
        for name, r in run.recoveries.items()}}


#: The estimators of a recovery fit clones seeded per dataset (or group of datasets).
PER_DATASET_SEED = "derived per dataset from the recovery's random_state"


def recovery_settings(recovery, nested):
    """A recovery's settings (without its ``nested`` estimators), defaults resolved."""
    params = {k: v for k, v in recovery.get_params(deep=False).items() if k != nested}
    effective = {"n_datasets": len(recovery.datasets_)
                 if params.get("n_datasets") is None else params["n_datasets"]}
    if "generating_bounds" in params:
        model = generating_model(recovery.estimator, params["generating_bounds"])
        effective["generating_bounds"] = effective_settings(model).get("bounds")
    if "group_size" in params:  # None: all of a generator's datasets form one group
        effective["group_size"] = "all of a generating model's datasets"
    return jsonable(_resolved(params, effective))


def _per_dataset_seed(settings):
    """Recovery estimators' seeds: set per dataset by the recovery, whatever they say."""
    inner = settings.get("estimator")
    if isinstance(inner, dict):
        inner["random_state"] = PER_DATASET_SEED
    settings["random_state"] = PER_DATASET_SEED
    return settings


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
        jsonable(model_identification(recovery).to_dict(orient="index")),
        "settings": recovery_settings(recovery, "estimators"),
        "estimators": {n: _per_dataset_seed(estimator_settings(e))
                       for n, e in run.recovery_models},
    }}


def validation_summary(run, kind):
    """summary_PARAMETER.json or summary_MODEL.json (``kind``) of the VALIDATION ``run``."""
    own = parameter_summary(run) if kind == "PARAMETER" else model_recovery_summary(run)
    info = dict(run.info)
    if info.get("seed") is None:  # the Python API: the recoveries' own seeds
        info["seed"] = validation_seed(run, kind)
    return {**info, "avoidrl_version": version(), "created": run.created, **own}


def validation_seed(run, kind):
    """The random_state of ``kind``'s recovery (one per model when they differ)."""
    states = {name: r.random_state for name, r in run.recoveries.items()} \
        if kind == "PARAMETER" else {"": run.model_recovery.random_state}
    seeds = {name: jsonable(state) if state is not None else UNSEEDED
             for name, state in states.items()}
    values = list(dict.fromkeys(map(str, seeds.values())))
    return next(iter(seeds.values())) if len(values) == 1 else seeds

