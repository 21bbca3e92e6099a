"""avoidrl's column vocabulary, and the files that keep the reference's layout.

Beside the catalogue (:mod:`._catalogue`): every avoidrl-own CSV of a study folder
names its columns from :data:`COLUMN_VOCABULARY`; :func:`own_columns` renames a
table function's older names when the file is written.
"""

#: The files that keep the reference's layout (its columns, in its order, then
#: avoidrl's additions at the end), and the generated data in the input format.
REFERENCE_LAYOUT = (
    "group_{label}.csv", "group_{label}_percentages.csv", "param_fit_descriptives.csv",
    "pain_fits_linear_results.csv", "pain_fits_ttest_results.csv",
    "pain_fits_posthoc_results.csv", "modelsimulation_accuracy_data.csv",
    "modelsimulation_choice_data.csv", "param_recovery_corrs.csv",
    "data/generated/{model}_generated_learning.csv",
    "data/generated/{model}_generated_transfer.csv",
    "data/generated/model_recovery/{model}_generated_learning.csv",
    "data/generated/model_recovery/{model}_generated_transfer.csv",
)
#: avoidrl's column vocabulary: every column of its own CSV files is one of
#: these, or a model, group or parameter name heading a wide table's column
#: (``ibic_{model}``: a model's iBIC). Lower-case snake_case throughout.
COLUMN_VOCABULARY = {
    "participant_id": "the participant's id (as in the input data)",
    "dataset": "a synthetic dataset's id (its participant_id in data/generated/)",
    "group": "the participant's group_code", "model": "a model's full name",
    "parameter": "a parameter's name", "estimate": "a fitted value",
    "lower": "a lower limit (of an interval or of the bounds)", "upper": "an upper limit",
    "n": "how many values (participants, unless the column says otherwise)",
    "n_participants": "participants", "n_datasets": "synthetic datasets",
    "n_groups": "groups of datasets", "n_trials": "trials (with a choice)",
    "n_missed": "missed trials (no choice made)", "n_iter": "EM iterations",
    "n_at_lower": "fits on the lower bound", "n_at_upper": "fits on the upper bound",
    "n_at_bound": "fits on either bound", "share_at_bound": "n_at_bound / n",
    "nll": "negative log-likelihood", "aic": "AIC", "bic": "BIC", "k": "free parameters",
    "ibic": "integrated BIC", "delta_ibic": "ibic minus the lowest", "best": "the lowest",
    "ibic_se": "Monte-Carlo standard error of ibic",
    "best_model": "the best model", "mean": "mean", "sd": "standard deviation (ddof=1)",
    "ci": "95 % t-CI half-width", "status": "interval status", "evidence": "which evidence",
    "alpha": "posterior Dirichlet count", "expected_frequency": "BMS model frequency",
    "frequency_lower": "its 95 % lower limit", "frequency_upper": "its 95 % upper limit",
    "exceedance_probability": "BMS exceedance probability",
    "protected_exceedance_probability": "BMS protected exceedance probability",
    "bor": "Bayesian omnibus risk", "prior": "'pooled' or 'group'",
    "median": "population median", "mean_z": "prior mean (logit space)",
    "sd_z": "prior sd (logit space)", "iteration": "EM iteration",
    "change": "EM change", "sum_nll": "summed nll", "sum_log_evidence": "summed log evidence",
    "converged": "whether it converged", "context": "learning context", "trial": "trial",
    "pe": "prediction error", "value0": "value of option 0", "value1": "value of option 1",
    "pe_formula": "the prediction error's formula", "value_formula": "the values' formula",
    "true": "generating value", "fitted": "fitted value", "matrix": "which matrix",
    "fitting_model": "the model fitted", "generating_model": "the model that generated",
    "value": "the cell's value", "bms_winner": "BMS winner", "bms_pxp": "its pxp",
    "ibic_winner": "iBIC winner", "template": "template participant",
    "bms_n_correct": "groups BMS identifies", "bms_correct": "their share",
    "bms_correct_lower": "its 95 % lower limit", "bms_correct_upper": "its 95 % upper limit",
    "ibic_n_correct": "groups iBIC identifies", "ibic_correct": "their share",
    "ibic_correct_lower": "its 95 % lower limit", "ibic_correct_upper": "its 95 % upper limit",
    "mean_bms_pxp": "mean BMS pxp", "mean_bor": "mean BOR",
    "nominal": "an interval's nominal level",
    "level": "an interval's central level (confidence or credible)",
    "n_inside": "intervals containing the true value",
    "coverage": "n_inside / n", "n_without_interval": "estimates without an interval",
    "position": "where the true values lie: lower tail, middle, upper tail",
    "min_true": "lowest true value in the position", "max_true": "highest true value in the position",
    "true_parameter": "a generating parameter", "fitted_parameter": "a fitted parameter",
    "r": "Pearson r",
    "log_loss": "mean -ln P(choice) per trial", "chance_log_loss": "a coin flip's log loss, ln 2",
    "accuracy": "share of choices of the option predicted more likely",
    "in_sample_log_loss": "log_loss under the full fit, which saw the trials",
    "criterion": "a comparison criterion's key", "winner": "the model it picks",
    "statistic": "the winner's value of it", "lead": "the winner's lead over the runner-up",
    "lead_in_se": "lead / its standard error", "recommended": "the README's recommended one",
    "r_hat": "rank-normalised split R-hat", "ess_bulk": "bulk effective sample size",
    "ess_tail": "tail effective sample size", "mean_z_lower": "its 95 % lower limit",
    "mean_z_upper": "its 95 % upper limit", "sd_z_lower": "its 95 % lower limit",
    "sd_z_upper": "its 95 % upper limit", "quantity": "which posterior quantity",
    "group_a": "the first group of a difference", "group_b": "the second group",
    "n_a": "participants of group_a", "n_b": "participants of group_b",
    "p_direction": "posterior probability of the more probable sign",
    "max_r_hat": "the largest R-hat", "n_r_hat_above": "R-hats above 1.05",
    "share_r_hat_above": "n_r_hat_above / n", "min_ess_bulk": "the smallest bulk ESS",
    "median_ess_bulk": "the median bulk ESS", "min_ess_tail": "the smallest tail ESS",
    "n_low_ess": "ESS below 100 per chain", "n_pareto_k_above": "Pareto k above 0.7",
    "rank": "a true value's rank among posterior draws", "n_draws": "posterior draws ranked",
}
#: Columns of avoidrl's own tables renamed into the vocabulary when written
#: (the table functions keep their names for code that reads them).
_VOCABULARY_NAMES = {"participant": "participant_id", "n_lower": "n_at_lower",
                     "n_upper": "n_at_upper"}
VOCABULARY_TEXT = (
    "\nColumns: the files {reference_files} keep the reference's layout (its columns, in its "
    "order, with its names such as `p-adj`, `F`, `Model`; avoidrl's additions, snake_case, "
    "after them). Every other CSV uses one vocabulary, lower-case snake_case: `participant_id` "
    "(never `participant`), `group`, `model`, `parameter`, `n_*` for counts (`n_at_lower`, "
    "`n_at_upper`, `n_participants`), `p_value` / `p_holm`, `*_lower` / `*_upper` for limits; "
    "the other names are listed in `avoidrl.report.COLUMN_VOCABULARY`. Wide tables head a "
    "column with a model, group or parameter name.")


def reference_files():
    """The README's list of the files in the reference's layout."""
    return ", ".join(f"`{name}`" for name in REFERENCE_LAYOUT)


def own_columns(table):
    """``table`` with its columns in the vocabulary (:data:`COLUMN_VOCABULARY`)."""
    return table.rename(columns=_VOCABULARY_NAMES)
