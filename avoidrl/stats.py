"""Group statistics on fitted parameters.

The reference pipeline compares the participant groups (``group_code``) on
every fitted parameter with a one-way linear model, planned t-tests against a
reference group, and Tukey HSD post-hoc tests, after a log transform of most
parameters. This module does the same with scipy only, for any groups and any
parameters. Statistics that cannot be computed (one group only, too few
participants in a group) are NaN with the reason in a ``note`` column; they
never raise.

Every function takes a table of parameter values (one row per participant, one
column per parameter) and the participants' groups, and returns a DataFrame.
:func:`fit_statistics` runs all three analyses on fitted estimators.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager

import numpy as np
import pandas as pd
from scipy import stats as _stats

from ._tukey import tukey_p_values
from ._utils.fitted import (  # noqa: F401  (CRITERIA, _check_criterion: importers read them here)
    BOUND_TOLERANCE, CRITERIA, _check_criterion, _model_dict, bound_counts,
)

#: Parameters the reference leaves untransformed. The reference's list says
#: ``novel_factor`` (a typo, so it log-transformed ``novel_value``); this is
#: the intended list.
UNTRANSFORMED_PARAMETERS = ("novel_value", "mixing_factor", "valence_factor", "weighting_factor")
#: Significance level of the assumption checks and of Tukey's ``reject``.
ALPHA = 0.05

# The reference's columns, then avoidrl's: ``note`` and the test used (``test``).
LINEAR_COLUMNS = ["parameter", "F", "df_res", "df_model", "p_value", "r_squared", "normality",
                  "homogeneity", "note", "test"]
TTEST_COLUMNS = ["parameter", "condition1", "condition2", "comparison", "t_value", "p_value",
                 "cohens_d", "df", "homogeneity_assumption", "normality_assumption", "note",
                 "test"]
POSTHOC_COLUMNS = ["parameter", "factor", "meandiff", "p-adj", "reject", "cohens_d", "note",
                   "test"]
#: The ``test`` column's names.
ANOVA_TEST, STUDENT_TEST, WELCH_TEST, TUKEY_TEST = (
    "one-way ANOVA (F test)", "Student t-test", "Welch t-test", "Tukey HSD")


# --------------------------------------------------------------------- helpers
@contextmanager
def _quiet():
    """Silence scipy's warnings on degenerate samples; the results are checked instead."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)
        yield


def _finite_or_nan(value):
    value = float(value)
    return value if np.isfinite(value) else np.nan


def _flag(p_value, *, strict):
    """'met' / 'violated' from a p-value (NaN when the test could not run).

    The reference uses ``p > .05`` for normality and for the omnibus
    homogeneity check, and ``p >= .05`` for the t-tests' homogeneity check.
    """
    if not np.isfinite(p_value):
        return np.nan
    met = p_value > ALPHA if strict else p_value >= ALPHA
    return "met" if met else "violated"


def _shapiro_p(values):
    """Shapiro-Wilk p-value, NaN for fewer than 3 values."""
    if len(values) < 3:
        return np.nan
    with _quiet():
        return _finite_or_nan(_stats.shapiro(values).pvalue)


def _levene_p(samples):
    """Levene p-value across samples (scipy's default, median-centred), or NaN."""
    if len(samples) < 2 or sum(len(s) for s in samples) <= len(samples):
        return np.nan
    with _quiet():
        return _finite_or_nan(_stats.levene(*samples).pvalue)


def _pooled_sd(a, b):
    n1, n2 = len(a), len(b)
    if n1 + n2 <= 2:
        return np.nan
    ss = (n1 - 1) * np.var(a, ddof=1) if n1 > 1 else 0.0
    ss += (n2 - 1) * np.var(b, ddof=1) if n2 > 1 else 0.0
    return float(np.sqrt(ss / (n1 + n2 - 2)))


def cohens_d(a, b):
    """Cohen's d of two independent samples: (mean(a) - mean(b)) / pooled SD.

    The pooled SD is ``sqrt(((n1-1) s1² + (n2-1) s2²) / (n1 + n2 - 2))`` with
    sample variances (ddof=1), as in the reference. NaN when it is zero or
    undefined.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    sd = _pooled_sd(a, b)
    if not np.isfinite(sd) or sd == 0:
        return np.nan
    return float((a.mean() - b.mean()) / sd)


def holm(p_values):
    """Holm's step-down adjusted p-values (family-wise error); NaN stays NaN, out of the family.

    Examples
    --------
    >>> holm([0.01, 0.04, 0.03, float("nan")]).round(2).tolist()
    [0.03, 0.06, 0.06, nan]
    """
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    order = finite[np.argsort(p[finite], kind="stable")]
    m = len(order)
    steps = np.maximum.accumulate((m - np.arange(m)) * p[order])  # monotone step-down
    adjusted[order] = np.minimum(steps, 1.0)
    return adjusted


def _check_alignment(params_df, groups):
    """(params DataFrame, groups Series aligned to its rows, group order)."""
    if isinstance(params_df, pd.Series):
        params_df = params_df.to_frame()
    if not isinstance(params_df, pd.DataFrame):
        raise TypeError("params_df must be a DataFrame: one row per participant, one column "
                        f"per parameter; got {type(params_df).__name__}")
    if isinstance(groups, pd.Series) and groups.index.equals(params_df.index):
        aligned = groups
    elif isinstance(groups, pd.Series) and set(params_df.index) <= set(groups.index) \
            and groups.index.is_unique:
        aligned = groups.reindex(params_df.index)
    else:
        values = np.asarray(groups, dtype=object)
        if values.shape != (len(params_df),):
            raise ValueError(
                f"groups must have one entry per row of params_df ({len(params_df)}), or be a "
                "Series indexed by the same participants")
        aligned = pd.Series(values, index=params_df.index)
    if aligned.isna().any():
        missing = list(aligned.index[aligned.isna().to_numpy()][:5])
        raise ValueError(f"no group for participant(s) {missing}")
    order = list(pd.unique(aligned.to_numpy(dtype=object)))
    return params_df, aligned.astype(object), order


def _samples(values, groups, order):
    """{group: finite values of that group} in group order."""
    values = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    labels = groups.to_numpy(dtype=object)
    finite = np.isfinite(values)
    return {g: values[(labels == g) & finite] for g in order}


def _resolve_reference(reference_group, order):
    if reference_group is None:
        return order[0] if order else None
    if reference_group not in order:
        raise ValueError(f"reference_group {reference_group!r} is not one of the groups "
                         f"{order}")
    return reference_group


# ------------------------------------------------------------------ transform
def is_log_transformed(parameter):
    """Whether :func:`log_transform` transforms ``parameter`` (see there)."""
    return parameter not in UNTRANSFORMED_PARAMETERS


def log_transform(values, parameter):
    """The reference's variance-stabilising transform of one parameter.

    ``log(x)``, after shifting to ``x - min(x) + 1`` when ``min(x) <= 0``.
    Parameters in :data:`UNTRANSFORMED_PARAMETERS` (``novel_value``,
    ``mixing_factor``, ``valence_factor``, ``weighting_factor``) are returned
    unchanged.

    Parameters
    ----------
    values : array-like or Series
        Values of one parameter across participants.
    parameter : str
        The parameter's name.

    Returns
    -------
    Series
        The transformed values (same index as ``values`` if it is a Series).

    Notes
    -----
    The reference's exclusion list names ``'novel_factor'``, a parameter that
    does not exist, so its statistics log-transform ``novel_value`` while its
    plots do not (reference-spec Q16). Here the intended name is used, so the
    statistics and the plots agree and ``novel_value`` (which lives on
    (-1, 1)) is never transformed.

    Examples
    --------
    >>> log_transform([0.1, 1.0], "factual_lr").round(3).tolist()
    [-2.303, 0.0]
    >>> log_transform([-1.0, 0.0], "temperature").round(3).tolist()
    [0.0, 0.693]
    >>> log_transform([-0.5, 0.5], "novel_value").tolist()
    [-0.5, 0.5]
    """
    series = values.astype(float) if isinstance(values, pd.Series) \
        else pd.Series(np.asarray(values, dtype=float))
    if not is_log_transformed(parameter):
        return series.copy()
    if series.notna().any() and series.min() <= 0:
        series = series - series.min() + 1
    return np.log(series)


# ----------------------------------------------------------- group statistics
def group_linear_model(params_df, groups, reference_group=None):
    """One-way linear model of each parameter on group (the omnibus test).

    Equivalent to the reference's OLS ``parameter ~ group`` (statsmodels):
    the F test of the group factor, computed with the one-way ANOVA formulas.

    Parameters
    ----------
    params_df : DataFrame
        One row per participant, one column per parameter. NaN values are
        left out (per parameter).
    groups : Series or array-like
        Group of each participant: a Series indexed like ``params_df`` (or
        by participant id), or one label per row.
    reference_group : optional
        Accepted so that the three analyses share a signature; the omnibus
        test does not depend on it. Must be one of the groups if given.

    Returns
    -------
    DataFrame
        One row per parameter: parameter, F, df_res (N - g), df_model (g - 1),
        p_value, r_squared (SS_between / SS_total), normality ('met' if the
        Shapiro-Wilk p > .05 in every group), homogeneity ('met' if Levene's
        p > .05), note (why a value is NaN, else empty), test ('one-way
        ANOVA (F test)').

    Notes
    -----
    With g groups of sizes n_j, means m_j and grand mean m:
    ``SS_between = sum_j n_j (m_j - m)^2``, ``SS_within = sum_ij (x_ij - m_j)^2``,
    ``F = (SS_between / (g - 1)) / (SS_within / (N - g))`` on (g - 1, N - g)
    degrees of freedom. Needs at least two groups and N > g; Shapiro-Wilk needs
    three participants per group.

    Examples
    --------
    >>> import pandas as pd
    >>> params = pd.DataFrame({"temperature": [1.0, 2, 3, 4, 5, 6]})
    >>> table = group_linear_model(params, ["a", "a", "a", "b", "b", "b"])
    >>> float(table.loc[0, "F"]), int(table.loc[0, "df_res"])
    (13.5, 4)
    """
    params_df, groups, order = _check_alignment(params_df, groups)
    _resolve_reference(reference_group, order)
    rows = []
    for parameter in params_df.columns:
        samples = {g: s for g, s in _samples(params_df[parameter], groups, order).items()
                   if len(s)}
        row = {"parameter": parameter, "F": np.nan, "df_res": np.nan, "df_model": np.nan,
               "p_value": np.nan, "r_squared": np.nan, "normality": np.nan,
               "homogeneity": np.nan, "test": ANOVA_TEST}
        notes = []
        n_groups = len(samples)
        n_total = sum(len(s) for s in samples.values())
        if n_groups < 2:
            notes.append("needs at least 2 groups")
        elif n_total <= n_groups:
            notes.append("needs more participants than groups")
        else:
            everything = np.concatenate(list(samples.values()))
            grand = everything.mean()
            ss_between = sum(len(s) * (s.mean() - grand) ** 2 for s in samples.values())
            ss_within = sum(((s - s.mean()) ** 2).sum() for s in samples.values())
            df_model, df_res = n_groups - 1, n_total - n_groups
            ss_total = ss_between + ss_within
            row["df_model"], row["df_res"] = float(df_model), float(df_res)
            if ss_within > 0:
                f_value = (ss_between / df_model) / (ss_within / df_res)
                row["F"] = float(f_value)
                row["p_value"] = float(_stats.f.sf(f_value, df_model, df_res))
            elif ss_between > 0:
                row["F"], row["p_value"] = np.inf, 0.0
            else:
                notes.append("no variance")
            row["r_squared"] = float(ss_between / ss_total) if ss_total > 0 else np.nan
            row["homogeneity"] = _flag(_levene_p(list(samples.values())), strict=True)
        if n_groups >= 1:
            p_values = [_shapiro_p(s) for s in samples.values()]
            if all(np.isfinite(p) for p in p_values):
                row["normality"] = "met" if all(p > ALPHA for p in p_values) else "violated"
            else:
                notes.append("normality check needs at least 3 participants per group")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return pd.DataFrame(rows, columns=LINEAR_COLUMNS)


def planned_comparisons(params_df, groups, reference_group=None):
    """Independent t-tests of every group against a reference group.

    The reference's planned t-tests ('no pain' vs each pain group),
    generalised: the reference group is compared with each other group, in
    order of first appearance. Student's t-test is used when Levene's test
    does not reject equal variances (p >= .05), Welch's otherwise.

    Parameters
    ----------
    params_df : DataFrame
        One row per participant, one column per parameter.
    groups : Series or array-like
        Group of each participant (see :func:`group_linear_model`).
    reference_group : optional
        The group every other group is compared with (default: the first
        group in order of appearance).

    Returns
    -------
    DataFrame
        One row per parameter and comparison: parameter, condition1 (the
        reference group), condition2, comparison ("condition1 vs
        condition2"), t_value, p_value, cohens_d ((mean1 - mean2) / pooled
        SD, the sign of t), df (n1 + n2 - 2, or Welch's), homogeneity_assumption
        (Levene p >= .05), normality_assumption (Shapiro-Wilk p > .05 in both
        groups), note, test ('Student t-test' or 'Welch t-test': which one
        ran; NaN when none could). With a single group there is one row per
        parameter with NaN statistics and a note.

    Examples
    --------
    >>> import pandas as pd
    >>> params = pd.DataFrame({"temperature": [1.0, 2, 3, 4, 5, 6]})
    >>> table = planned_comparisons(params, ["a", "a", "a", "b", "b", "b"])
    >>> table[["comparison", "t_value", "df"]].round(3).to_dict("records")
    [{'comparison': 'a vs b', 't_value': -3.674, 'df': 4.0}]
    """
    params_df, groups, order = _check_alignment(params_df, groups)
    reference = _resolve_reference(reference_group, order)
    others = [g for g in order if g != reference]
    rows = []
    for parameter in params_df.columns:
        samples = _samples(params_df[parameter], groups, order)
        if not others:
            rows.append(_empty_ttest(parameter, reference, np.nan, "needs at least 2 groups"))
            continue
        first = samples[reference]
        for other in others:
            second = samples[other]
            if len(first) < 2 or len(second) < 2:
                rows.append(_empty_ttest(parameter, reference, other,
                                         "needs at least 2 participants per group"))
                continue
            levene = _levene_p([first, second])
            notes = []
            if not np.isfinite(levene):
                notes.append("Levene's test undefined (no variance); Student's t-test used")
            equal_var = not (levene < ALPHA)
            with _quiet():
                result = _stats.ttest_ind(first, second, equal_var=equal_var)
            p_first, p_second = _shapiro_p(first), _shapiro_p(second)
            if np.isfinite(p_first) and np.isfinite(p_second):
                normality = "met" if p_first > ALPHA and p_second > ALPHA else "violated"
            else:
                normality = np.nan
                notes.append("normality check needs at least 3 participants per group")
            rows.append({
                "parameter": parameter, "condition1": reference, "condition2": other,
                "comparison": f"{reference} vs {other}",
                "t_value": _finite_or_nan(result.statistic),
                "p_value": _finite_or_nan(result.pvalue),
                "cohens_d": cohens_d(first, second), "df": _finite_or_nan(result.df),
                "homogeneity_assumption": _flag(levene, strict=False),
                "normality_assumption": normality, "note": "; ".join(notes),
                "test": STUDENT_TEST if equal_var else WELCH_TEST,
            })
    return pd.DataFrame(rows, columns=TTEST_COLUMNS)


def _empty_ttest(parameter, first, second, note):
    comparison = np.nan if pd.isna(second) else f"{first} vs {second}"
    return {"parameter": parameter, "condition1": first, "condition2": second,
            "comparison": comparison, "t_value": np.nan, "p_value": np.nan,
            "cohens_d": np.nan, "df": np.nan, "homogeneity_assumption": np.nan,
            "normality_assumption": np.nan, "note": note, "test": np.nan}


def tukey_posthoc(params_df, groups, reference_group=None, *, alpha=ALPHA):
    """Tukey HSD post-hoc comparisons of every pair of groups.

    Parameters
    ----------
    params_df : DataFrame
        One row per participant, one column per parameter.
    groups : Series or array-like
        Group of each participant (see :func:`group_linear_model`).
    reference_group : optional
        Accepted so that the three analyses share a signature; all pairs are
        tested. Must be one of the groups if given.
    alpha : float, default=0.05
        Family-wise level of ``reject``.

    Returns
    -------
    DataFrame
        One row per parameter and pair (g1, g2), groups in order of first
        appearance: parameter, factor ("g1 vs g2"), meandiff (mean(g2) -
        mean(g1), statsmodels' convention, as in the reference), p-adj
        (scipy.stats.tukey_hsd), reject (p-adj < alpha), cohens_d
        ((mean(g1) - mean(g2)) / pooled SD), note, test ('Tukey HSD').

    Notes
    -----
    ``cohens_d`` is (mean(g1) - mean(g2)) / pooled SD, the convention of
    every Cohen's d here (:func:`planned_comparisons`: condition1 minus
    condition2, the sign of t), so the same comparison has the same d in
    both tables; ``meandiff`` keeps statsmodels' (and the reference's)
    opposite direction, g2 - g1.
    Groups with fewer than 2 participants are left out of the Tukey family;
    their pairs are NaN with a note.

    Examples
    --------
    >>> import pandas as pd
    >>> params = pd.DataFrame({"temperature": [1.0, 2, 3, 4, 5, 6, 2, 3, 4]})
    >>> table = tukey_posthoc(params, list("aaabbbccc"))
    >>> table["factor"].tolist()
    ['a vs b', 'a vs c', 'b vs c']
    >>> table["meandiff"].tolist()
    [3.0, 1.0, -2.0]
    """
    params_df, groups, order = _check_alignment(params_df, groups)
    _resolve_reference(reference_group, order)
    rows = []
    for parameter in params_df.columns:
        samples = _samples(params_df[parameter], groups, order)
        if len(order) < 2:
            rows.append({"parameter": parameter, "factor": np.nan, "meandiff": np.nan,
                         "p-adj": np.nan, "reject": np.nan, "cohens_d": np.nan,
                         "note": "needs at least 2 groups", "test": TUKEY_TEST})
            continue
        valid = [g for g in order if len(samples[g]) >= 2]
        p_adj = None
        if len(valid) >= 2:
            with _quiet():
                p_adj = tukey_p_values([samples[g] for g in valid])
        position = {g: i for i, g in enumerate(valid)}
        for i, first in enumerate(order):
            for second in order[i + 1:]:
                a, b = samples[first], samples[second]
                row = {"parameter": parameter, "factor": f"{first} vs {second}",
                       "meandiff": np.nan, "p-adj": np.nan, "reject": np.nan,
                       "cohens_d": np.nan, "note": "", "test": TUKEY_TEST}
                if len(a) and len(b):
                    row["meandiff"] = float(b.mean() - a.mean())
                    row["cohens_d"] = cohens_d(a, b)
                if first in position and second in position:
                    p = _finite_or_nan(p_adj[position[first], position[second]])
                    row["p-adj"] = p
                    if np.isfinite(p):
                        row["reject"] = bool(p < alpha)
                    else:
                        row["note"] = "no variance"
                else:
                    row["note"] = "Tukey HSD needs at least 2 participants per group"
                rows.append(row)
    return pd.DataFrame(rows, columns=POSTHOC_COLUMNS)


# ------------------------------------------------------------ fitted models
def transformed_parameters(estimator):
    """The fitted parameters of an estimator with :func:`log_transform` applied.

    Parameters
    ----------
    estimator : fitted avoidrl estimator

    Returns
    -------
    DataFrame
        Indexed by participant_id, one column per parameter.
    """
    params = estimator.params_
    return pd.DataFrame({p: log_transform(params[p], p) for p in params.columns},
                        index=params.index)


#: Share of a comparison's values on a bound above which its row gets a note.
BOUND_SHARE_NOTE = 0.2
#: The at-bound count columns each table gets, and the groups they count.
_BOUND_COLUMNS = {"linear": ("n_at_bound", "share_at_bound"),
                  "ttest": ("n_at_bound_condition1", "n_at_bound_condition2"),
                  "posthoc": ("n_at_bound_g1", "n_at_bound_g2")}


def _bound_note(n_at_bound, n):
    return (f"{n_at_bound} of {n} values ({100 * n_at_bound / n:.0f}%) on a bound: the test "
            "treats a pile-up on a bound as ordinary values")


def _add_bound_columns(key, table, counts, order):
    """Add the at-bound counts of one model's parameters to a statistics table.

    ``counts`` is indexed by (parameter, group) with columns n and n_at_bound;
    ``order`` is the groups' order, which gives the pairs of the post-hoc rows.
    A row where more than :data:`BOUND_SHARE_NOTE` of the values compared
    sit on a bound gets a note.
    """
    pairs = [(a, b) for i, a in enumerate(order) for b in order[i + 1:]] or [(np.nan, np.nan)]
    seen = {}
    totals = counts.groupby(level="parameter", sort=False)[["n", "n_at_bound"]].sum()
    # (n_at_bound, n) in plain dicts: a .loc look-up per row cost more than the rest
    totals, by_group = ({key: (int(at), int(n)) for key, at, n in zip(
        frame.index, frame["n_at_bound"], frame["n"])} for frame in (totals, counts))

    def count(parameter, group):
        return (0, 0) if pd.isna(group) else by_group.get((parameter, group), (0, 0))

    first_column, second_column = _BOUND_COLUMNS[key]
    firsts, seconds, notes = [], [], []
    for row in table.to_dict("records"):
        parameter = row["parameter"]
        if key == "linear":
            at, n = totals.get(parameter, (0, 0))
            firsts.append(at)
            seconds.append(at / n if n else np.nan)
        else:
            if key == "ttest":
                pair = (row["condition1"], row["condition2"])
            else:  # tukey_posthoc's rows: every pair of groups, per parameter
                position = seen[parameter] = seen.get(parameter, -1) + 1
                pair = pairs[position]
            (a1, n1), (a2, n2) = count(parameter, pair[0]), count(parameter, pair[1])
            firsts.append(a1)
            seconds.append(a2)
            at, n = a1 + a2, n1 + n2
        note = row["note"] if isinstance(row["note"], str) else ""
        if n and at / n > BOUND_SHARE_NOTE:
            note = "; ".join(part for part in (note, _bound_note(at, n)) if part)
        notes.append(note)
    table = table.copy()
    table["note"] = notes
    table[first_column] = firsts
    table[second_column] = seconds
    return table


def fit_statistics(models, *, transform=True, reference_group=None, bounds_tol=None):
    """Group statistics of the fitted parameters of several models.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        The models; each one's ``params_`` and ``groups_`` (group_code) are used.
    transform : bool, default=True
        Apply :func:`log_transform` (per parameter, over all participants of
        the model) before testing, as the reference does.
    reference_group : optional
        Reference group of the planned comparisons (default: each model's
        first group in order of appearance).
    bounds_tol : float, optional
        Bound tolerance of the at-bound counts, as a fraction of each
        parameter's range (default: :data:`avoidrl.report.BOUND_TOLERANCE`).

    Returns
    -------
    dict of DataFrame
        ``'linear'`` (:func:`group_linear_model`), ``'ttest'``
        (:func:`planned_comparisons`) and ``'posthoc'`` (:func:`tukey_posthoc`),
        each with a leading ``model`` column: the layouts of the reference's
        pain_fits_linear_results.csv, pain_fits_ttest_results.csv and
        pain_fits_posthoc_results.csv, plus a ``note`` column and, at the
        end, how many of the values tested sit on a bound of the fit
        (within the tolerance): ``n_at_bound`` and ``share_at_bound`` (all
        groups; linear), ``n_at_bound_condition1`` and
        ``n_at_bound_condition2`` (ttest), ``n_at_bound_g1`` and
        ``n_at_bound_g2`` (posthoc, the groups of "g1 vs g2"). When more
        than :data:`BOUND_SHARE_NOTE` (20 %) of the values a row compares
        sit on a bound, its note says so: these tests assume continuous
        values, and a pile-up on a bound is not one.
        Every ``cohens_d`` is (mean of the first group named - mean of the
        second) / pooled SD.
        Then ``test`` (the test that ran: 'one-way ANOVA (F test)', 'Student
        t-test' or 'Welch t-test' (by Levene's test), 'Tukey HSD'), ``scale``
        ('log' when the parameter was log-transformed, so meandiff, cohens_d
        and F are of log values; else 'natural') and ``p_holm``: Holm's
        adjustment of the table's p (p_value; Tukey's p-adj, already adjusted
        over the pairs of groups) over the model's rows of the table, the
        family of one model's tests in one table.
    """
    tol = BOUND_TOLERANCE if bounds_tol is None else bounds_tol
    tables = {"linear": [], "ttest": [], "posthoc": []}
    for name, estimator in _model_dict(models).items():
        values = transformed_parameters(estimator) if transform else estimator.params_
        groups = estimator.groups_.reindex(values.index)
        counts = bound_counts({name: estimator}, tol=tol).set_index(["parameter", "group"])
        for key, function in (("linear", group_linear_model), ("ttest", planned_comparisons),
                              ("posthoc", tukey_posthoc)):
            table = function(values, groups, reference_group=reference_group)
            table.insert(0, "model", name)
            order = list(pd.unique(groups.astype(object).to_numpy()))
            table = _add_bound_columns(key, table, counts, order)
            tables[key].append(_add_scale_and_holm(key, table, transform))
    return {key: pd.concat(parts, ignore_index=True) for key, parts in tables.items()}


#: The p-value each table's ``p_holm`` adjusts (Tukey's p-adj is already adjusted per parameter).
_P_COLUMNS = {"linear": "p_value", "ttest": "p_value", "posthoc": "p-adj"}


def _add_scale_and_holm(key, table, transform):
    """Move ``test`` after the bound counts, add ``scale`` and ``p_holm`` (one model's rows)."""
    table = table[[c for c in table.columns if c != "test"] + ["test"]].copy()
    table["scale"] = ["log" if transform and is_log_transformed(p) else "natural"
                      for p in table["parameter"]]
    table["p_holm"] = holm(table[_P_COLUMNS[key]])
    return table
