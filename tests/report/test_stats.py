"""Group statistics on fitted parameters (avoidrl.stats), against hand-computed values."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

import avoidrl
from avoidrl.stats import (
    UNTRANSFORMED_PARAMETERS, cohens_d, fit_statistics, group_linear_model, log_transform,
    planned_comparisons, tukey_posthoc,
)

# A textbook one-way layout: means 4, 7, 10, grand mean 7.
# SS_between = 3 * (9 + 0 + 9) = 54, SS_within = 3 * 2 = 6, df = (2, 6),
# F = (54 / 2) / (6 / 6) = 27, R^2 = 54 / 60 = 0.9.
TEXTBOOK = pd.DataFrame({"x": [3.0, 4, 5, 6, 7, 8, 9, 10, 11]},
                        index=[f"p{i}" for i in range(9)])
TEXTBOOK_GROUPS = ["a"] * 3 + ["b"] * 3 + ["c"] * 3


def test_log_transform_positive_values_are_logged():
    values = pd.Series([0.1, 0.5, 1.0], index=["x", "y", "z"])
    out = log_transform(values, "factual_lr")
    np.testing.assert_allclose(out, np.log([0.1, 0.5, 1.0]))
    assert list(out.index) == ["x", "y", "z"]


def test_log_transform_shifts_non_positive_values():
    out = log_transform([-0.5, 0.0, 1.5], "temperature")
    # x - min + 1 = [1, 1.5, 3]
    np.testing.assert_allclose(out, np.log([1.0, 1.5, 3.0]))


@pytest.mark.parametrize("parameter", UNTRANSFORMED_PARAMETERS)
def test_log_transform_leaves_the_four_named_parameters_alone(parameter):
    values = [-0.5, 0.2, 0.9]
    np.testing.assert_allclose(log_transform(values, parameter), values)


def test_novel_value_is_not_transformed_but_novel_factor_would_be():
    # Q16: the reference wrote 'novel_factor'; the intended name is novel_value.
    assert "novel_value" in UNTRANSFORMED_PARAMETERS
    np.testing.assert_allclose(log_transform([-1.0, 1.0], "novel_value"), [-1.0, 1.0])
    np.testing.assert_allclose(log_transform([-1.0, 1.0], "novel_factor"), np.log([1.0, 3.0]))


def test_linear_model_matches_the_textbook_example():
    row = group_linear_model(TEXTBOOK, TEXTBOOK_GROUPS).iloc[0]
    assert row["F"] == pytest.approx(27.0)
    assert (row["df_model"], row["df_res"]) == (2.0, 6.0)
    assert row["r_squared"] == pytest.approx(0.9)
    assert row["p_value"] == pytest.approx(sps.f.sf(27.0, 2, 6))
    assert row["note"] == ""


def test_linear_model_equals_scipy_one_way_anova_on_unequal_groups():
    rng = np.random.default_rng(1)
    values = np.r_[rng.normal(0, 1, 4), rng.normal(1, 2, 6), rng.normal(0.5, 1, 5)]
    groups = ["x"] * 4 + ["y"] * 6 + ["z"] * 5
    params = pd.DataFrame({"a": values, "b": values[::-1]})
    table = group_linear_model(params, groups)
    for parameter, column in (("a", values), ("b", values[::-1])):
        row = table.set_index("parameter").loc[parameter]
        samples = [column[:4], column[4:10], column[10:]]
        expected = sps.f_oneway(*samples)
        assert row["F"] == pytest.approx(expected.statistic)
        assert row["p_value"] == pytest.approx(expected.pvalue)
        assert (row["df_model"], row["df_res"]) == (2.0, 12.0)
        shapiro_ok = all(sps.shapiro(s).pvalue > 0.05 for s in samples)
        assert row["normality"] == ("met" if shapiro_ok else "violated")
        assert row["homogeneity"] == ("met" if sps.levene(*samples).pvalue > 0.05
                                      else "violated")


def test_linear_model_aligns_a_group_series_by_participant():
    groups = pd.Series(TEXTBOOK_GROUPS, index=TEXTBOOK.index).iloc[::-1]
    assert group_linear_model(TEXTBOOK, groups).loc[0, "F"] == pytest.approx(27.0)


def test_planned_comparisons_use_student_when_variances_are_equal():
    first, second = [1.0, 2, 3, 4], [2.0, 3, 4, 5.5]
    params = pd.DataFrame({"x": first + second})
    row = planned_comparisons(params, ["ctl"] * 4 + ["pat"] * 4).iloc[0]
    expected = sps.ttest_ind(first, second, equal_var=True)
    assert row["t_value"] == pytest.approx(expected.statistic)
    assert row["p_value"] == pytest.approx(expected.pvalue)
    assert row["df"] == 6.0
    assert row["homogeneity_assumption"] == "met"
    assert (row["condition1"], row["condition2"], row["comparison"]) == \
        ("ctl", "pat", "ctl vs pat")
    # Cohen's d by hand: sums of squares 5 and 6.6875; pooled sd = sqrt((5 + 6.6875) / 6).
    pooled = np.sqrt((5.0 + 6.6875) / 6)
    assert row["cohens_d"] == pytest.approx((2.5 - 3.625) / pooled)
    assert np.sign(row["cohens_d"]) == np.sign(row["t_value"])


def test_planned_comparisons_use_welch_when_levene_rejects():
    rng = np.random.default_rng(0)
    first = rng.normal(0, 0.1, 12)
    second = rng.normal(0, 10, 12)
    assert sps.levene(first, second).pvalue < 0.05
    params = pd.DataFrame({"x": np.r_[first, second]})
    row = planned_comparisons(params, ["a"] * 12 + ["b"] * 12).iloc[0]
    expected = sps.ttest_ind(first, second, equal_var=False)
    assert row["homogeneity_assumption"] == "violated"
    assert row["t_value"] == pytest.approx(expected.statistic)
    assert row["df"] == pytest.approx(expected.df)
    assert row["df"] != 22.0


def test_planned_comparisons_reference_group():
    groups = ["a"] * 3 + ["b"] * 3 + ["c"] * 3
    default = planned_comparisons(TEXTBOOK, groups)
    assert default["comparison"].tolist() == ["a vs b", "a vs c"]
    chosen = planned_comparisons(TEXTBOOK, groups, reference_group="c")
    assert chosen["comparison"].tolist() == ["c vs a", "c vs b"]
    assert chosen.loc[0, "t_value"] == pytest.approx(
        sps.ttest_ind([9.0, 10, 11], [3.0, 4, 5]).statistic)
    with pytest.raises(ValueError, match="reference_group"):
        planned_comparisons(TEXTBOOK, groups, reference_group="nope")


def test_cohens_d_by_hand():
    # means 2 and 5, both sample sds 1 -> d = -3
    assert cohens_d([1.0, 2, 3], [4.0, 5, 6]) == pytest.approx(-3.0)
    assert np.isnan(cohens_d([1.0, 1.0], [1.0, 1.0]))


def test_tukey_matches_scipy_and_signs_agree():
    rng = np.random.default_rng(3)
    samples = [rng.normal(0, 1, 5), rng.normal(2, 1, 6), rng.normal(0.5, 1, 4)]
    params = pd.DataFrame({"x": np.concatenate(samples)})
    groups = ["u"] * 5 + ["v"] * 6 + ["w"] * 4
    table = tukey_posthoc(params, groups)
    expected = sps.tukey_hsd(*samples).pvalue
    assert table["factor"].tolist() == ["u vs v", "u vs w", "v vs w"]
    for (i, j), (_, row) in zip([(0, 1), (0, 2), (1, 2)], table.iterrows()):
        assert row["p-adj"] == pytest.approx(expected[i, j])
        assert row["meandiff"] == pytest.approx(samples[j].mean() - samples[i].mean())
        assert row["reject"] == (expected[i, j] < 0.05)
        # one convention for every d: first group named minus second (meandiff: g2 - g1)
        assert row["cohens_d"] == pytest.approx(cohens_d(samples[i], samples[j]))
        assert np.sign(row["cohens_d"]) == -np.sign(row["meandiff"])


def test_one_group_gives_nan_and_a_note_not_an_error():
    params = pd.DataFrame({"x": [1.0, 2, 3, 4], "y": [0.1, 0.2, 0.3, 0.5]})
    groups = ["only"] * 4
    linear = group_linear_model(params, groups)
    ttest = planned_comparisons(params, groups)
    posthoc = tukey_posthoc(params, groups)
    for table in (linear, ttest, posthoc):
        assert len(table) == 2
        assert table["note"].str.contains("2 groups").all()
    assert linear["F"].isna().all() and linear["p_value"].isna().all()
    assert ttest["t_value"].isna().all() and posthoc["p-adj"].isna().all()


def test_small_groups_give_partial_results_with_notes():
    # groups of 2, 2 and 1: no Shapiro (needs 3), no t-test/Tukey for the single one
    params = pd.DataFrame({"x": [1.0, 2, 4, 6, 5]})
    groups = ["a", "a", "b", "b", "c"]
    linear = group_linear_model(params, groups).iloc[0]
    assert np.isfinite(linear["F"]) and pd.isna(linear["normality"])
    assert "3 participants" in linear["note"]
    ttest = planned_comparisons(params, groups).set_index("condition2")
    assert np.isfinite(ttest.loc["b", "t_value"])
    assert np.isnan(ttest.loc["c", "t_value"]) and "2 participants" in ttest.loc["c", "note"]
    posthoc = tukey_posthoc(params, groups).set_index("factor")
    assert np.isfinite(posthoc.loc["a vs b", "p-adj"])
    assert np.isnan(posthoc.loc["a vs c", "p-adj"]) and posthoc.loc["a vs c", "note"]
    assert posthoc.loc["a vs c", "meandiff"] == pytest.approx(5.0 - 1.5)


def test_constant_parameter_does_not_crash():
    params = pd.DataFrame({"x": [0.5] * 6})
    groups = ["a"] * 3 + ["b"] * 3
    linear = group_linear_model(params, groups).iloc[0]
    assert np.isnan(linear["F"]) and np.isnan(linear["p_value"])
    assert "no variance" in linear["note"]
    ttest = planned_comparisons(params, groups)
    assert len(ttest) == 1
    row = ttest.iloc[0]
    assert row["comparison"] == "a vs b"
    # no variance: t, p and d are undefined, and the note says why
    assert np.isnan(row["t_value"]) and np.isnan(row["p_value"]) and np.isnan(row["cohens_d"])
    assert pd.isna(row["homogeneity_assumption"])
    assert "no variance" in row["note"]
    posthoc = tukey_posthoc(params, groups)
    assert len(posthoc) == 1
    row = posthoc.iloc[0]
    assert row["factor"] == "a vs b" and row["meandiff"] == 0.0
    assert np.isnan(row["p-adj"]) and np.isnan(row["cohens_d"])
    assert "no variance" in row["note"]


# ------------------------------------------------------------ normality flags
#: Shapiro-Wilk p = 0.0002: clearly not normal (most values 0, a long right tail).
SKEWED = [0.0, 0, 0, 0, 0, 0, 0.1, 5, 9, 10]


def _shapiro_flag(*samples):
    return "met" if all(sps.shapiro(s).pvalue > 0.05 for s in samples) else "violated"


def test_ttest_normality_flags_a_clearly_non_normal_sample():
    normal = np.random.default_rng(0).normal(5, 1, 10)
    assert sps.shapiro(SKEWED).pvalue < 0.001 and sps.shapiro(normal).pvalue > 0.5
    for first, second in ((SKEWED, normal), (normal, SKEWED)):
        params = pd.DataFrame({"x": np.r_[first, second]})
        row = planned_comparisons(params, ["a"] * 10 + ["b"] * 10).iloc[0]
        assert row["normality_assumption"] == "violated"
    params = pd.DataFrame({"x": np.r_[normal, normal[::-1] + 1]})
    assert planned_comparisons(params, ["a"] * 10 + ["b"] * 10).loc[0, "normality_assumption"] \
        == "met"


def test_ttest_normality_flag_equals_shapiro_wilk_in_both_groups():
    rng = np.random.default_rng(11)
    draws = {"normal": lambda n: rng.normal(0, 1, n),
             "lognormal": lambda n: rng.lognormal(0, 1.5, n),
             "bimodal": lambda n: np.r_[rng.normal(-3, 0.2, n // 2),
                                        rng.normal(3, 0.2, n - n // 2)]}
    flags = []
    for kind_a in draws:
        for kind_b in draws:
            a, b, c = draws[kind_a](8), draws[kind_b](9), draws["normal"](7)
            params = pd.DataFrame({"x": np.r_[a, b, c]})
            table = planned_comparisons(params, ["a"] * 8 + ["b"] * 9 + ["c"] * 7)
            row_b, row_c = table.iloc[0], table.iloc[1]
            assert row_b["normality_assumption"] == _shapiro_flag(a, b), (kind_a, kind_b)
            assert row_c["normality_assumption"] == _shapiro_flag(a, c), (kind_a, kind_b)
            flags += [row_b["normality_assumption"], row_c["normality_assumption"]]
    assert {"met", "violated"} <= set(flags)  # both outcomes occur


class _Fitted:
    """Stands in for a fitted estimator: fit_statistics reads params_, groups_ and bounds_."""

    def __init__(self, params, groups):
        self.model_name = "Relative+novel"
        self.params_ = params
        self.groups_ = pd.Series(groups, index=params.index, name="group_code")
        self.bounds_ = avoidrl.make_model("Relative+novel")._fit_settings()["bounds"]


def test_fit_statistics_normality_flag_follows_shapiro_on_transformed_values():
    rng = np.random.default_rng(4)
    n = 10
    ids = pd.Index([f"p{i}" for i in range(2 * n)], name="participant_id")
    params = pd.DataFrame({
        # untransformed: one group clearly non-normal
        "novel_value": np.r_[np.array(SKEWED) / 10 - 0.5, rng.uniform(-0.5, 0.5, n)],
        # log-transformed: log-normal values are normal after the log
        "temperature": np.exp(rng.normal(-2.5, 0.3, 2 * n)),
        # log-transformed: normal values with a long left tail after the log
        "contextual_lr": np.r_[[0.011, 0.012, 0.9, 0.91, 0.92, 0.93, 0.94, 0.95, 0.96, 0.97],
                               rng.uniform(0.4, 0.6, n)],
    }, index=ids)
    groups = ["ctl"] * n + ["pat"] * n
    table = fit_statistics({"m": _Fitted(params, groups)})["ttest"].set_index("parameter")
    expected = {
        "novel_value": _shapiro_flag(params["novel_value"][:n], params["novel_value"][n:]),
        "temperature": _shapiro_flag(np.log(params["temperature"][:n]),
                                     np.log(params["temperature"][n:])),
        "contextual_lr": _shapiro_flag(np.log(params["contextual_lr"][:n]),
                                       np.log(params["contextual_lr"][n:])),
    }
    assert expected == {"novel_value": "violated", "temperature": "met",
                        "contextual_lr": "violated"}
    assert table["normality_assumption"].to_dict() == expected


@pytest.fixture(scope="module")
def fitted():
    """QLearning+novel fitted to 9 simulated participants in 3 groups with new names."""
    model = avoidrl.make_model("QLearning+novel", n_starts=2, random_state=0)
    rng = np.random.default_rng(7)
    ids = [f"s{i}" for i in range(9)]
    params = pd.DataFrame({"factual_lr": rng.uniform(0.1, 0.9, 9),
                           "counterfactual_lr": rng.uniform(0.1, 0.9, 9),
                           "temperature": rng.uniform(0.05, 0.3, 9),
                           "novel_value": rng.uniform(-0.8, 0.8, 9)},
                          index=pd.Index(ids, name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=1)
    groups = dict(zip(ids, ["treated"] * 3 + ["control"] * 3 + ["waitlist"] * 3))
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(groups)
    return model.fit(learning, transfer)


def test_fit_statistics_applies_the_transform_where_it_applies(fitted):
    tables = fit_statistics({"Q": fitted})
    assert set(tables) == {"linear", "ttest", "posthoc"}
    linear = tables["linear"]
    assert linear.columns.tolist() == ["model", "parameter", "F", "df_res", "df_model",
                                       "p_value", "r_squared", "normality", "homogeneity",
                                       "note", "n_at_bound", "share_at_bound", "test", "scale",
                                       "p_holm"]
    assert (linear["model"] == "Q").all()
    by_parameter = linear.set_index("parameter")
    groups = fitted.groups_
    logged = pd.DataFrame({"temperature": log_transform(fitted.params_["temperature"],
                                                        "temperature")})
    assert by_parameter.loc["temperature", "F"] == pytest.approx(
        group_linear_model(logged, groups).loc[0, "F"])
    raw = fitted.params_[["novel_value"]]
    assert by_parameter.loc["novel_value", "F"] == pytest.approx(
        group_linear_model(raw, groups).loc[0, "F"])
    ttest = tables["ttest"]
    assert ttest.columns.tolist() == ["model", "parameter", "condition1", "condition2",
                                      "comparison", "t_value", "p_value", "cohens_d", "df",
                                      "homogeneity_assumption", "normality_assumption", "note",
                                      "n_at_bound_condition1", "n_at_bound_condition2", "test",
                                      "scale", "p_holm"]
    # groups come from the data, first group is the default reference
    assert set(ttest["condition1"]) == {"treated"}
    assert set(ttest["condition2"]) == {"control", "waitlist"}
    posthoc = tables["posthoc"]
    assert posthoc.columns.tolist() == ["model", "parameter", "factor", "meandiff", "p-adj",
                                        "reject", "cohens_d", "note", "n_at_bound_g1",
                                        "n_at_bound_g2", "test", "scale", "p_holm"]
    assert len(posthoc) == 3 * 4


def test_fit_statistics_without_transform(fitted):
    table = fit_statistics(fitted, transform=False)["linear"].set_index("parameter")
    expected = group_linear_model(fitted.params_[["temperature"]], fitted.groups_)
    assert table.loc["temperature", "F"] == pytest.approx(expected.loc[0, "F"])
    assert table["model"].iloc[0] == "QLearning+novel"


def test_cohens_d_is_the_same_for_a_comparison_in_both_tables(fitted):
    tables = fit_statistics(fitted)
    ttest, posthoc = tables["ttest"], tables["posthoc"]
    reference = ttest["condition1"].iloc[0]
    compared = 0
    for row in ttest.itertuples():
        same = posthoc[(posthoc["parameter"] == row.parameter)
                       & (posthoc["factor"] == row.comparison)]
        if len(same):  # the reference group comes first in the data: same order of groups
            assert same["cohens_d"].iloc[0] == pytest.approx(row.cohens_d)
            assert np.sign(row.cohens_d) == np.sign(row.t_value)
            compared += 1
    assert compared and reference == posthoc["factor"].iloc[0].split(" vs ")[0]


@pytest.mark.parametrize("sizes", [(5, 6), (5, 6, 4), (8, 8, 8), (3, 12, 7, 9)])
def test_tukey_p_values_are_scipys(sizes):
    from avoidrl._tukey import tukey_p_values as _tukey_p_values

    rng = np.random.default_rng(len(sizes) * 10 + sizes[0])
    samples = [rng.normal(rng.normal(0, 1), 1, n) for n in sizes]
    samples.append(np.full(4, 0.5))  # no variance in one group: the pooled MSE is kept
    off_diagonal = ~np.eye(len(samples), dtype=bool)
    ours = _tukey_p_values(samples)
    # scipy integrates adaptively to 1e-11; avoidrl._tukey's quadrature agrees within 1e-12
    np.testing.assert_allclose(ours[off_diagonal], sps.tukey_hsd(*samples).pvalue[off_diagonal],
                               rtol=0, atol=1e-12)
    assert np.array_equal(ours, ours.T, equal_nan=True)
