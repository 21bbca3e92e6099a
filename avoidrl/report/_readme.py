"""The folder README's sections of a FIT and of a VALIDATION, from the catalogue.

Each kind of run describes its files in its section of the study folder's
``README.md`` (:mod:`avoidrl.report._folder` assembles the sections): a
paragraph on the run, then one table row per entry of the catalogue
(:mod:`avoidrl.report._catalogue`) the run shows, filled in with the run's
values. The inference method's own sentences (how it fits, what its
intervals and its evidence are) come from the fitted estimators' class
attributes (:mod:`avoidrl._utils.fitted`).
"""

from __future__ import annotations

import numpy as np

from .._tables import PARAMETERS_OF_INTEREST, SEPARATION_SE, START_TOLERANCE, _interest_items
from ..stats import BOUND_SHARE_NOTE
from . import _catalogue, _figures
from ._catalogue import BMS_FIGURE_TEXT, BMS_TEXT, NO_BMS_TEXT

FIT_README = """\
Written by `avoidrl.report.write_fit_report`. The layout follows the reference pipeline's
`RL/modelling` folder; participants are matched by id everywhere and
groups are the data's `group_code` values, in order of first appearance.

{method}
{recommendation}
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
The `scale` column of the pain_fits_* tables says which scale a row's statistics are on: `log`
(the log-transformed parameters: meandiff, cohens_d and F are of log values, meandiff a
difference of logs, i.e. a log ratio) or `natural`. `test` names the test that ran: one-way
ANOVA (F test), Student t-test or Welch t-test (Welch's when Levene's p < .05), Tukey HSD.
`p_holm` is Holm's adjustment of the row's p (`p_value`; Tukey's `p-adj`, which is already
adjusted over the pairs of groups of one parameter) over all rows of the same model in the
same file: control of the family-wise error over a model's tests of one kind.

Bounds: a fitted value counts as on a bound when it is within {bound_tol:g} x (high - low) of a
bound the model was fitted with. Such values are not estimates of an interior optimum (the
likelihood wanted to go further), so the files count them (parameter_bounds.csv, the `n_at_*`
columns of param_fit_descriptives.csv and of the pain_fits_* tables, `parameters_at_bounds` in
summary_FIT.json), the statistics' `note` says when more than {bound_share:.0%} of the values a
test compares sit on a bound, and the figures draw the bounds and mark the fits on them.
"""
VALIDATION_README = """\
Written by `avoidrl.report.write_validation_report` ({what}). The layout follows the reference
pipeline's `RL/modelling` folder.

| file | content |
|---|---|
{rows}
"""

#: Which criterion to trust and why (keys of model_comparison_criteria.csv), from the avoidrl
#: README's section "Which criterion for group-level comparison" and its measured table.
_TABLE = ('the avoidrl README, section "Which criterion for group-level comparison", and its '
          'measured identification table')
RECOMMENDATIONS = {
    "ibic": "the recommended criterion is the integrated BIC (`ibic`, ibic.csv), because it "
            "handles nested models (Hybrid2012 contains ActorCritic and QLearning, Advantage "
            "contains QLearning): it picked the generator in 10/10 groups of 30 for each of "
            "five base models, and BMS on the Laplace evidence is a check, not the decision "
            f"({_TABLE})",
    "mean_bic": "the recommended criterion is the mean BIC (`mean_bic`), for models that do "
                "not contain one another only: nested models (Hybrid2012 contains ActorCritic "
                "and QLearning, Advantage contains QLearning) need empirical Bayes "
                "(`--method eb`, `EmpiricalBayes`) and its iBIC, since BMS on -BIC/2 picked "
                f"ActorCritic on 9 of 10 Hybrid2012 groups ({_TABLE})",
}

#: What each kind of VALIDATION is, in its section's first line.
_WHAT = {"PARAMETER": "parameter recovery", "MODEL": "model recovery"}


def _rows(entries):
    """The table rows (and paragraphs) of ``entries``: templates, one per line."""
    return "\n".join(entry.name if entry.readme is None else
                     entry.readme if entry.name is None else
                     f"| {entry.name} | {entry.readme} |" for entry in entries)


def fit_section(run):
    """The FIT section of README.md (``run``: the FIT being written)."""
    method = run.estimator_class
    two = len(run.models) >= 2
    values = {
        "reference": run.reference, "interest": interest_text(run),
        "start_tol": START_TOLERANCE, "bound_tol": run.bound_tol,
        "simulations": simulations_row(run.simulation_files),
        "bound_share": BOUND_SHARE_NOTE,
        "interval_text": getattr(run.first, "fitted_interval_description",
                                 method.interval_description),
        "evidence_text": method.evidence_description,
        "bms_text": BMS_TEXT if two else NO_BMS_TEXT,
        "bms_figure_text": BMS_FIGURE_TEXT if two else NO_BMS_TEXT,
        "reference_files": _catalogue.reference_files(),
        "criteria_text": ", ".join(f"`{c}`" for c in run.agreement["criterion"]) if two else "",
        "separation_se": SEPARATION_SE,
    }
    entries = _catalogue.shown(_catalogue.select(_catalogue.FIT_CATALOGUE, _catalogue.FIT_KIND,
                                                 {run.method}), run)
    return FIT_README.format(method=method.fit_method_description,
                             recommendation=recommendation_text(run.agreement),
                             rows=_rows(entries).format(**values),
                             bound_tol=values["bound_tol"], bound_share=BOUND_SHARE_NOTE) \
        + "\n" + _figures.describe_formats(run.formats, reference_svg=True,
                                                style=run.style)


def recommendation_text(table):
    """The README's line on the recommended comparison criterion, and whether the criteria
    agree in this run ("" with one model; ``table``: model_comparison_criteria.csv's)."""
    if table is None:
        return ""
    best = table.loc[table["recommended"]].iloc[0]
    why = RECOMMENDATIONS.get(best["criterion"],
                              f"the recommended criterion is `{best['criterion']}`")
    by_winner = table.groupby("winner", sort=False)["criterion"].agg(", ".join)
    found = (f"all criteria pick {best['winner']}" if table.attrs["agree"] else
             "the criteria disagree (" + "; ".join(f"{criteria}: {winner}" for winner, criteria
                                                   in by_winner.items()) + ")")
    lead = best["lead_in_se"]
    separated = "" if np.isnan(lead) else (
        f"; {best['winner']} leads by {lead:.1f} standard errors"
        + (f", under {SEPARATION_SE:g}: the data do not separate it from the runner-up"
           if lead < SEPARATION_SE else ""))
    return (f"\nModel comparison: {why}. In this run {found}{separated} "
            "(model_comparison_criteria.csv, `model_comparison` in summary_FIT.json).\n")


def validation_section(kind, run, entries):
    """The section of ``kind`` ('PARAMETER' or 'MODEL') of a VALIDATION's README.md.

    ``entries``: the catalogue entries of ``kind`` the run shows; the shared
    generated data are described in the section of the run's last kind.
    """
    entries = [entry for entry in entries if len(entry.runs) == 1 or kind == run.kinds[-1]]
    rows = _rows(entries).format(source=generated_source(run),
                                 separate=", ".join(run.separate),
                                 reference_files=_catalogue.reference_files())
    return VALIDATION_README.format(what=_WHAT[kind], rows=rows) \
        + "\n" + _figures.describe_formats(run.formats, reference_svg=False,
                                                style=run.style)


def generated_source(run):
    """Which recovery's datasets data/generated/ holds."""
    if run.recoveries is not None and run.model_recovery is not None:
        return ("the parameter recovery's datasets, or the model recovery's for models without "
                "a parameter recovery")
    return "the parameter recovery's datasets" if run.recoveries is not None \
        else "the model recovery's datasets"


def simulations_row(simulation_files):
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


def interest_text(run):
    """The README content of parameter_of_interest_comparisons.png."""
    interest = run.interest
    if len(interest):
        return (
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
    found = [f"{m} {p}" for m, p in _interest_items(run.models, PARAMETERS_OF_INTEREST)]
    return (
        "**not written**: it compares at least two of "
        f"{', '.join(PARAMETERS_OF_INTEREST)} across the fitted models, and these "
        f"models have {'only ' + found[0] if found else 'none of them'}")
