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

The tables come in five families, one module each:

:mod:`~avoidrl._tables.comparison`
    criteria, group criteria and differences, evidence, BMS, iBIC, EM history,
    whether the group-level criteria agree;
:mod:`~avoidrl._tables.parameters`
    descriptives, fit tables, starts, bounds, outliers, parameters of
    interest, intervals;
:mod:`~avoidrl._tables.behaviour`
    posterior predictive, learning dynamics, transfer prediction;
:mod:`~avoidrl._tables.recovery`
    recovery tables and matrices, generated data;
:mod:`~avoidrl._tables.posterior`
    full-Bayes posterior summaries, populations, group differences, diagnostics;

and :mod:`~avoidrl._tables._common` holds the helpers they share. This
package re-exports every name its importers use.
"""

from .._utils.fitted import (  # noqa: F401  (re-exported: importers read them from here)
    BOUND_TOLERANCE, CRITERIA, _check_tolerance, _model_dict, bound_counts, bound_sides,
)
from ._common import _group_filenames, _n_parameters, _t_ci, _t_cis  # noqa: F401
from .behaviour import (  # noqa: F401
    BINS, CHANCE_LOG_LOSS, CONTEXT_ORDER, CONTEXTS, DEFAULT_N_SIMULATIONS, EMPIRICAL,
    STIMULUS_TYPES, TRANSFER_PREDICTION_METHODS, _behaviour, learning_dynamics,
    posterior_predictive, transfer_prediction,
)
from .comparison import (  # noqa: F401
    COMPARISONS, EVIDENCE_LABELS, LAPLACE, LOO, METHODS, _check_comparison, bms_results,
    criterion_differences, criterion_distributions, criterion_label, criterion_values,
    SEPARATION_SE, em_history, fit_method, group_best_fit_percentages, group_criteria,
    ibic_table, information_criteria, model_comparison_criteria, model_evidence,
    population_parameters,
)
from .parameters import (  # noqa: F401
    INTERVAL_STATUSES, PARAMETERS_OF_INTEREST, START_TOLERANCE, _interest_at_bound,
    _interest_items, fit_by_starts, fit_tables, interval_status_counts, parameter_descriptives,
    parameter_intervals, parameter_of_interest_correlations, parameter_of_interest_values,
    parameter_outliers, parameters_at_bounds,
)
from .posterior import (  # noqa: F401
    population_posterior, posterior_diagnostics, posterior_group_differences,
    posterior_summary,
)
from .recovery import (  # noqa: F401
    _recoveries, _recovery_bounds, _recovery_models, generated_data, model_recovery_fit_tables,
    model_identification, model_recovery_matrices, parameter_recovery_correlation_matrix,
    parameter_recovery_correlations, parameter_recovery_coverage,
    parameter_recovery_coverage_by_position, parameter_recovery_sbc, parameter_recovery_tables,
    recovery_at_bounds, recovery_criterion,
)
