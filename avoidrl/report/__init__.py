"""Report tables of fitted models, and the reference's output folders.

The table functions take fitted estimators (a dict ``{name: estimator}``, a
list of estimators, or one estimator) and return DataFrames laid out like the
files the reference pipeline writes into ``RL/modelling``, so the lab's
analysis code can read them. Participants are always matched by id, groups
come from the data (``group_code``, in order of first appearance) and every
table works with one model and with one group. Models fitted by maximum
likelihood and by :class:`avoidrl.hierarchical.EmpiricalBayes` both work
(:func:`fit_method`); an empirical-Bayes fit is compared by its Laplace log
evidence (criterion ``'laplace'``), never by AIC/BIC.

:func:`write_fit_report` and :func:`write_validation_report` write a FIT and
a VALIDATION into a study folder, side by side, crash-safely: the folder
holds its previous or its new complete state at every instant, and no file
avoidrl did not write is ever replaced (see :mod:`avoidrl.report._folder`).

This module only gathers the public names. Imports flow one way, with no
circle: :mod:`avoidrl.plotting` imports the tables of :mod:`avoidrl._tables`;
in this package, :mod:`._catalogue` (every output file: its README row, run
kinds, inference methods, producer and step) imports both and
:mod:`._files` (how a CSV, pickle, JSON or figure is written, with
:mod:`._figures`); :mod:`._readme` and :mod:`._summary` build the README
sections and the JSON summaries from the catalogue; the writers in
:mod:`._write` compute a run's tables and walk the catalogue, then
:mod:`._folder` publishes the staging folder (with :mod:`._manifest`,
:mod:`._previous` and :mod:`._atomic`; these four standard library only); this module imports
:mod:`avoidrl._tables` and :mod:`avoidrl.report._write`.
"""

from ._catalogue import COLUMN_VOCABULARY
from ._write import fit_files, validation_files, write_fit_report, write_validation_report
from .._tables import (
    BINS, BOUND_TOLERANCE, COMPARISONS, CONTEXT_ORDER, CONTEXTS, CRITERIA, EMPIRICAL,
    EVIDENCE_LABELS, INTERVAL_STATUSES, METHODS, PARAMETERS_OF_INTEREST, SEPARATION_SE,
    START_TOLERANCE, STIMULUS_TYPES, bms_results, bound_counts, bound_sides, criterion_differences,
    criterion_distributions, criterion_label,
    criterion_values, em_history, fit_by_starts, fit_method, fit_tables, generated_data,
    group_best_fit_percentages, group_criteria, ibic_table, information_criteria,
    interval_status_counts, learning_dynamics, model_comparison_criteria, model_evidence,
    model_identification, model_recovery_fit_tables, model_recovery_matrices, parameter_descriptives, parameter_intervals,
    parameter_of_interest_correlations, parameter_of_interest_values, parameter_outliers,
    parameter_recovery_correlation_matrix, parameter_recovery_correlations,
    parameter_recovery_coverage, parameter_recovery_coverage_by_position,
    parameter_recovery_sbc, parameter_recovery_tables, parameters_at_bounds,
    population_parameters, population_posterior, posterior_diagnostics,
    posterior_group_differences, posterior_predictive, posterior_summary, recovery_at_bounds,
    recovery_criterion, transfer_prediction,
)
from ..stats import BOUND_SHARE_NOTE

__all__ = [
    "BINS", "BOUND_SHARE_NOTE", "BOUND_TOLERANCE", "COLUMN_VOCABULARY", "COMPARISONS",
    "CONTEXT_ORDER", "CONTEXTS",
    "CRITERIA",
    "EMPIRICAL", "EVIDENCE_LABELS", "INTERVAL_STATUSES", "METHODS", "PARAMETERS_OF_INTEREST",
    "SEPARATION_SE", "START_TOLERANCE", "STIMULUS_TYPES", "bms_results", "bound_counts",
    "bound_sides",
    "criterion_differences",
    "criterion_distributions", "criterion_label", "criterion_values", "em_history",
    "fit_by_starts", "fit_files", "fit_method", "fit_tables", "generated_data",
    "group_best_fit_percentages", "group_criteria", "ibic_table", "information_criteria",
    "interval_status_counts", "learning_dynamics", "model_comparison_criteria",
    "model_evidence", "model_identification", "model_recovery_fit_tables",
    "model_recovery_matrices", "parameter_descriptives", "parameter_intervals",
    "parameter_of_interest_correlations", "parameter_of_interest_values", "parameter_outliers",
    "parameter_recovery_correlation_matrix", "parameter_recovery_correlations",
    "parameter_recovery_coverage", "parameter_recovery_coverage_by_position",
    "parameter_recovery_sbc", "parameter_recovery_tables",
    "parameters_at_bounds",
    "population_parameters", "population_posterior", "posterior_diagnostics",
    "posterior_group_differences", "posterior_predictive", "posterior_summary",
    "recovery_at_bounds", "recovery_criterion",
    "transfer_prediction", "validation_files", "write_fit_report",
    "write_validation_report",
]
