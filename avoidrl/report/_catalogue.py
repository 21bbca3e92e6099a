"""The report catalogue: every file of a FIT and a VALIDATION folder, in one list.

Step 5 of the flow (data -> kernel -> fit -> tables -> figures -> **folder**):
each :class:`~avoidrl.report._entries.Entry` is one row of a folder's ``README.md`` and says which
files it stands for (path patterns, see :mod:`avoidrl.report._files`), the
kind of run that writes them (``FIT``, ``PARAMETER``, ``MODEL``), the
inference methods it applies to (``'ml'``, ``'eb'``, or all), what produces
them (a table function, a figure, a pickle or a JSON summary, from the run's
tables) and, as its progress step, when they are written. ``fit_files`` /
``validation_files``, the writers and the README all walk this list, so a new
table, figure or inference method is an entry here (full Bayes's own posterior
files in :mod:`avoidrl.report._catalogue_bayes`; what a row is, and which rows a
run shows, in :mod:`avoidrl.report._entries`).

The README rows are ``str.format`` templates: the writers fill in the run's
values (``{reference}``, ``{bound_tol}``, ...; see :mod:`avoidrl.report._readme`),
and ``{{`` / ``}}`` stand for braces. An entry with ``readme=None`` is a
whole row of its own (``name`` is the template); one with ``name=None`` is a
paragraph after the table. An entry without ``files`` writes nothing: it
tells the reader why a file of another method is not there.

Which entries a run shows and writes: those of its kind whose ``methods``
include a method of the run's estimators (:func:`applies`; ``mixed`` entries
only when the estimators mix methods, ``mixed=False`` ones only when they
do not) and whose condition ``when`` (an attribute of the run, or of the
plan before it runs) holds; a row is shown even when its condition fails,
its files are then not written.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import plotting
from .._tables import (
    LAPLACE, LOO, _n_parameters, criterion_differences, criterion_values, em_history,
    TRANSFER_PREDICTION_METHODS, group_best_fit_percentages, information_criteria,
    interval_status_counts, model_evidence,
    model_identification, model_recovery_matrices, parameter_descriptives, parameter_intervals,
    parameter_recovery_correlation_matrix, parameter_recovery_correlations,
    parameter_recovery_coverage, parameter_recovery_coverage_by_position,
    parameter_recovery_sbc, population_parameters,
)
from ._columns import (  # noqa: F401  (importers read them here too)
    COLUMN_VOCABULARY, REFERENCE_LAYOUT, VOCABULARY_TEXT, own_columns, reference_files,
)
from .._tables.posterior import PARETO_K_LIMIT, RHAT_LIMIT
from ._catalogue_bayes import POSTERIOR_ENTRIES
from ._files import figure
from ._methods import methods_text

from ._entries import (  # noqa: F401  (importers read them here too)
    BAYES, BMS, CHECK, COMPARE, DESCRIBE, EB, EVIDENCE, FIT, FIT_KIND, FIT_STEPS, GENERATED,
    MODEL, MODEL_KIND, MODEL_STEP, ML, PARAMETER, PARAMETER_KIND, PARAMETER_STEP, POSTERIOR,
    REPLAY, SUMMARIES, SUMMARY, TABLES, TRANSFER, VALIDATION_KINDS, VALIDATION_STEPS, Entry,
    applies, select, shown, written,
)

# ---------------------------------------------------------------- producers
def _percentages(run, label):
    return group_best_fit_percentages(run.models, run.criteria[label])


def _differences(run, label):
    return criterion_differences(run.models, run.criteria[label])


def _comparison_figure(run, label):
    return figure(plotting.plot_model_comparison, run.models, run.criteria[label])


def _recovery_results(run):
    return pd.concat([r.results_ for r in run.recoveries.values()], ignore_index=True)


def _generated(part):
    def produce(run, model):
        return run.generated[model][part]
    return produce


def _separate(part):
    def produce(run, model):
        return run.separate[model][part]
    return produce


# --------------------------------------------------------------- FIT texts
BMS_TEXT = ("random-effects Bayesian model selection (`avoidrl.model_selection.random_effects_"
            "bms`, Stephan et al. 2009, Rigoux et al. 2014) on model_evidence.csv: model, "
            "alpha (posterior Dirichlet counts), expected_frequency, frequency_lower and "
            "frequency_upper (95 % interval of the marginal Beta(alpha_k, sum(alpha) - "
            "alpha_k)), exceedance_probability, protected_exceedance_probability, bor (Bayesian "
            "omnibus risk: the probability that all models are equally frequent), "
            "n_participants, evidence")
BMS_FIGURE_TEXT = ("(A) expected model frequencies with their 95 % Beta intervals (dashed = "
                   "1/K); (B) protected exceedance probabilities (bars) and exceedance "
                   "probabilities (diamonds); bars from zero, the evidence, n participants and "
                   "the BOR in the title")
NO_BMS_TEXT = "**not written**: Bayesian model selection compares at least 2 models"


#: The model-simulation figures, one per group (their names are in summary_FIT.json).
SIMULATIONS = "{group}_model_simulations.png"

#: The FIT folder: one entry per README row, in the README's order. Rows that
#: differ between methods come once per method, next to each other.
FIT_CATALOGUE = (
    FIT('fit_data_FIT.pkl',
        'pickled dict {{model: DataFrame[participant, pain_group, run, fit, <parameters>]}}: best start per participant (run = start index, fit = negative log-likelihood)',
        methods=ML, files=("fit_data_FIT.pkl",),
        producer=lambda run: run.fit_tables[0], step=TABLES),
    FIT('fit_data_FIT.pkl',
        'pickled dict {{model: DataFrame[participant, pain_group, run, fit, <parameters>]}}: the posterior-mean estimates per participant (`params_`); fit = the negative log-likelihood there (without the prior); run = NaN (EB has no starts)',
        methods=EB, files=("fit_data_FIT.pkl",),
        producer=lambda run: run.fit_tables[0], step=TABLES),
    FIT('fit_data_FIT.pkl',
        'pickled dict {{model: DataFrame[participant, pain_group, run, fit, <parameters>]}}: the posterior means per participant; fit = the negative log-likelihood at the posterior means; run = NaN (full Bayes has no starts)',
        methods=BAYES, files=("fit_data_FIT.pkl",),
        producer=lambda run: run.fit_tables[0], step=TABLES),
    FIT('full_fit_data_FIT.pkl',
        'the same layout with every start',
        methods=ML, files=("full_fit_data_FIT.pkl",),
        producer=lambda run: run.fit_tables[1], step=TABLES),
    FIT('full_fit_data_FIT.pkl',
        '**not written**: EB has no starts, so there is no table of every start (fit_data_FIT.pkl holds the estimates)',
        methods=EB),
    FIT('full_fit_data_FIT.pkl',
        '**not written**: full Bayes has no starts (its chains are in bayes_trace_rank/ and bayes_diagnostics.csv; fit_data_FIT.pkl holds the estimates)',
        methods=BAYES),
    FIT('group_AIC.csv, group_BIC.csv',
        'mean AIC / BIC per group (rows; `full` = all participants) and model (columns), `best_model` = lowest',
        methods=ML, files=("group_{label}.csv",),
        producer=lambda run, label: run.mean(label), index=True, step=COMPARE),
    FIT('group_AIC.csv, group_BIC.csv',
        '**not written**: EB fits have no AIC/BIC (their MAPs are not maximum-likelihood estimates and their effective number of parameters is not k); see group_Laplace.csv and ibic.csv',
        methods=EB),
    FIT('group_AIC.csv, group_BIC.csv',
        '**not written**: full-Bayes fits have no AIC/BIC (posterior means are not maximum-likelihood estimates); see group_LOO.csv',
        methods=BAYES),
    FIT('group_AIC_percentages.csv, group_BIC_percentages.csv',
        '% of participants of each group best fit by each model',
        methods=ML, files=("group_{label}_percentages.csv",),
        producer=_percentages, index=True, step=COMPARE),
    FIT('group_AIC_percentages.csv, group_BIC_percentages.csv',
        '**not written** (no AIC/BIC); see group_Laplace_percentages.csv',
        methods=EB),
    FIT('group_AIC_percentages.csv, group_BIC_percentages.csv',
        '**not written** (no AIC/BIC); see group_LOO_percentages.csv',
        methods=BAYES),
    FIT('group_AIC_differences.csv, group_BIC_differences.csv',
        'per model: mean, sd, n and 95 % t-CI half-width (`ci`) of the per-participant difference from the best model',
        methods=ML, files=("group_{label}_differences.csv",), producer=_differences, step=COMPARE),
    FIT('group_AIC_differences.csv, group_BIC_differences.csv',
        '**not written** (no AIC/BIC); see group_Laplace_differences.csv',
        methods=EB),
    FIT('group_AIC_differences.csv, group_BIC_differences.csv',
        '**not written** (no AIC/BIC); see group_LOO_differences.csv',
        methods=BAYES),
    FIT('information_criteria.csv',
        'per participant and model: participant_id, group, model, nll, aic, bic, k, n_trials (trials with a choice, the n of the BIC), n_missed (missed trials, no choice made)',
        methods=ML, files=("information_criteria.csv",),
        producer=lambda run: own_columns(information_criteria(run.models)), step=COMPARE),
    FIT('information_criteria.csv',
        '**not written** (no AIC/BIC); the per-participant Laplace log evidences are in model_evidence.csv, the NLL at each estimate in fit_data_FIT.pkl',
        methods=EB),
    FIT('information_criteria.csv',
        '**not written** (no AIC/BIC); the per-participant PSIS-LOO elpd are in model_evidence.csv, the NLL at the posterior means in fit_data_FIT.pkl',
        methods=BAYES),
    FIT('parameter_bounds.csv',
        'per model, parameter and group: lower, upper (the bounds of the fit), n (participants), n_at_lower, n_at_upper (fits on each bound), n_at_bound, share_at_bound',
        files=("parameter_bounds.csv",), producer=lambda run: own_columns(run.at_bounds),
        step=DESCRIBE),
    FIT('param_fit_descriptives.csv',
        '"mean (sd)" of every parameter per group, 4 significant digits (the reference: 2 decimals, which showed a pile-up at 0.01 as "0.01 (0.0)"), full model names (the reference: base names); then n, n_at_lower and n_at_upper (fits on each bound, all groups)',
        files=("param_fit_descriptives.csv",),
        producer=lambda run: parameter_descriptives(run.models), step=DESCRIBE),
    FIT('pain_fits_linear_results.csv',
        'one-way linear model (ANOVA F test) of each parameter on group, with normality (Shapiro-Wilk) and homogeneity (Levene) flags; then n_at_bound and share_at_bound (values on a bound, all groups), test, scale, p_holm',
        files=("pain_fits_linear_results.csv",),
        producer=lambda run: run.statistics["linear"], step=DESCRIBE),
    FIT('pain_fits_ttest_results.csv',
        't-tests of each group against the reference group ({reference}); cohens_d = (condition1 - condition2) / pooled SD; then n_at_bound_condition1, n_at_bound_condition2, test (Student or Welch), scale, p_holm',
        files=("pain_fits_ttest_results.csv",),
        producer=lambda run: run.statistics["ttest"], step=DESCRIBE),
    FIT('pain_fits_posthoc_results.csv',
        'Tukey HSD tests of every pair of groups (factor "g1 vs g2"); meandiff = g2 - g1 (statsmodels), cohens_d = (g1 - g2) / pooled SD; then n_at_bound_g1, n_at_bound_g2, test, scale, p_holm',
        files=("pain_fits_posthoc_results.csv",),
        producer=lambda run: run.statistics["posthoc"], step=DESCRIBE),
    FIT('modelsimulation_accuracy_data.csv',
        'posterior predictive learning accuracy (%) per participant, context and trial bin, for each model (`source` = model) and the data (`source` = empirical)',
        files=("modelsimulation_accuracy_data.csv",),
        producer=lambda run: run.posterior[0], step=POSTERIOR),
    FIT('modelsimulation_choice_data.csv',
        'posterior predictive transfer choice rates (%) per participant and stimulus type (HR = A/C, LR = B/D, LP = E/G, HP = F/H, N)',
        files=("modelsimulation_choice_data.csv",),
        producer=lambda run: run.posterior[1], step=POSTERIOR),
    FIT('AIC_model_comparisons.png, BIC_model_comparisons.png',
        '(A) mean criterion per model as a point with its 95 % t-CI over participants (the axis does not start at 0, so no bars), the best filled; (B) bars from 0: mean +- 95 % CI of the per-participant difference from the best model; n participants in the title',
        methods=ML, files=("{label}_model_comparisons.png",),
        producer=_comparison_figure, step=COMPARE),
    FIT('AIC_model_comparisons.png, BIC_model_comparisons.png',
        '**not written** (no AIC/BIC); see Laplace_model_comparisons.png',
        methods=EB),
    FIT('AIC_model_comparisons.png, BIC_model_comparisons.png',
        '**not written** (no AIC/BIC); see LOO_model_comparisons.png',
        methods=BAYES),
    FIT('group_Laplace.csv',
        "mean -2 x Laplace log evidence per group (rows; `full` = all participants) and model (columns), `best_model` = lowest. Not a BIC: the Laplace approximation of each participant's log marginal likelihood under the model's fitted population prior",
        methods=EB, files=("group_{label}.csv",),
        producer=lambda run, label: run.mean(label), index=True, step=COMPARE),
    FIT('group_Laplace_percentages.csv',
        '% of participants of each group whose Laplace evidence is highest for each model',
        methods=EB, files=("group_{label}_percentages.csv",),
        producer=_percentages, index=True, step=COMPARE),
    FIT('group_Laplace_differences.csv',
        'per model: mean, sd, n and 95 % t-CI half-width (`ci`) of the per-participant difference in -2 x Laplace log evidence from the best model',
        methods=EB, files=("group_{label}_differences.csv",), producer=_differences, step=COMPARE),
    FIT('Laplace_model_comparisons.png',
        '(A) mean -2 x Laplace log evidence per model as a point with its 95 % t-CI over participants, the best filled; (B) bars from 0: mean +- 95 % CI of the per-participant difference from the best model',
        methods=EB, files=("{label}_model_comparisons.png",),
        producer=_comparison_figure, step=COMPARE),
    FIT('ibic.csv',
        "group-level comparison by the integrated BIC (Huys et al. 2011: -2 sum over participants of the log marginal likelihood under the fitted prior, importance-sampled around each participant's Laplace posterior, plus the prior's parameters x ln(total trials); lower is better; the recommended group-level criterion, see the avoidrl README): model, ibic, delta_ibic, best, ibic_se (its Monte-Carlo standard error: a difference of a few ibic_se is noise), n_participants, n_iter and converged (of EM)",
        methods=EB, files=("ibic.csv",), producer=lambda run: run.ibic, step=EVIDENCE),
    FIT('population_parameters.csv',
        "each model's fitted population: model, prior ('pooled': one prior; 'group': one per group_code), group, parameter, median, lower, upper (the population's median and central 95 % range, natural units), mean_z, sd_z (the prior in the logit space)",
        methods=EB, files=("population_parameters.csv",),
        producer=lambda run: population_parameters(run.models), step=EVIDENCE),
    FIT('em_history.csv',
        "every EM iteration: model, (group), iteration, change (largest move of the prior's 2.5/50/97.5 % quantiles, x 4 / range; EM stops below tol), sum_nll (at the MAPs), sum_log_evidence (Laplace)",
        methods=EB, files=("em_history.csv",),
        producer=lambda run: em_history(run.models), step=EVIDENCE),
    FIT('group_LOO.csv',
        "mean -2 x PSIS-LOO elpd per group (rows; `full` = all participants) and model (columns), `best_model` = lowest. Each participant's elpd is the Pareto-smoothed importance-sampling estimate of the log predictive density of its data left out (ArviZ); not a BIC",
        methods=BAYES, files=("group_{label}.csv",),
        producer=lambda run, label: run.mean(label), index=True, step=COMPARE),
    FIT('group_LOO_percentages.csv',
        '% of participants of each group whose PSIS-LOO elpd is highest for each model',
        methods=BAYES, files=("group_{label}_percentages.csv",),
        producer=_percentages, index=True, step=COMPARE),
    FIT('group_LOO_differences.csv',
        'per model: mean, sd, n and 95 % t-CI half-width (`ci`) of the per-participant difference in -2 x PSIS-LOO elpd from the best model',
        methods=BAYES, files=("group_{label}_differences.csv",), producer=_differences,
        step=COMPARE),
    FIT('LOO_model_comparisons.png',
        '(A) mean -2 x PSIS-LOO elpd per model as a point with its 95 % t-CI over participants, the best filled; (B) bars from 0: mean +- 95 % CI of the per-participant difference from the best model',
        methods=BAYES, files=("{label}_model_comparisons.png",),
        producer=_comparison_figure, step=COMPARE),
    *POSTERIOR_ENTRIES,
    FIT('modelsimulation_dynamics_data.csv',
        "per model, participant, context and trial within pair (1-based): the mean of both options' prediction errors (`pe`) and the values of option 0 (the better option) and option 1 before the trial's update (`value0`, `value1`), averaged over the context's two pairs, from each model replaying the participant's own choices and outcomes at its fitted parameters (`avoidrl.report.learning_dynamics`). `pe_formula`: r - Q (QLearning), r - C - Q (Relative), r - weighting_factor * (r0 + r1) / 2 - Q (Advantage), the critic's r - V (ActorCritic and hybrids; the reference added the hybrids' Q errors to it); `value_formula`: Q, the normalised actor weights W, or (1 - m) W + m Q (hybrids, m = mixing_factor)",
        files=("modelsimulation_dynamics_data.csv",),
        producer=lambda run: own_columns(run.dynamics), step=REPLAY),
    FIT('transfer_prediction.csv',
        "written only on request (`write_fit_report(..., transfer_prediction=True)`, `avoidrl fit --transfer-prediction`: it refits every model): how well the learning phase predicts the transfer phase (`avoidrl.report.transfer_prediction`). Each model, without its +novel and +decay options (the learning phase cannot inform them: N is valued 0 and nothing decays), is refitted to the learning phase alone with the same settings, seed and bounds, and predicts the transfer choices it never saw. Per model and participant: participant_id, group, n_trials (transfer trials with a choice), log_loss (mean -ln P(choice) per trial), accuracy (share of choices of the option predicted more likely, a tie counting 0.5), chance_log_loss (ln 2 = 0.693), in_sample_log_loss (the same trials under the full fit, which saw them)",
        methods=TRANSFER_PREDICTION_METHODS, files=("transfer_prediction.csv",),
        producer=lambda run: run.transfer_table, step=TRANSFER, when="transfer_prediction"),
    FIT('transfer_prediction.csv',
        '**not written**: transfer prediction refits maximum-likelihood fits on the learning phase (an empirical-Bayes prior is fitted to both phases); fit with --method ml for it',
        methods=EB),
    FIT('transfer_prediction.csv',
        '**not written**: transfer prediction refits maximum-likelihood fits on the learning phase (a full-Bayes population is fitted to both phases); fit with --method ml for it',
        methods=BAYES),
    FIT('model_behaviours/{{model}}_model_behaviours.png',
        'posterior predictive behaviour of each model against the data, per group',
        files=("model_behaviours/{model}_model_behaviours.png",),
        producer=lambda run, name: figure(plotting.plot_model_behaviour, *run.posterior, name),
        step=POSTERIOR),
    FIT('{simulations}',
        None,
        files=(SIMULATIONS,),
        producer=lambda run, group: figure(plotting.plot_model_simulations, *run.posterior,
                                           run.dynamics, group),
        step=REPLAY),
    FIT('parameter_fits/{{model}}-model-fits.png',
        "fitted parameters per group: every participant a point (natural units), the group mean +- 95 % t-CI beside it (black diamond). Parameters the statistics log-transform are on a log axis and their mean and CI are those of log(x) mapped back (geometric mean); the others on a linear axis. Both bounds are drawn (red dashed) inside every axis, participants on a bound are open red circles (each title: how many of n), not identified estimates open orange circles; each participant's 95 % interval (parameter_intervals.csv) is a thin vertical line behind its point",
        files=("parameter_fits/{model}-model-fits.png",),
        producer=lambda run, name: figure(plotting.plot_parameter_fits, run.models[name]),
        step=DESCRIBE),
    FIT('model_fits_distributions.png',
        "per model: histogram (density) of the participants' BIC with the normal curve of the same mean and sd (dashed line = mean); skewness and excess kurtosis (bias-corrected, as pandas and the reference) in the titles. Each participant's BIC uses its own trial count n (the reference used n = 480 for everyone)",
        methods=ML, files=("model_fits_distributions.png",),
        producer=lambda run: figure(plotting.plot_fit_distributions, run.models, "bic"),
        step=CHECK),
    FIT('model_fits_distributions.png',
        "per model: histogram (density) of the participants' -2 x Laplace log evidence with the normal curve of the same mean and sd (dashed line = mean); skewness and excess kurtosis (bias-corrected) in the titles",
        methods=EB, files=("model_fits_distributions.png",),
        producer=lambda run: figure(plotting.plot_fit_distributions, run.models, LAPLACE),
        step=CHECK),
    FIT('model_fits_distributions.png',
        "per model: histogram (density) of the participants' -2 x PSIS-LOO elpd with the normal curve of the same mean and sd (dashed line = mean); skewness and excess kurtosis (bias-corrected) in the titles",
        methods=BAYES, files=("model_fits_distributions.png",),
        producer=lambda run: figure(plotting.plot_fit_distributions, run.models, LOO),
        step=CHECK),
    FIT('fit-by-runs.png',
        "per model: for r = 1 .. number of starts, the mean over participants of the best NLL among each participant's first r starts, computed from every start (the reference plotted the best-start table, so its curve was not this); the dashed line marks the first r from which every participant is within {start_tol} NLL of its best",
        methods=ML, files=("fit-by-runs.png",),
        producer=lambda run: figure(plotting.plot_fit_by_starts, run.models), step=CHECK),
    FIT('fit-by-runs.png',
        '**not written**: EB has no starts (its convergence is in em_history.csv)',
        methods=EB),
    FIT('fit-by-runs.png',
        '**not written**: full Bayes has no starts (its chains: bayes_diagnostics.csv, bayes_trace_rank/)',
        methods=BAYES),
    FIT('parameter_outlier_results.pkl',
        'pickled dict: `participant_outliers` {{model: Series participant -> number of parameters on a bound, participants with at least one, most first}}, `model_outliers` {{model: Series number on a bound -> participants}}, `outliers_summary` (DataFrame, models x number on a bound, then `total`), `model_params` {{model: k}}, `outlier_data` {{model: DataFrame[participant, accuracy, A, B, E, F, N]}} of the participants with more than round(0.5 k) parameters on a bound (numpy rounding, half to even: k = 3 -> 2, 4 -> 2, 5 -> 2, 7 -> 4). "On a bound" = within {bound_tol:g} x (high - low) of a bound the model was fitted with (the reference: exactly equal to a default bound). accuracy = share of learning choices of the better option (1 - mean choice of the worse one); A, B, E, F = transfer choice rates (0-1) averaged over A/C, B/D, E/G, F/H; N = the novel stimulus. k = the model\'s free parameters (the reference counted every parameter its base model can have)',
        methods=ML, files=("parameter_outlier_results.pkl",),
        producer=lambda run: run.outliers, step=CHECK),
    FIT('parameter_outlier_results.pkl',
        'the reference\'s parameter-at-bound outlier analysis on the EB estimates (posterior means under a prior in the logit space lie inside the bounds, so few or none should be on one): `participant_outliers` {{model: Series participant -> number of parameters on a bound}}, `model_outliers` {{model: Series number on a bound -> participants}}, `outliers_summary` (models x number on a bound, then `total`), `model_params` {{model: k}}, `outlier_data` {{model: DataFrame[participant, accuracy, A, B, E, F, N]}} of the participants with more than round(0.5 k) parameters on a bound. "On a bound" = within {bound_tol:g} x (high - low) of a bound of the model\'s estimator',
        methods=EB, files=("parameter_outlier_results.pkl",),
        producer=lambda run: run.outliers, step=CHECK),
    FIT('parameter_outlier_results.pkl',
        'the reference\'s parameter-at-bound outlier analysis on the posterior means (means of draws inside the bounds, so none should be on one): `participant_outliers`, `model_outliers`, `outliers_summary`, `model_params`, `outlier_data`, laid out as with maximum likelihood. "On a bound" = within {bound_tol:g} x (high - low) of a bound of the model\'s estimator',
        methods=BAYES, files=("parameter_outlier_results.pkl",),
        producer=lambda run: run.outliers, step=CHECK),
    FIT('parameter_of_interest_comparisons.png',
        '{interest}',
        files=("parameter_of_interest_comparisons.png",),
        producer=lambda run: figure(plotting.plot_parameter_of_interest_comparisons, run.models),
        step=CHECK, when="has_interest"),
    FIT('parameter_intervals.csv',
        "every model's estimates with their intervals: model, participant_id, group, parameter, estimate, lower, upper, status, level (the interval's central level: 0.95, or with empirical Bayes's --interval-calibration the parameter's calibrated credible level). {interval_text}",
        files=("parameter_intervals.csv",),
        producer=lambda run: parameter_intervals(run.models), step=EVIDENCE),
    FIT('model_evidence.csv',
        'participants x models log evidence (`avoidrl.model_selection.log_evidence_table`): participant_id, group, one column per model, `evidence` = which log evidence it is ({evidence_text})',
        files=("model_evidence.csv",),
        producer=lambda run: model_evidence(run.models), step=EVIDENCE),
    FIT('bms_results.csv',
        '{bms_text}',
        files=("bms_results.csv",), producer=lambda run: run.bms, step=BMS, when="compares_models"),
    FIT('BMS_model_comparison.png',
        '{bms_figure_text}',
        files=("BMS_model_comparison.png",),
        producer=lambda run: figure(plotting.plot_bms, run.bms), step=BMS, when="compares_models"),
    FIT('model_comparison_criteria.csv',
        "do the group-level criteria agree (`avoidrl.report.model_comparison_criteria`)? One row per criterion: criterion ({criteria_text}), winner, statistic (the winner's value: iBIC, mean criterion, or protected exceedance probability for `bms`), lead (over the runner-up), lead_in_se (lead / its standard error: for iBIC the root of the sum of both models' squared ibic_se, for means the paired standard error over participants; below {separation_se:g} the data do not separate the two models), recommended (the criterion the avoidrl README recommends; see the line above the table)",
        methods=ML + EB + BAYES, files=("model_comparison_criteria.csv",),
        producer=lambda run: run.agreement, step=BMS, when="compares_models",
        row_needs_files=True),
    FIT('summary_FIT.json',
        "seed, method, models, participants, groups, mean AIC/BIC, convergence, per model the participants whose best optimum was reached by fewer than 2 starts (`n_unconfirmed_optima`: a better one may exist), interval statuses, the BMS winner (highest protected exceedance probability) and BOR, `parameters_at_bounds` ({{model: {{parameter: {{group: {{n, lower, upper}}}}}}}}: fits on each bound), `parameters_mostly_on_a_bound` ({{model: {{parameter: share}}}} of those with more than {bound_share:.0%} of the fits on a bound), `participants_with_a_parameter_on_a_bound` ({{model: count}}), `parameter_outliers` (the reference's stricter rule: participants with more than round(0.5 k) parameters on a bound), `model_comparison` (as model_comparison_criteria.csv: each criterion's winner, whether they agree, the recommended criterion, its winner and lead, and `lead_within_2_se`), settings",
        methods=ML, files=("summary_FIT.json",),
        producer=lambda run: run.summary(FIT_KIND), step=SUMMARY),
    FIT('summary_FIT.json',
        'seed, method, models, participants, groups, per model the mean -2 x Laplace log evidence, mean NLL at the estimates, iBIC, EM iterations and convergence, interval statuses; the best model by Laplace evidence and by iBIC; the BMS winner (highest protected exceedance probability) and BOR; `model_comparison` (as model_comparison_criteria.csv: the winner of each criterion, whether they agree, the recommended criterion (iBIC), its winner and lead, and `lead_within_2_se`); `parameters_at_bounds` ({{model: {{parameter: {{group: {{n, lower, upper}}}}}}}}), `participants_with_a_parameter_on_a_bound`, `parameter_outliers`; settings',
        methods=EB, files=("summary_FIT.json",),
        producer=lambda run: run.summary(FIT_KIND), step=SUMMARY),
    FIT('summary_FIT.json',
        'seed, method, models, participants, groups, per model the mean -2 x PSIS-LOO elpd, mean NLL at the posterior means, the participants with a Pareto k above 0.7, the largest R-hat and the share of R-hats above 1.05, convergence, the sampler settings and interval statuses; the best model by mean -2 x PSIS-LOO elpd; the BMS winner (highest protected exceedance probability) and BOR; `model_comparison` (as model_comparison_criteria.csv); `parameters_at_bounds`, `participants_with_a_parameter_on_a_bound`, `parameter_outliers`; settings',
        methods=BAYES, files=("summary_FIT.json",),
        producer=lambda run: run.summary(FIT_KIND), step=SUMMARY),
    FIT('methods.md',
        "a methods paragraph written from summary_FIT.json: the models with their free parameters, bounds and references, the fitting method with its starts and seed, the comparison criteria, the group statistics and the software version, then the references (of the models, the methods and avoidrl)",
        files=("methods.md",), producer=lambda run: methods_text(run.summary(FIT_KIND)),
        step=SUMMARY),
    FIT(None, VOCABULARY_TEXT),
)


#: The VALIDATION folder: a parameter recovery (PARAMETER), a model recovery
#: (MODEL), and the generated data they share (listed in the last kind's
#: section), then the notes on the estimators.
VALIDATION_CATALOGUE = (
    PARAMETER('fit_data_PARAMETER.pkl',
        'pickled dict {{model: DataFrame[participant, pain_group, run, fit, <fitted parameters>]}}: each model fitted to the datasets it generated (participant = dataset id; run is NaN because only the best start is kept)',
        files=("fit_data_PARAMETER.pkl",),
        producer=lambda run: run.parameter_tables[0], step=PARAMETER_STEP),
    PARAMETER('full_fit_data_PARAMETER.pkl',
        "the same (recovery fits keep only each dataset's best start)",
        files=("full_fit_data_PARAMETER.pkl",),
        producer=lambda run: run.parameter_tables[0], step=PARAMETER_STEP),
    PARAMETER('true_params_PARAMETER.pkl',
        'pickled dict {{model: DataFrame[participant, <generating parameters>]}}',
        files=("true_params_PARAMETER.pkl",),
        producer=lambda run: run.parameter_tables[1], step=PARAMETER_STEP),
    PARAMETER('param_recovery_results.csv',
        'per model, dataset and parameter: true and fitted value',
        files=("param_recovery_results.csv",), producer=_recovery_results, step=PARAMETER_STEP),
    PARAMETER('param_recovery_corrs.csv',
        'Pearson r of true vs fitted values per model and parameter (2 decimals)',
        files=("param_recovery_corrs.csv",),
        producer=lambda run: parameter_recovery_correlations(run.recoveries), step=PARAMETER_STEP),
    PARAMETER('correlations/recovery_correlation_plot.png',
        'true vs fitted scatter plots, one row per model, both axes spanning the bounds (drawn red dashed), identity dashed grey; fits that end on a bound are open red circles; each title gives Pearson r, n datasets and how many fits sit on a bound',
        files=("correlations/recovery_correlation_plot.png",),
        producer=lambda run: figure(plotting.plot_parameter_recovery, run.recoveries),
        step=PARAMETER_STEP),
    PARAMETER('parameter_recovery_coverage.csv',
        "per model and parameter: model, parameter, nominal (the intervals' level), n (fits with a finite interval), n_inside (intervals containing the true value), coverage (n_inside / n), lower, upper (its 95 % Clopper-Pearson interval: is the nominal level plausible?), n_without_interval (Wald intervals of estimates on a bound or not identified); the intervals are the fits' `params_ci_` (Wald or profile-likelihood intervals of maximum-likelihood fits, posterior intervals of empirical-Bayes ones, credible intervals of full-Bayes ones)",
        files=("parameter_recovery_coverage.csv",),
        producer=lambda run: parameter_recovery_coverage(run.recoveries), step=PARAMETER_STEP),
    PARAMETER('parameter_recovery_coverage_by_position.csv',
        "parameter_recovery_coverage.csv split by where the true value lies among the true values: model, parameter, position ('lower tail': the lowest 10 %, 'middle', 'upper tail': the highest 10 %; equal true values share a position), min_true, max_true (the range of true values in the position), then the same columns. Shrinkage methods (empirical and full Bayes) can cover the middle at the nominal level and miss many of the extreme values",
        files=("parameter_recovery_coverage_by_position.csv",),
        producer=lambda run: parameter_recovery_coverage_by_position(run.recoveries),
        step=PARAMETER_STEP),
    PARAMETER('parameter_recovery_sbc.csv',
        "written when the fits give posterior draws (full Bayes): the simulation-based-calibration rank of every true value among n_draws evenly thinned posterior draws (Talts et al. 2018): model, dataset, parameter, rank (0..n_draws), n_draws. Uniform ranks mean calibrated posteriors, but only when the true values were drawn from the fitted model's prior (the 'random' and 'normal' samplers do not; see the avoidrl docs, full Bayes)",
        files=("parameter_recovery_sbc.csv",),
        producer=lambda run: parameter_recovery_sbc(run.recoveries), step=PARAMETER_STEP,
        when="has_sbc", row_needs_files=True),
    PARAMETER('parameter_recovery_correlation_matrix.csv',
        'per model, the Pearson r over datasets of every true parameter with every fitted one: model, true_parameter, fitted_parameter, r (equal names: the recovery r; the others: trade-offs)',
        files=("parameter_recovery_correlation_matrix.csv",),
        producer=lambda run: parameter_recovery_correlation_matrix(run.recoveries),
        step=PARAMETER_STEP),
    PARAMETER('parameter_recovery_calibration.png',
        "one row per model: the coverage per parameter as a point with its 95 % Clopper-Pearson interval (n_inside/n above it), beside it the coverage of the lowest and highest 10 % of the true values (triangles down and up, drawn when a tail holds at least 20 intervals), and the nominal level dashed; the true x fitted correlation matrix as a heatmap (-1 blue .. 0 white .. 1 red, values annotated); n datasets in the titles",
        files=("parameter_recovery_calibration.png",),
        producer=lambda run: figure(plotting.plot_recovery_calibration, run.recoveries),
        step=PARAMETER_STEP),
    PARAMETER('summary_PARAMETER.json',
        'seed, models, datasets, correlations, interval coverage per parameter (`coverage`: the nominal level, then for all true values and for both 10 % tails together n, n_inside, coverage and its 95 % Clopper-Pearson lower and upper), per parameter the fits that end on a bound (`n_fitted_on_a_bound`, within 1e-06 x (high - low)), settings',
        files=("summary_PARAMETER.json",),
        producer=lambda run: run.summary("PARAMETER"), step=SUMMARIES),
    MODEL('fit_data_MODEL.pkl',
        'pickled dict {{fitting model: DataFrame[participant, pain_group, model, run, fit, <parameters>]}}; `model` = the generating model',
        files=("fit_data_MODEL.pkl",), producer=lambda run: run.model_tables, step=MODEL_STEP),
    MODEL('full_fit_data_MODEL.pkl',
        'the same (only the best start of each fit is kept)',
        files=("full_fit_data_MODEL.pkl",), producer=lambda run: run.model_tables, step=MODEL_STEP),
    MODEL('model_recovery_matrices.csv',
        'long form (matrix, fitting_model, generating_model, value) of the mean BIC, the normalised BIC (within each generating model: -100 = its best fitting model, +100 = its worst; the reference scaled over the whole matrix), the confusion matrix p(best fit \\| generator) and the inversion matrix p(generator \\| best fit)',
        files=("model_recovery_matrices.csv",),
        producer=lambda run: model_recovery_matrices(run.model_recovery), step=MODEL_STEP),
    MODEL('model_recovery.png',
        "rows = generating models (with their n datasets), columns = fitting models (Wilson & Collins 2019; the reference's matrix was the transpose): the confusion matrix (rows sum to 1, each row's maximum boxed), the inversion matrix (columns sum to 1, each column's maximum boxed), and each fitting model's mean BIC minus the generator's best (0 = best, boxed), coloured within each row",
        files=("model_recovery.png",),
        producer=lambda run: figure(plotting.plot_model_recovery, run.model_recovery,
                                     normalized=True),
        step=MODEL_STEP),
    MODEL('model_recovery_groups.csv',
        "per group of one generator's datasets (all of them unless the recovery's group_size cut them): generating_model, group, n_datasets, the winner by random-effects BMS (`bms_winner`, its protected exceedance probability `bms_pxp`, `bor`), each fitting model's iBIC (`ibic_{{model}}`, empirical-Bayes fits only) and the iBIC winner",
        files=("model_recovery_groups.csv",),
        producer=lambda run: run.model_recovery.group_results_, when="has_group_results",
        step=MODEL_STEP),
    MODEL('model_recovery_identification.csv',
        'per generating model (`avoidrl.report.model_identification`): n_groups (each group one BMS / iBIC comparison), then for BMS and iBIC (`ibic_*`, empirical-Bayes fits only): the groups in which it picks the generator (`bms_n_correct`), their share (`bms_correct`) and its 95 % Clopper-Pearson interval (`bms_correct_lower`, `bms_correct_upper`: from few groups a share says little), then the mean protected exceedance probability (`mean_bms_pxp`) and BOR (`mean_bor`) of the groups\' BMS',
        files=("model_recovery_identification.csv",),
        producer=lambda run: model_identification(run.model_recovery),
        index=True, when="has_identification", step=MODEL_STEP),
    MODEL('summary_MODEL.json',
        'seed, models, datasets, recovery rates, the criterion compared, settings',
        files=("summary_MODEL.json",), producer=lambda run: run.summary("MODEL"), step=SUMMARIES),
    Entry("data/generated/{{model}}_generated_learning.csv, data/generated/{{model}}_generated_"
          "transfer.csv",
          "the simulated trials of every dataset a model generated, in the input "
          "format (participant_id = dataset id, group_code = the generating model, raw outcomes), "
          "so they can be fitted again: {source}", VALIDATION_KINDS,
          files=("data/generated/{model}_generated_learning.csv",
                 "data/generated/{model}_generated_transfer.csv"),
          producer=(_generated("learning"), _generated("transfer")), step=GENERATED),
    Entry("data/generated/{{model}}_generated_parameters.csv",
          "per dataset: participant_id, model, "
          "template (the template participant whose trial sequence was replayed; empty for the "
          "default task design), then the true (generating) parameters", VALIDATION_KINDS,
          files=("data/generated/{model}_generated_parameters.csv",),
          producer=_generated("parameters"), step=GENERATED),
    MODEL("data/generated/model_recovery/",
          "the same three files for the model recovery's "
          "datasets of the models whose parameter recovery used other datasets: {separate}",
          files=("data/generated/model_recovery/{separate}_generated_learning.csv",
                 "data/generated/model_recovery/{separate}_generated_transfer.csv",
                 "data/generated/model_recovery/{separate}_generated_parameters.csv"),
          producer=(_separate("learning"), _separate("transfer"), _separate("parameters")),
          step=GENERATED, when="has_separate", row_needs_files=True),
    PARAMETER(None,
              "\nEmpirical-Bayes estimators (`EmpiricalBayes`) fit each model's synthetic "
              "participants jointly, as one population: the fitted values are posterior means "
              "under the fitted prior and `fit` is the NLL there.", methods=EB),
    MODEL(None,
          "\nThe estimators are empirical-Bayes fits (`EmpiricalBayes`): each one fits every group "
          "of a generator's datasets jointly, as a population. They have no BIC, so "
          "model_recovery_matrices.csv holds `mean_laplace` and `normalized_laplace` (the mean -2 x "
          "Laplace log evidence, lower is better) instead of mean_bic and normalized_bic, the "
          "datasets' winners (confusion, inversion) are by Laplace evidence, and model_recovery.png's "
          "third matrix is the mean -2 x Laplace log evidence minus each generating model's best. "
          "fit_data_MODEL.pkl's `fit` "
          "is the NLL at the estimates (posterior means).", methods=EB, mixed=False),
    PARAMETER(None,
              "\nFull-Bayes estimators (`HierarchicalBayes`) fit each model's synthetic "
              "participants jointly, as one population: the fitted values are posterior means, "
              "`fit` is the NLL at them, the intervals of parameter_recovery_coverage.csv are "
              "95 % credible intervals, and parameter_recovery_sbc.csv holds the "
              "simulation-based-calibration ranks of the true values among the posterior draws.",
              methods=BAYES),
    MODEL(None,
          "\nThe estimators are full-Bayes fits (`HierarchicalBayes`): each one fits every group "
          "of a generator's datasets jointly, as a population. They have no BIC, so "
          "model_recovery_matrices.csv holds `mean_loo` and `normalized_loo` (the mean -2 x "
          "PSIS-LOO elpd, lower is better) instead of mean_bic and normalized_bic, the datasets' "
          "winners (confusion, inversion) are by PSIS-LOO elpd, and model_recovery.png's third "
          "matrix is the mean -2 x PSIS-LOO elpd minus each generating model's best. "
          "fit_data_MODEL.pkl's `fit` is the NLL at the posterior means.", methods=BAYES,
          mixed=False),
    MODEL(None,
          "\nThe estimators mix maximum-likelihood and "
          "empirical-Bayes fits: model_recovery_matrices.csv holds "
          "mean_criterion and normalized_criterion (BIC of the ML "
          "fits, -2 x Laplace log evidence of the EB fits, -2 x PSIS-LOO elpd of full-Bayes "
          "fits).", mixed=True),
    Entry(None, VOCABULARY_TEXT, VALIDATION_KINDS),
)


# ------------------------------------------------------------ summary_FIT.json
def _unconfirmed(estimator):
    hits = getattr(estimator, "optimum_hits_", None)
    return None if hits is None else int((hits < 2).sum())


#: Each model's entry of summary_FIT.json: (key, methods (None: all), value of
#: the fitted estimator), in the order written.
MODEL_SUMMARY = (
    ("k", None, _n_parameters),
    ("mean_aic", ML, lambda e: float(e.aic_.mean())),
    ("mean_bic", ML, lambda e: float(e.bic_.mean())),
    ("mean_nll", None, lambda e: float(e.nll_.mean())),
    ("n_converged", ML, lambda e: int(e.converged_.sum())),
    ("n_participants", None, lambda e: int(len(e.params_))),
    ("n_starts", ML, lambda e: int(getattr(e, "n_starts_", 0))),
    ("n_unconfirmed_optima", ML, _unconfirmed),
    ("interval_status", None, interval_status_counts),
    ("mean_laplace", EB, lambda e: float(criterion_values(e, LAPLACE).mean())),
    ("mean_log_evidence", EB, lambda e: float(e.log_evidence_.mean())),
    ("ibic", EB, lambda e: float(e.ibic_)),
    ("em_iterations", EB, lambda e: int(e.n_iter_)),
    ("em_converged", EB, lambda e: bool(e.converged_)),
    ("mean_loo", BAYES, lambda e: float(criterion_values(e, LOO).mean())),
    ("mean_elpd_loo", BAYES, lambda e: float(e.elpd_loo_.mean())),
    ("n_pareto_k_above", BAYES, lambda e: int((e.pareto_k_ > PARETO_K_LIMIT).sum())),
    ("max_r_hat", BAYES, lambda e: float(np.nanmax(e.rhat_.to_numpy()))),
    ("share_r_hat_above", BAYES,
     lambda e: float(np.mean(e.rhat_.to_numpy() > RHAT_LIMIT))),
    ("converged", BAYES, lambda e: bool(e.converged_)),
    ("sampler", BAYES, lambda e: {k: int(getattr(e, k)) for k in
                                  ("n_chains", "n_warmup", "n_samples", "thin")}),
    ("prior", EB + BAYES, lambda e: e.prior),
    ("covariance", EB, lambda e: e.covariance),
)
#: summary_FIT.json's best models besides the one of each comparison criterion:
#: (key, methods, value of the run).
BEST_MODEL = (
    ("iBIC", EB, lambda run: run.ibic.loc[run.ibic["best"], "model"].iloc[0]),
)
