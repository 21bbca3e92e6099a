"""The report folder writers: :func:`write_fit_report` and :func:`write_validation_report`.

The top layer of the reporting code: it computes the tables
(:mod:`avoidrl._tables`), draws the figures (:mod:`avoidrl.plotting`) and
writes both into a staging folder that :mod:`avoidrl.report._folder` publishes into
the study folder (see there for what may be replaced and the crash-safety
guarantee). Users import these functions from :mod:`avoidrl.report`.

A FIT (of maximum-likelihood or empirical-Bayes fits; the folder's
README says which criterion each file uses) writes ``summary_FIT.json``; a
parameter recovery
``summary_PARAMETER.json`` and a model recovery ``summary_MODEL.json``, so
that all of them can share one folder. ``README.md`` describes every kind of
run the folder holds, one section each.
"""

from __future__ import annotations

import datetime
import json
import pickle

import numpy as np
import pandas as pd

from .. import plotting
from . import _figures, _folder
from .._core.data import split_phases
from .._tables import (
    BOUND_TOLERANCE, DEFAULT_N_SIMULATIONS, EVIDENCE_LABELS, LAPLACE, METHODS, PARAMETERS_OF_INTEREST, START_TOLERANCE,
    _group_filenames, _interest_items, _n_parameters, _recoveries, _recovery_models,
    bms_results, bound_counts, criterion_differences, criterion_values, em_history,
    fit_method, fit_tables, generated_data, group_best_fit_percentages, group_criteria, ibic_table,
    information_criteria, interval_status_counts, learning_dynamics, model_evidence,
    model_recovery_fit_tables, model_recovery_matrices, parameter_descriptives,
    parameter_intervals, parameter_of_interest_correlations, parameter_outliers,
    parameter_recovery_correlations, parameter_recovery_tables, population_parameters,
    is_empirical_bayes, posterior_predictive, recovery_at_bounds, recovery_criterion,
)
from ..stats import BOUND_SHARE_NOTE, _model_dict, fit_statistics


def _same_tables(first, second):
    try:
        for key in ("learning", "transfer", "parameters"):
            pd.testing.assert_frame_equal(first[key], second[key])
    except AssertionError:
        return False
    return True


def _write_all_generated(folder, recoveries, model_recovery):
    """Write data/generated/ from both recoveries; return the README rows.

    A model recovery that fitted the parameter recovery's datasets writes the
    same bytes, so the two runs can share these files.
    """
    tables = generated_data(list(recoveries.values())) if recoveries is not None else {}
    separate = {}
    if model_recovery is not None:
        for model, parts in generated_data(model_recovery).items():
            if model not in tables:
                tables[model] = parts
            elif not _same_tables(tables[model], parts):
                separate[model] = parts
    _write_generated(folder, tables)
    source = ("the parameter recovery's datasets, or the model recovery's for models without "
              "a parameter recovery" if recoveries is not None and model_recovery is not None
              else "the parameter recovery's datasets" if recoveries is not None
              else "the model recovery's datasets")
    rows = [
        "| data/generated/{model}_generated_learning.csv, data/generated/{model}_generated_"
        "transfer.csv | the simulated trials of every dataset a model generated, in the input "
        "format (participant_id = dataset id, group_code = the generating model, raw outcomes), "
        f"so they can be fitted again: {source} |",
        "| data/generated/{model}_generated_parameters.csv | per dataset: participant_id, model, "
        "template (the template participant whose trial sequence was replayed; empty for the "
        "default task design), then the true (generating) parameters |",
    ]
    if separate:
        _write_generated(folder / "model_recovery", separate)
        rows.append(
            "| data/generated/model_recovery/ | the same three files for the model recovery's "
            "datasets of the models whose parameter recovery used other datasets: "
            f"{', '.join(separate)} |")
    return "\n".join(rows)


def _write_generated(folder, tables):
    folder.mkdir(parents=True, exist_ok=True)
    for model, parts in tables.items():
        stem = _safe_filename(model)
        for key in ("learning", "transfer", "parameters"):
            parts[key].to_csv(folder / f"{stem}_generated_{key}.csv", index=False)



#: The files of each kind of run, besides the per-model, per-group and generated-data ones.
_FIT_FILES = (
    "fit_data_FIT.pkl", "full_fit_data_FIT.pkl", "group_AIC.csv", "group_BIC.csv",
    "group_AIC_percentages.csv", "group_BIC_percentages.csv", "group_AIC_differences.csv",
    "group_BIC_differences.csv", "AIC_model_comparisons.png", "BIC_model_comparisons.png",
    "information_criteria.csv", "model_fits_distributions.png", "fit-by-runs.png",
    "parameter_outlier_results.pkl", "parameter_bounds.csv", "param_fit_descriptives.csv",
    "pain_fits_linear_results.csv", "pain_fits_ttest_results.csv",
    "pain_fits_posthoc_results.csv", "modelsimulation_accuracy_data.csv",
    "modelsimulation_choice_data.csv", "modelsimulation_dynamics_data.csv", "summary_FIT.json",
)
#: What an empirical-Bayes FIT writes instead of the files that need AIC/BIC or starts.
_FIT_ONLY_ML = (
    "full_fit_data_FIT.pkl", "group_AIC.csv", "group_BIC.csv", "group_AIC_percentages.csv",
    "group_BIC_percentages.csv", "group_AIC_differences.csv", "group_BIC_differences.csv",
    "AIC_model_comparisons.png", "BIC_model_comparisons.png", "information_criteria.csv",
    "fit-by-runs.png",
)
_FIT_ONLY_EB = (
    "group_Laplace.csv", "group_Laplace_percentages.csv", "group_Laplace_differences.csv",
    "Laplace_model_comparisons.png", "population_parameters.csv", "ibic.csv",
    "em_history.csv",
)
#: Written by both methods (the BMS files only with at least two models).
_FIT_EVIDENCE_FILES = ("parameter_intervals.csv", "model_evidence.csv")
_FIT_BMS_FILES = ("bms_results.csv", "BMS_model_comparison.png")
#: The comparison criteria of each method and the stems of their files.
_COMPARISONS = {"ml": {"AIC": "aic", "BIC": "bic"}, "eb": {"Laplace": LAPLACE}}
_RECOVERY_FILES = {
    "PARAMETER": ("fit_data_PARAMETER.pkl", "full_fit_data_PARAMETER.pkl",
                  "true_params_PARAMETER.pkl", "param_recovery_corrs.csv",
                  "param_recovery_results.csv", "correlations/recovery_correlation_plot.png",
                  "summary_PARAMETER.json"),
    "MODEL": ("fit_data_MODEL.pkl", "full_fit_data_MODEL.pkl", "model_recovery_matrices.csv",
              "model_recovery.png", "model_recovery_groups.csv",
              "model_recovery_identification.csv", "summary_MODEL.json"),
}


def _kind_files(kind, formats):
    return _with_formats(_RECOVERY_FILES[kind], formats)


def _check_method(method):
    if method not in METHODS:
        raise ValueError(f"method must be one of {list(METHODS)}, got {method!r}")
    return method


def _with_formats(files, formats):
    """``files`` with each figure (named ``.png``) in the figure formats ``formats``."""
    formats = _figures.check_formats(formats)
    return [written for name in files for written in (
        _figures.figure_files(name[:-len(".png")], formats) if name.endswith(".png")
        else [name])]


def fit_files(models, groups, method="ml", formats=None):
    """The files a FIT of ``models`` on data with ``groups`` writes (relative paths).

    ``method`` is 'ml' (maximum likelihood) or 'eb' (empirical Bayes: no
    AIC/BIC or starts files, its Laplace-evidence and population files
    instead). ``formats`` are the figure formats, as in
    :func:`write_fit_report`. ``parameter_of_interest_comparisons``, written
    only when the models share parameters of interest, is left out.
    """
    if _check_method(method) == "ml":
        files = list(_FIT_FILES)
    else:
        files = [f for f in _FIT_FILES if f not in _FIT_ONLY_ML] + list(_FIT_ONLY_EB)
    files += _FIT_EVIDENCE_FILES
    if len(list(models)) >= 2:
        files += _FIT_BMS_FILES
    for name in models:
        stem = _safe_filename(name)
        files += [f"model_behaviours/{stem}_model_behaviours.png",
                  f"parameter_fits/{stem}-model-fits.png"]
    files += [f"{stem}_model_simulations.png" for stem in _group_filenames(groups).values()]
    return _with_formats(files, formats)


def validation_files(parameter_models=(), model_models=(), formats=None):
    """The files a parameter recovery of ``parameter_models`` and/or a model recovery of
    ``model_models`` write (relative paths; the generated data of models whose two
    recoveries used different datasets, in data/generated/model_recovery/, are left out).
    ``formats`` are the figure formats, as in :func:`write_validation_report`."""
    files = []
    if parameter_models:
        files += _RECOVERY_FILES["PARAMETER"]
    if model_models:
        files += _RECOVERY_FILES["MODEL"]
    for name in dict.fromkeys([*parameter_models, *model_models]):
        files += [f"data/generated/{_safe_filename(name)}_generated_{key}.csv"
                  for key in ("learning", "transfer", "parameters")]
    return _with_formats(files, formats)


def _run_info(random_state, run_info):
    """The seed and how it came, recorded in the summaries and the manifest."""
    seed = random_state if isinstance(random_state, (int, np.integer)) and \
        not isinstance(random_state, bool) else None
    info = {"seed": None if seed is None else int(seed)}
    info.update(_jsonable(dict(run_info or {})))
    return info


def _version():
    from .. import __version__  # late: avoidrl/__init__ may import this module

    return __version__


def _jsonable(value):
    """A JSON-safe copy; other objects become a short description."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        if len(value) > 50:
            return f"<{type(value).__name__} of {len(value)} items>"
        return [_jsonable(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if value is None or isinstance(value, (str, int)):
        return value
    text = repr(value)
    return text if len(text) <= 120 else f"<{type(value).__name__}>"


def _estimator_settings(estimator):
    """The estimator's parameters; an EmpiricalBayes's model is spelt out, not its repr."""
    params = estimator.get_params(deep=False)
    inner = params.get("estimator")
    if hasattr(inner, "get_params") and hasattr(inner, "model_name"):
        params = {**params, "estimator": {"model": inner.model_name,
                                          **inner.get_params(deep=False)}}
    return _jsonable(params)


def _write_json(path, content):
    path.write_text(json.dumps(_jsonable(content), indent=2) + "\n", encoding="utf-8")


def _pickle(path, content):
    with open(path, "wb") as handle:
        pickle.dump(content, handle, protocol=pickle.HIGHEST_PROTOCOL)


def _notify(progress, message):
    if progress is not None:
        progress(message)


def _safe_filename(name):
    return "".join(c if c not in '/\\:*?"<>|' else "_" for c in str(name))


def _simulations_readme_row(simulation_files):
    """The README row of the {group}_model_simulations.png files."""
    escaped = {group: str(group).replace("|", "\\|") for group in simulation_files}
    mapping = "; ".join(f"{escaped[group]} -> {filename}"
                        for group, filename in simulation_files.items())
    return (
        f"| {', '.join(simulation_files.values())} | one per group ({mapping}; the name is the "
        "group_code without spaces and characters other than letters, digits, - and _, made "
        "unique): a 4 x models grid, one column per model. (1) Learning accuracy per context "
        "and quarter of each pair's trials, simulations (solid, modelsimulation_accuracy_data"
        ".csv) vs data (dashed); (2) mean prediction error of both options per trial within "
        "pair and context and (3) values of option 0 and option 1 of each context (HR/LR, "
        "LP/HP) before each update, from modelsimulation_dynamics_data.csv; (4) transfer "
        "choice rates HR, LR, LP, HP, N, simulations (bars) vs data (diamonds). Bands and "
        "error bars: 95 % t-CI over participants |")


_FIT_README = """\
Written by `avoidrl.report.write_fit_report`. The layout follows the reference pipeline's
`RL/modelling` folder; participants are matched by id everywhere and
groups are the data's `group_code` values, in order of first appearance.

{method}

| file | content |
|---|---|
{rows}

Statistics use log(x) (after shifting to x - min + 1 when min <= 0) for every parameter except
novel_value, mixing_factor, valence_factor and weighting_factor (the reference intended this list
but misspelt novel_value, so it transformed it). Statistics that need two groups, or three
participants per group, are NaN with the reason in the `note` column.

Effect sizes: every `cohens_d` (pain_fits_ttest_results.csv and pain_fits_posthoc_results.csv)
is (mean of the first group named - mean of the second) / pooled SD: condition1 - condition2, and
g1 - g2 for a factor "g1 vs g2", so one comparison has one d in both files, with the sign of
`t_value`. `meandiff` (Tukey, as statsmodels and the reference) is the other way round, g2 - g1.

Bounds: a fitted value counts as on a bound when it is within {bound_tol:g} x (high - low) of a
bound the model was fitted with. Such values are not estimates of an interior optimum (the
likelihood wanted to go further), so the files count them (parameter_bounds.csv, the `n_at_*`
columns of param_fit_descriptives.csv and of the pain_fits_* tables, `parameters_at_bounds` in
summary_FIT.json), the statistics' `note` says when more than {bound_share:.0%} of the values a
test compares sit on a bound, and the figures draw the bounds and mark the fits on them.
"""

_FIT_METHOD = {
    "ml": "Fitting method: maximum likelihood per participant (multi-start L-BFGS-B). Models "
          "are compared by AIC and BIC per participant; the Bayesian model selection uses "
          "-BIC/2 as each participant's log evidence (the BIC approximation).",
    "eb": "Fitting method: empirical Bayes (`avoidrl.hierarchical.EmpiricalBayes`, EM with a "
          "Gaussian population prior in the logit space of the bounds, Laplace approximations; "
          "Huys et al. 2011). Parameters are MAP estimates under the fitted prior. EB fits have "
          "no AIC/BIC: models are compared per participant by -2 x the Laplace log evidence "
          "(files named `Laplace`; on the scale of BIC, lower is better, but not a BIC), at "
          "the group level by the integrated BIC (ibic.csv), and by random-effects BMS on the "
          "Laplace log evidence. The models' start values, start mode and number of starts are "
          "not used: each E-step's MAP search starts from the previous MAP, the prior mean and "
          "two screened prior draws (the first E-step also from 3 x k draws of the broad "
          "initial prior, so that rarely reached basins are found). The group statistics (pain_fits_*) and figures use the MAPs; with "
          "a pooled prior (the default) shrinkage pulls every group toward the same mean, so "
          "it does not make group differences (with prior='group' it may).",
}

#: The rows of the FIT README (file, content), in order, for maximum likelihood.
_FIT_ROWS_ML = [
    ("fit_data_FIT.pkl", "pickled dict {{model: DataFrame[participant, pain_group, run, fit, <parameters>]}}: best start per participant (run = start index, fit = negative log-likelihood)"),
    ("full_fit_data_FIT.pkl", "the same layout with every start"),
    ("group_AIC.csv, group_BIC.csv", "mean AIC / BIC per group (rows; `full` = all participants) and model (columns), `best_model` = lowest"),
    ("group_AIC_percentages.csv, group_BIC_percentages.csv", "% of participants of each group best fit by each model"),
    ("group_AIC_differences.csv, group_BIC_differences.csv", "per model: mean, sd, n and 95 % t-CI half-width (`ci`) of the per-participant difference from the best model"),
    ("information_criteria.csv", "per participant and model: nll, aic, bic, k, n_trials"),
    ("parameter_bounds.csv", "per model, parameter and group: lower, upper (the bounds of the fit), n (participants), n_lower, n_upper (fits on each bound), n_at_bound, share_at_bound"),
    ("param_fit_descriptives.csv", "\"mean (sd)\" of every parameter per group, 4 significant digits (the reference: 2 decimals, which showed a pile-up at 0.01 as \"0.01 (0.0)\"), full model names (the reference: base names); then n, n_at_lower and n_at_upper (fits on each bound, all groups)"),
    ("pain_fits_linear_results.csv", "one-way linear model (ANOVA F test) of each parameter on group, with normality (Shapiro-Wilk) and homogeneity (Levene) flags; then n_at_bound and share_at_bound (values on a bound, all groups)"),
    ("pain_fits_ttest_results.csv", "t-tests of each group against the reference group ({reference}); cohens_d = (condition1 - condition2) / pooled SD; then n_at_bound_condition1, n_at_bound_condition2"),
    ("pain_fits_posthoc_results.csv", "Tukey HSD tests of every pair of groups (factor \"g1 vs g2\"); meandiff = g2 - g1 (statsmodels), cohens_d = (g1 - g2) / pooled SD; then n_at_bound_g1, n_at_bound_g2"),
    ("modelsimulation_accuracy_data.csv", "posterior predictive learning accuracy (%) per participant, context and trial bin, for each model (`source` = model) and the data (`source` = empirical)"),
    ("modelsimulation_choice_data.csv", "posterior predictive transfer choice rates (%) per participant and stimulus type (HR = A/C, LR = B/D, LP = E/G, HP = F/H, N)"),
    ("AIC_model_comparisons.png, BIC_model_comparisons.png", "(A) mean criterion per model as a point with its 95 % t-CI over participants (the axis does not start at 0, so no bars), the best filled; (B) bars from 0: mean +- 95 % CI of the per-participant difference from the best model; n participants in the title"),
    ("modelsimulation_dynamics_data.csv", "per model, participant, context and trial within pair (1-based): the mean of both options' prediction errors (`pe`) and the values of option 0 (the better option) and option 1 before the trial's update (`value0`, `value1`), averaged over the context's two pairs, from each model replaying the participant's own choices and outcomes at its fitted parameters (`avoidrl.report.learning_dynamics`). `pe_formula`: r - Q (QLearning), r - C - Q (Relative), r - weighting_factor * (r0 + r1) / 2 - Q (Advantage), the critic's r - V (ActorCritic and hybrids; the reference added the hybrids' Q errors to it); `value_formula`: Q, the normalised actor weights W, or (1 - m) W + m Q (hybrids, m = mixing_factor)"),
    ("model_behaviours/{{model}}_model_behaviours.png", "posterior predictive behaviour of each model against the data, per group"),
    ("{simulations}", None),
    ("parameter_fits/{{model}}-model-fits.png", "fitted parameters per group: every participant a point (natural units), the group mean +- 95 % t-CI beside it (black diamond). Parameters the statistics log-transform are on a log axis and their mean and CI are those of log(x) mapped back (geometric mean); the others on a linear axis. Both bounds are drawn (red dashed) inside every axis, participants on a bound are open red circles (each title: how many of n), not identified estimates open orange circles; each participant's 95 % interval (parameter_intervals.csv) is a thin vertical line behind its point"),
    ("model_fits_distributions.png", "per model: histogram (density) of the participants' BIC with the normal curve of the same mean and sd (dashed line = mean); skewness and excess kurtosis (bias-corrected, as pandas and the reference) in the titles. Each participant's BIC uses its own trial count n (the reference used n = 480 for everyone)"),
    ("fit-by-runs.png", "per model: for r = 1 .. number of starts, the mean over participants of the best NLL among each participant's first r starts, computed from every start (the reference plotted the best-start table, so its curve was not this); the dashed line marks the first r from which every participant is within {start_tol} NLL of its best"),
    ("parameter_outlier_results.pkl", "pickled dict: `participant_outliers` {{model: Series participant -> number of parameters on a bound, participants with at least one, most first}}, `model_outliers` {{model: Series number on a bound -> participants}}, `outliers_summary` (DataFrame, models x number on a bound, then `total`), `model_params` {{model: k}}, `outlier_data` {{model: DataFrame[participant, accuracy, A, B, E, F, N]}} of the participants with more than round(0.5 k) parameters on a bound (numpy rounding, half to even: k = 3 -> 2, 4 -> 2, 5 -> 2, 7 -> 4). \"On a bound\" = within {bound_tol:g} x (high - low) of a bound the model was fitted with (the reference: exactly equal to a default bound). accuracy = share of learning choices of the better option (1 - mean choice of the worse one); A, B, E, F = transfer choice rates (0-1) averaged over A/C, B/D, E/G, F/H; N = the novel stimulus. k = the model's free parameters (the reference counted every parameter its base model can have)"),
    ("parameter_of_interest_comparisons.png", "{interest}"),
    ("parameter_intervals.csv", "every model's estimates with their 95 % intervals: model, participant_id, group, parameter, estimate, lower, upper, status. {interval_text}"),
    ("model_evidence.csv", "participants x models log evidence (`avoidrl.model_selection.log_evidence_table`): participant_id, group, one column per model, `evidence` = which log evidence it is ({evidence_text})"),
    ("bms_results.csv", "{bms_text}"),
    ("BMS_model_comparison.png", "{bms_figure_text}"),
    ("summary_FIT.json", "seed, method, models, participants, groups, mean AIC/BIC, convergence, per model the participants whose best optimum was reached by fewer than 2 starts (`n_unconfirmed_optima`: a better one may exist), interval statuses, the BMS winner (highest protected exceedance probability) and BOR, `parameters_at_bounds` ({{model: {{parameter: {{group: {{n, lower, upper}}}}}}}}: fits on each bound), `parameters_mostly_on_a_bound` ({{model: {{parameter: share}}}} of those with more than {bound_share:.0%} of the fits on a bound), `participants_with_a_parameter_on_a_bound` ({{model: count}}), `parameter_outliers` (the reference's stricter rule: participants with more than round(0.5 k) parameters on a bound), settings"),
]

_INTERVAL_TEXT = {
    "ml": "Wald intervals from the NLL's Hessian in the logit space of the bounds, mapped back (so within the bounds, possibly asymmetric); status 'at lower bound' / 'at upper bound' (the estimate sits on a bound) or 'not identified' (a flat direction of the likelihood, or an interval spanning nearly the whole range) have no interval (NaN)",
    "eb": "Laplace intervals of the posterior under the fitted population prior, in the logit space of the bounds, mapped back; every EB estimate is 'interior'",
}
_EVIDENCE_TEXT = {
    "ml": "`-BIC/2`: minus half each participant's BIC, the BIC approximation of the log evidence of the maximum-likelihood fit",
    "eb": "`Laplace`: the Laplace approximation of each participant's log marginal likelihood under the fitted population prior (`log_evidence_`)",
}
_BMS_TEXT = ("random-effects Bayesian model selection (`avoidrl.model_selection.random_effects_"
             "bms`, Stephan et al. 2009, Rigoux et al. 2014) on model_evidence.csv: model, "
             "alpha (posterior Dirichlet counts), expected_frequency, frequency_lower and "
             "frequency_upper (95 % interval of the marginal Beta(alpha_k, sum(alpha) - "
             "alpha_k)), exceedance_probability, protected_exceedance_probability, bor (Bayesian "
             "omnibus risk: the probability that all models are equally frequent), "
             "n_participants, evidence")
_BMS_FIGURE_TEXT = ("(A) expected model frequencies with their 95 % Beta intervals (dashed = "
                    "1/K); (B) protected exceedance probabilities (bars) and exceedance "
                    "probabilities (diamonds); bars from zero, the evidence, n participants and "
                    "the BOR in the title")
_NO_BMS_TEXT = "**not written**: Bayesian model selection compares at least 2 models"

#: Empirical Bayes: the rows that differ from maximum likelihood (None: the same row).
_FIT_ROWS_EB = {
    "fit_data_FIT.pkl": "pickled dict {{model: DataFrame[participant, pain_group, run, fit, <parameters>]}}: the MAP estimates per participant; fit = the negative log-likelihood at the MAP (without the prior); run = NaN (EB has no starts)",
    "full_fit_data_FIT.pkl": "**not written**: EB has no starts, so there is no table of every start (fit_data_FIT.pkl holds the estimates)",
    "group_AIC.csv, group_BIC.csv": "**not written**: EB fits have no AIC/BIC (their MAPs are not maximum-likelihood estimates and their effective number of parameters is not k); see group_Laplace.csv and ibic.csv",
    "group_AIC_percentages.csv, group_BIC_percentages.csv": "**not written** (no AIC/BIC); see group_Laplace_percentages.csv",
    "group_AIC_differences.csv, group_BIC_differences.csv": "**not written** (no AIC/BIC); see group_Laplace_differences.csv",
    "information_criteria.csv": "**not written** (no AIC/BIC); the per-participant Laplace log evidences are in model_evidence.csv, the NLL at each MAP in fit_data_FIT.pkl",
    "AIC_model_comparisons.png, BIC_model_comparisons.png": "**not written** (no AIC/BIC); see Laplace_model_comparisons.png",
    "model_fits_distributions.png": "per model: histogram (density) of the participants' -2 x Laplace log evidence with the normal curve of the same mean and sd (dashed line = mean); skewness and excess kurtosis (bias-corrected) in the titles",
    "fit-by-runs.png": "**not written**: EB has no starts (its convergence is in em_history.csv)",
    "parameter_outlier_results.pkl": "the reference's parameter-at-bound outlier analysis on the MAP estimates (the logit transform keeps MAPs inside the bounds, so few or none should be on one): `participant_outliers` {{model: Series participant -> number of parameters on a bound}}, `model_outliers` {{model: Series number on a bound -> participants}}, `outliers_summary` (models x number on a bound, then `total`), `model_params` {{model: k}}, `outlier_data` {{model: DataFrame[participant, accuracy, A, B, E, F, N]}} of the participants with more than round(0.5 k) parameters on a bound. \"On a bound\" = within {bound_tol:g} x (high - low) of a bound of the model's estimator",
    "summary_FIT.json": "seed, method, models, participants, groups, per model the mean -2 x Laplace log evidence, mean NLL at the MAP, iBIC, EM iterations and convergence, interval statuses; the best model by Laplace evidence and by iBIC; the BMS winner (highest protected exceedance probability) and BOR; `parameters_at_bounds` ({{model: {{parameter: {{group: {{n, lower, upper}}}}}}}}), `participants_with_a_parameter_on_a_bound`, `parameter_outliers`; settings",
}
#: Rows only an empirical-Bayes FIT has, after the comparison rows.
_FIT_ROWS_EB_EXTRA = [
    ("group_Laplace.csv", "mean -2 x Laplace log evidence per group (rows; `full` = all participants) and model (columns), `best_model` = lowest. Not a BIC: the Laplace approximation of each participant's log marginal likelihood under the model's fitted population prior"),
    ("group_Laplace_percentages.csv", "% of participants of each group whose Laplace evidence is highest for each model"),
    ("group_Laplace_differences.csv", "per model: mean, sd, n and 95 % t-CI half-width (`ci`) of the per-participant difference in -2 x Laplace log evidence from the best model"),
    ("Laplace_model_comparisons.png", "(A) mean -2 x Laplace log evidence per model as a point with its 95 % t-CI over participants, the best filled; (B) bars from 0: mean +- 95 % CI of the per-participant difference from the best model"),
    ("ibic.csv", "group-level comparison by the integrated BIC (Huys et al. 2011: -2 sum over participants of log mean likelihood over prior samples, plus the prior's parameters x ln(total trials); lower is better): model, ibic, delta_ibic, best, n_participants, n_iter and converged (of EM)"),
    ("population_parameters.csv", "each model's fitted population: model, prior ('pooled': one prior; 'group': one per group_code), group, parameter, median, lower, upper (the population's median and central 95 % range, natural units), mean_z, sd_z (the prior in the logit space)"),
    ("em_history.csv", "every EM iteration: model, (group), iteration, change (largest move of the prior's 2.5/50/97.5 % quantiles, x 4 / range; EM stops below tol), sum_nll (at the MAPs), sum_log_evidence (Laplace)"),
]


def _fit_readme(method, n_models, **values):
    """The FIT section of README.md for ``method`` ('ml' or 'eb')."""
    values = {**values, "interval_text": _INTERVAL_TEXT[method],
              "evidence_text": _EVIDENCE_TEXT[method],
              "bms_text": _BMS_TEXT if n_models >= 2 else _NO_BMS_TEXT,
              "bms_figure_text": _BMS_FIGURE_TEXT if n_models >= 2 else _NO_BMS_TEXT}
    rows = []
    for name, content in _FIT_ROWS_ML:
        if method == "eb":
            content = _FIT_ROWS_EB.get(name, content)
        rows.append(name if content is None else f"| {name} | {content} |")
        if method == "eb" and name == "AIC_model_comparisons.png, BIC_model_comparisons.png":
            rows += [f"| {n} | {c} |" for n, c in _FIT_ROWS_EB_EXTRA]
    return _FIT_README.format(method=_FIT_METHOD[method], rows="\n".join(rows).format(**values),
                              bound_tol=values["bound_tol"], bound_share=values["bound_share"])


_VALIDATION_README = """\
Written by `avoidrl.report.write_validation_report` ({what}). The layout follows the reference
pipeline's `RL/modelling` folder.

| file | content |
|---|---|
{rows}
"""

_PARAMETER_ROWS = """\
| fit_data_PARAMETER.pkl | pickled dict {model: DataFrame[participant, pain_group, run, fit, <fitted parameters>]}: each model fitted to the datasets it generated (participant = dataset id; run is NaN because only the best start is kept) |
| full_fit_data_PARAMETER.pkl | the same (recovery fits keep only each dataset's best start) |
| true_params_PARAMETER.pkl | pickled dict {model: DataFrame[participant, <generating parameters>]} |
| param_recovery_results.csv | per model, dataset and parameter: true and fitted value |
| param_recovery_corrs.csv | Pearson r of true vs fitted values per model and parameter (2 decimals) |
| correlations/recovery_correlation_plot.png | true vs fitted scatter plots, one row per model, both axes spanning the bounds (drawn red dashed), identity dashed grey; fits that end on a bound are open red circles; each title gives Pearson r, n datasets and how many fits sit on a bound |
| summary_PARAMETER.json | seed, models, datasets, correlations, per parameter the fits that end on a bound (`n_fitted_on_a_bound`, within 1e-06 x (high - low)), settings |"""

_MODEL_ROWS = """\
| fit_data_MODEL.pkl | pickled dict {fitting model: DataFrame[participant, pain_group, model, run, fit, <parameters>]}; `model` = the generating model |
| full_fit_data_MODEL.pkl | the same (only the best start of each fit is kept) |
| model_recovery_matrices.csv | long form (matrix, fitting_model, generating_model, value) of the mean BIC, the normalised BIC (within each generating model: -100 = its best fitting model, +100 = its worst; the reference scaled over the whole matrix), the confusion matrix p(best fit \\| generator) and the inversion matrix p(generator \\| best fit) |
| model_recovery.png | rows = generating models (with their n datasets), columns = fitting models (Wilson & Collins 2019; the reference's matrix was the transpose): the confusion matrix (rows sum to 1, each row's maximum boxed), the inversion matrix (columns sum to 1, each column's maximum boxed), and each fitting model's mean BIC minus the generator's best (0 = best, boxed), coloured within each row |
| model_recovery_groups.csv | per group of one generator's datasets (all of them unless the recovery's group_size cut them): generating_model, group, n_datasets, the winner by random-effects BMS (`bms_winner`, its protected exceedance probability `bms_pxp`, `bor`), each fitting model's iBIC (`ibic_{model}`, empirical-Bayes fits only) and the iBIC winner |
| model_recovery_identification.csv | per generating model: n_groups and the share of its groups in which BMS (`bms_correct`) and iBIC (`ibic_correct`) pick it |
| summary_MODEL.json | seed, models, datasets, recovery rates, the criterion compared, settings |"""

_MODEL_ROWS_EB = (
    "\nThe estimators are empirical-Bayes fits (`EmpiricalBayes`): each one fits every group "
    "of a generator's datasets jointly, as a population. They have no BIC, so "
    "model_recovery_matrices.csv holds `mean_laplace` and `normalized_laplace` (the mean -2 x "
    "Laplace log evidence, lower is better) instead of mean_bic and normalized_bic, the "
    "datasets' winners (confusion, inversion) are by Laplace evidence, and model_recovery.png's "
    "third matrix is the mean -2 x Laplace log evidence minus each generating model's best. "
    "fit_data_MODEL.pkl's `fit` "
    "is the NLL at the MAP.")


def _model_summary(estimator, method):
    """One model's entry of summary_FIT.json."""
    common = {"k": _n_parameters(estimator), "mean_nll": float(estimator.nll_.mean()),
              "n_participants": int(len(estimator.params_)),
              "interval_status": interval_status_counts(estimator)}
    if method == "eb":
        return {**common,
                "mean_laplace": float(criterion_values(estimator, LAPLACE).mean()),
                "mean_log_evidence": float(estimator.log_evidence_.mean()),
                "ibic": float(estimator.ibic_), "em_iterations": int(estimator.n_iter_),
                "em_converged": bool(estimator.converged_),
                "prior": estimator.prior, "covariance": estimator.covariance}
    hits = getattr(estimator, "optimum_hits_", None)
    return {"k": common["k"],
            "mean_aic": float(estimator.aic_.mean()), "mean_bic": float(estimator.bic_.mean()),
            "mean_nll": common["mean_nll"],
            "n_converged": int(estimator.converged_.sum()),
            "n_participants": common["n_participants"],
            "n_starts": int(getattr(estimator, "n_starts_", 0)),
            "n_unconfirmed_optima": None if hits is None else int((hits < 2).sum()),
            "interval_status": common["interval_status"]}


def _bounds_summary(counts):
    """summary_FIT.json's ``parameters_at_bounds``: {model: {parameter: {group: counts}}}."""
    summary = {}
    for row in counts.itertuples(index=False):
        summary.setdefault(row.model, {}).setdefault(row.parameter, {})[str(row.group)] = {
            "n": int(row.n), "lower": int(row.n_lower), "upper": int(row.n_upper)}
    return summary


def _mostly_on_a_bound(counts):
    """{model: {parameter: share}} of the parameters with more than BOUND_SHARE_NOTE on a bound."""
    totals = counts.groupby(["model", "parameter"], sort=False)[["n", "n_at_bound"]].sum()
    summary = {}
    for (model, parameter), row in totals.iterrows():
        share = row["n_at_bound"] / row["n"] if row["n"] else 0.0
        if share > BOUND_SHARE_NOTE:
            summary.setdefault(model, {})[parameter] = round(float(share), 4)
    return summary


def _bms_summary(bms):
    """The BMS entry of summary_FIT.json (None with one model)."""
    if bms is None:
        return None
    table = bms.set_index("model")
    pxp = table["protected_exceedance_probability"]
    return {"winner": pxp.idxmax(), "bor": float(table["bor"].iloc[0]),
            "evidence": table["evidence"].iloc[0],
            "expected_frequency": table["expected_frequency"].to_dict(),
            "protected_exceedance_probability": pxp.to_dict()}


def write_fit_report(out_dir, models, X_learning, X_transfer, *, random_state=None,
                     overwrite=False, progress=None, n_simulations=DEFAULT_N_SIMULATIONS,
                     reference_group=None,
                     inputs=(), run_info=None, formats=None, n_jobs=None):
    """Write a FIT into a study folder (the reference's ``RL/modelling`` after a fit).

    The files are staged and published so that the folder holds either its
    previous or its new complete state at every instant; on any error
    nothing is changed and nothing is left behind (see :mod:`avoidrl.report._folder`).

    Parameters
    ----------
    out_dir : str or Path
        The study folder, created if missing. Files of other runs (a
        VALIDATION) and of the user stay as they are.
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants, all by maximum likelihood or
        all by :class:`avoidrl.hierarchical.EmpiricalBayes`. An empirical-Bayes
        FIT compares models by Laplace evidence and iBIC instead of AIC/BIC,
        has no starts files and adds its population files (see the
        README.md it writes).
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (``X_transfer`` may be None for one
        long frame), used for the posterior-predictive simulations.
    random_state : int, RandomState instance or None
        Seeds the posterior-predictive simulations.
    overwrite : bool, default=False
        Replace the files an earlier avoidrl run wrote (unchanged since), and
        remove an earlier FIT's files this one does not write. Without it,
        a file that exists is never replaced. Files avoidrl did not write
        are never replaced.
    progress : callable, optional
        Called with a short message before each step (for example ``print``).
    n_simulations : int, default=5
        Posterior-predictive simulations per participant and model
        (``DEFAULT_N_SIMULATIONS``).
    reference_group : optional
        Reference group of the planned t-tests (default: the first group).
    inputs : iterable of path, optional
        Input files of the run; ``out_dir`` must not hold them. ``X_learning``
        and ``X_transfer`` count when they are paths.
    run_info : dict, optional
        Recorded at the top of ``summary_FIT.json`` (the command-line front
        ends put the seed here, and whether it was drawn).
    formats : list of {'png', 'svg', 'pdf'}, optional
        The figure formats: every figure is written in each. None (default):
        the reference's files, a PNG of every figure plus an SVG of those in
        model_behaviours/ and parameter_fits/.
    n_jobs : int, optional
        Worker processes drawing the figures while the tables are computed
        (as in joblib; None and 1: in this process). The files are the same
        for any value.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    FileExistsError
        If the FIT would replace a file it may not replace (named in the
        message), or ``out_dir`` is not a folder.
    ValueError
        If ``out_dir`` holds one of the input files, some models are
        empirical-Bayes fits and others are not, or a format is unknown.
    """
    formats = _figures.check_formats(formats)
    models = _model_dict(models)
    method = fit_method(models)
    names = list(models)
    inputs = [*inputs, X_learning, X_transfer]
    learning, transfer = split_phases(X_learning, X_transfer)
    first = models[names[0]]
    planned = fit_files(names, pd.unique(first.groups_.to_numpy(dtype=object)), method=method,
                        formats=formats)
    info = _run_info(random_state, run_info)
    with _folder.staged(out_dir, ("FIT",), overwrite=overwrite, inputs=inputs,
                        planned=planned, info={**info, "avoidrl_version": _version()}) as stage, \
            plotting.headless(), _figures.FigureWriter(stage.path, formats, n_jobs) as figures:
        folder = stage.path
        _notify(progress, "writing fit tables")
        fit_data, full_fit_data = fit_tables(models)
        _pickle(folder / "fit_data_FIT.pkl", fit_data)
        if method == "ml":  # an EB fit has no starts to list
            _pickle(folder / "full_fit_data_FIT.pkl", full_fit_data)
        means = {}
        for label, criterion in _COMPARISONS[method].items():
            _notify(progress, f"comparing models by {label}")
            means[label] = group_criteria(models, criterion)
            means[label].to_csv(folder / f"group_{label}.csv")
            group_best_fit_percentages(models, criterion).to_csv(
                folder / f"group_{label}_percentages.csv")
            criterion_differences(models, criterion).to_csv(
                folder / f"group_{label}_differences.csv", index=False)
            figures.add(f"{label}_model_comparisons", plotting.plot_model_comparison, models,
                        criterion)
        if method == "ml":
            criteria = information_criteria(models)
            criteria.to_csv(folder / "information_criteria.csv", index=False)

        _notify(progress, "checking the fits (distributions, starts, parameters on bounds)")
        figures.add("model_fits_distributions", plotting.plot_fit_distributions, models,
                    "bic" if method == "ml" else LAPLACE)
        if method == "ml":
            figures.add("fit-by-runs", plotting.plot_fit_by_starts, models)
        outliers = parameter_outliers(models, learning, transfer)
        _pickle(folder / "parameter_outlier_results.pkl", outliers)
        interest = parameter_of_interest_correlations(models)
        if len(interest):
            figures.add("parameter_of_interest_comparisons",
                        plotting.plot_parameter_of_interest_comparisons, models)
            interest_row = (
                "scatter plots of the parameters of interest against each other, for every "
                "pair of (model, parameter) among the fitted models' "
                f"{', '.join(PARAMETERS_OF_INTEREST)}, participants matched by id, natural "
                "units (contextual_lr on a log axis: the correlations are of log values, as the "
                "reference). Participants with either value on a bound are open red circles and "
                "the bounds are drawn; each title gives Pearson r, p and n over all "
                "participants and over those off the bounds (the dashed least-squares line is "
                "theirs). Pairs: " + "; ".join(
                    f"{row.model_x} {row.parameter_x} vs {row.model_y} {row.parameter_y} "
                    f"(all: r = {row.r:.2f}, n = {row.n}; off bounds: r = "
                    f"{row.r_interior:.2f}, n = {row.n_interior})"
                    for row in interest.itertuples()))
        else:
            found = [f"{m} {p}" for m, p in _interest_items(models, PARAMETERS_OF_INTEREST)]
            interest_row = (
                "**not written**: it compares at least two of "
                f"{', '.join(PARAMETERS_OF_INTEREST)} across the fitted models, and these "
                f"models have {'only ' + found[0] if found else 'none of them'}")

        _notify(progress, "describing and testing parameters")
        at_bounds = bound_counts(models)
        at_bounds.to_csv(folder / "parameter_bounds.csv", index=False)
        parameter_descriptives(models).to_csv(folder / "param_fit_descriptives.csv",
                                              index=False)
        statistics = fit_statistics(models, reference_group=reference_group)
        statistics["linear"].to_csv(folder / "pain_fits_linear_results.csv", index=False)
        statistics["ttest"].to_csv(folder / "pain_fits_ttest_results.csv", index=False)
        statistics["posthoc"].to_csv(folder / "pain_fits_posthoc_results.csv", index=False)
        for name, estimator in models.items():
            figures.add(f"parameter_fits/{_safe_filename(name)}-model-fits",
                        plotting.plot_parameter_fits, estimator)

        _notify(progress, "writing intervals and model evidence")
        parameter_intervals(models).to_csv(folder / "parameter_intervals.csv", index=False)
        model_evidence(models).to_csv(folder / "model_evidence.csv", index=False)
        bms = None
        if len(models) >= 2:
            _notify(progress, "comparing models by random-effects Bayesian model selection")
            bms = bms_results(models)
            bms.to_csv(folder / "bms_results.csv", index=False)
            figures.add("BMS_model_comparison", plotting.plot_bms, bms)
        if method == "eb":
            ibic = ibic_table(models)
            ibic.to_csv(folder / "ibic.csv", index=False)
            population_parameters(models).to_csv(folder / "population_parameters.csv",
                                                 index=False)
            em_history(models).to_csv(folder / "em_history.csv", index=False)

        _notify(progress, "simulating the fitted models (posterior predictive)")
        accuracy, choice = posterior_predictive(models, learning, transfer,
                                                random_state=random_state,
                                                n_simulations=n_simulations)
        accuracy.to_csv(folder / "modelsimulation_accuracy_data.csv", index=False)
        choice.to_csv(folder / "modelsimulation_choice_data.csv", index=False)
        for name in names:
            figures.add(f"model_behaviours/{_safe_filename(name)}_model_behaviours",
                        plotting.plot_model_behaviour, accuracy, choice, name)
        _notify(progress, "replaying the fitted models (prediction errors and values)")
        dynamics = learning_dynamics(models, learning, transfer)
        dynamics.to_csv(folder / "modelsimulation_dynamics_data.csv", index=False)
        simulation_stems = {
            group: f"{stem}_model_simulations" for group, stem in _group_filenames(
                pd.unique(accuracy["group"].to_numpy(dtype=object))).items()}
        for group, stem in simulation_stems.items():
            figures.add(stem, plotting.plot_model_simulations, accuracy, choice, dynamics, group)
        # named by the files written (the first format's; the README lists the others)
        simulation_files = {group: _figures.figure_files(stem, formats)[0]
                            for group, stem in simulation_stems.items()}
        simulations_row = _simulations_readme_row(simulation_files)

        _notify(progress, "writing the summary")
        groups = first.groups_.reindex(first.params_.index).astype(object)
        reference = reference_group if reference_group is not None else \
            (pd.unique(groups.to_numpy())[0] if len(groups) else None)
        best_model = {c: means[c].loc["full", "best_model"] for c in means}
        if method == "eb":
            best_model["iBIC"] = ibic.loc[ibic["best"], "model"].iloc[0]
        summary = {
            **info,
            "avoidrl_version": _version(),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "method": method,
            "evidence": EVIDENCE_LABELS[method],
            "models": names,
            "n_participants": int(len(first.params_)),
            "groups": {str(g): int(n) for g, n in groups.value_counts(sort=False).items()},
            "best_model": best_model,
            "bms": _bms_summary(bms),
            "parameters_at_bounds": _bounds_summary(at_bounds),
            "parameters_mostly_on_a_bound": _mostly_on_a_bound(at_bounds),
            "participants_with_a_parameter_on_a_bound": {
                name: int(len(table)) for name, table in outliers["participant_outliers"].items()},
            "parameter_outliers": {name: int(len(table))
                                   for name, table in outliers["outlier_data"].items()},
            "parameter_of_interest_pairs": int(len(interest)),
            "model_simulation_figures": {str(g): f for g, f in simulation_files.items()},
            "per_model": {name: _model_summary(est, method) for name, est in models.items()},
            "settings": {
                "random_state": _jsonable(random_state), "n_simulations": int(n_simulations),
                "bound_tolerance": BOUND_TOLERANCE, "start_tolerance": START_TOLERANCE,
                "reference_group": _jsonable(reference),
                "estimators": {name: _estimator_settings(est) for name, est in models.items()},
            },
        }
        _write_json(folder / "summary_FIT.json", summary)
        stage.describe("FIT", _fit_readme(
            method, len(models), reference=reference, interest=interest_row,
            start_tol=START_TOLERANCE, bound_tol=BOUND_TOLERANCE, simulations=simulations_row,
            bound_share=BOUND_SHARE_NOTE)
            + "\n" + _figures.describe_formats(formats, reference_svg=True))
        _notify(progress, "drawing the figures")
        figures.finish()
    return stage.target


def write_validation_report(out_dir, *, parameter_recovery=None, model_recovery=None,
                            overwrite=False, progress=None, inputs=(), run_info=None,
                            formats=None, n_jobs=None):
    """Write a VALIDATION (parameter and/or model recovery) into a study folder.

    Published like :func:`write_fit_report`. A parameter recovery and a
    model recovery are two kinds of runs (``PARAMETER`` and ``MODEL``) with
    their own files, so a model recovery can join a folder that holds the
    parameter recovery (and a FIT) without ``overwrite``; the generated data
    they share must then be the same datasets.

    Parameters
    ----------
    out_dir : str or Path
        The study folder, created if missing.
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}, optional
        Fitted parameter recoveries (one per model).
    model_recovery : ModelRecovery, optional
        A fitted model recovery.
    overwrite : bool, default=False
        As in :func:`write_fit_report`: replace files avoidrl wrote, and
        remove an earlier run's files of the same kinds this run does not
        write.
    progress : callable, optional
        Called with a short message before each step.
    inputs : iterable of path, optional
        Input files (template data); ``out_dir`` must not hold them.
    run_info : dict, optional
        Recorded at the top of the summaries (seed, whether it was drawn).
    formats : list of {'png', 'svg', 'pdf'}, optional
        The figure formats (None: PNG, as the reference).
    n_jobs : int, optional
        Worker processes drawing the figures (None and 1: in this process).

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ValueError
        If neither recovery is given.
    FileExistsError
        If the run would replace a file it may not replace (named in the
        message), or ``out_dir`` is not a folder.
    """
    if parameter_recovery is None and model_recovery is None:
        raise ValueError("give parameter_recovery, model_recovery or both")
    formats = _figures.check_formats(formats)
    recoveries = _recoveries(parameter_recovery) if parameter_recovery is not None else None
    if model_recovery is not None and not hasattr(model_recovery, "fits_"):
        raise ValueError("the model recovery is not fitted (call fit)")
    kinds = (("PARAMETER",) if recoveries is not None else ()) + \
        (("MODEL",) if model_recovery is not None else ())
    planned = validation_files(
        list(recoveries) if recoveries is not None else [],
        [n for n, _ in _recovery_models(model_recovery)] if model_recovery is not None else [],
        formats=formats)
    info = _run_info(None, run_info)
    readme_rows, summaries = {}, {}
    created = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    with _folder.staged(out_dir, kinds, overwrite=overwrite, inputs=inputs, planned=planned,
                        info={**info, "avoidrl_version": _version()}) as stage, \
            plotting.headless(), _figures.FigureWriter(stage.path, formats, n_jobs) as figures:
        folder = stage.path
        if recoveries is not None:
            _notify(progress, "writing parameter recovery")
            fit_data, true_params = parameter_recovery_tables(recoveries)
            _pickle(folder / "fit_data_PARAMETER.pkl", fit_data)
            _pickle(folder / "full_fit_data_PARAMETER.pkl", fit_data)
            _pickle(folder / "true_params_PARAMETER.pkl", true_params)
            correlations = parameter_recovery_correlations(recoveries)
            correlations.to_csv(folder / "param_recovery_corrs.csv", index=False)
            pd.concat([r.results_ for r in recoveries.values()], ignore_index=True).to_csv(
                folder / "param_recovery_results.csv", index=False)
            figures.add("correlations/recovery_correlation_plot",
                        plotting.plot_parameter_recovery, recoveries)
            readme_rows["PARAMETER"] = [_PARAMETER_ROWS]
            summaries["PARAMETER"] = {"parameter_recovery": {
                name: {"n_datasets": len(r.datasets_),
                       "n_converged": int(r.fits_["converged"].sum()),
                       "correlations": r.correlations_.to_dict(),
                       "n_fitted_on_a_bound": {p: int(n) for p, n in
                                               recovery_at_bounds(r).sum().items()},
                       "settings": _jsonable({k: v for k, v in r.get_params(deep=False).items()
                                              if k != "estimator"}),
                       "estimator": _estimator_settings(r.estimator)}
                for name, r in recoveries.items()}}
        if model_recovery is not None:
            _notify(progress, "writing model recovery")
            tables = model_recovery_fit_tables(model_recovery)
            _pickle(folder / "fit_data_MODEL.pkl", tables)
            _pickle(folder / "full_fit_data_MODEL.pkl", tables)
            model_recovery_matrices(model_recovery).to_csv(
                folder / "model_recovery_matrices.csv", index=False)
            figures.add("model_recovery", plotting.plot_model_recovery, model_recovery,
                        normalized=True)
            groups = getattr(model_recovery, "group_results_", None)
            identification = getattr(model_recovery, "group_identification_", None)
            if groups is not None:
                groups.to_csv(folder / "model_recovery_groups.csv", index=False)
            if identification is not None:
                identification.to_csv(folder / "model_recovery_identification.csv")
            key, label = recovery_criterion(model_recovery)
            readme_rows["MODEL"] = [_MODEL_ROWS]
            confusion = model_recovery.confusion_
            summaries["MODEL"] = {"model_recovery": {
                "models": [n for n, _ in _recovery_models(model_recovery)],
                "n_datasets": len(model_recovery.datasets_),
                "n_converged": int(model_recovery.fits_["converged"].sum()),
                "n_fits": int(len(model_recovery.fits_)),
                "p_recovered": {g: float(confusion.loc[g, g]) if g in confusion.columns
                                else None for g in confusion.index},
                "criterion": label,
                "group_identification": None if identification is None else
                _jsonable(identification.to_dict(orient="index")),
                "settings": _jsonable({k: v for k, v in
                                       model_recovery.get_params(deep=False).items()
                                       if k != "estimators"}),
                "estimators": {n: _estimator_settings(e)
                               for n, e in _recovery_models(model_recovery)},
            }}
        _notify(progress, "writing the generated data")
        generated_rows = _write_all_generated(folder / "data" / "generated", recoveries,
                                              model_recovery)
        readme_rows[kinds[-1]].append(generated_rows)
        if recoveries is not None and any(is_empirical_bayes(r.estimator)
                                          for r in recoveries.values()):
            readme_rows["PARAMETER"].append(
                "\nEmpirical-Bayes estimators (`EmpiricalBayes`) fit each model's synthetic "
                "participants jointly, as one population: the fitted values are MAP estimates "
                "under the fitted prior and `fit` is the NLL at the MAP.")
        if model_recovery is not None and key != "bic":
            readme_rows["MODEL"].append(_MODEL_ROWS_EB if key == LAPLACE else
                                        "\nThe estimators mix maximum-likelihood and "
                                        "empirical-Bayes fits: model_recovery_matrices.csv holds "
                                        "mean_criterion and normalized_criterion (BIC of the ML "
                                        "fits, -2 x Laplace log evidence of the EB fits).")
        what = {"PARAMETER": "parameter recovery", "MODEL": "model recovery"}
        for kind in kinds:
            suffix = f"summary_{kind}.json"
            _write_json(folder / suffix, {**info, "avoidrl_version": _version(),
                                          "created": created, **summaries[kind]})
            # the generated data belong to every kind of the run, the rest to its own kind
            own = [rel for rel in _folder.files_under(folder)
                   if rel.startswith("data/generated/") and
                   (kind == "MODEL" or not rel.startswith("data/generated/model_recovery/"))
                   or rel in _kind_files(kind, formats)]
            stage.describe(kind, _VALIDATION_README.format(
                what=what[kind], rows="\n".join(readme_rows[kind]))
                + "\n" + _figures.describe_formats(formats, reference_svg=False), files=own)
    return stage.target
