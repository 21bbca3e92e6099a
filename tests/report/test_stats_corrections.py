"""Holm's correction, the test named, and the scale of every effect size (issue 20, point 4)."""

import numpy as np
import pandas as pd
import pytest

from avoidrl import stats


def test_holm_by_hand():
    p = [0.01, 0.04, 0.03, 0.5]
    # sorted 0.01, 0.03, 0.04, 0.5 -> 4 x .01, 3 x .03, 2 x .04 (raised to .09), 1 x .5
    np.testing.assert_allclose(stats.holm(p), [0.04, 0.09, 0.09, 0.5])
    assert np.isnan(stats.holm([np.nan, 0.2])[0]) and stats.holm([np.nan, 0.2])[1] == 0.2
    assert stats.holm([0.6, 0.7]).tolist() == [1.0, 1.0]
    assert stats.holm([]).size == 0


def test_planned_comparisons_name_the_test():
    params = pd.DataFrame({"temperature": [1.0, 2, 3, 4, 5, 6, 1.0, 1.1, 0.9, 30, -20, 5]})
    groups = list("aaabbb") + list("cccddd")
    student = stats.planned_comparisons(params.iloc[:6], groups[:6])
    assert student["test"].tolist() == ["Student t-test"]
    # very unequal variances: Levene rejects, Welch's test runs (and its df is not n1 + n2 - 2)
    unequal = pd.DataFrame({"x": [1.0, 1.01, 0.99, 1.0, 1.02, -50, 60, 10, -30, 45]})
    welch = stats.planned_comparisons(unequal, list("aaaaabbbbb"))
    assert welch["test"].tolist() == ["Welch t-test"] and welch.loc[0, "df"] != 8
    assert stats.group_linear_model(params.iloc[:6], groups[:6])["test"].tolist() == \
        ["one-way ANOVA (F test)"]
    assert set(stats.tukey_posthoc(params.iloc[:6], groups[:6])["test"]) == {"Tukey HSD"}


class _Fitted:
    """The fitted-model protocol fit_statistics reads."""

    def __init__(self, params, groups, bounds):
        self.params_, self.groups_, self.bounds_ = params, groups, bounds
        self.parameter_names = list(params.columns)
        self.model_name_ = "Q"


@pytest.fixture
def fitted():
    rng = np.random.default_rng(1)
    ids = pd.Index([f"s{i}" for i in range(12)], name="participant_id")
    params = pd.DataFrame({"temperature": rng.uniform(0.05, 0.9, 12),
                           "novel_value": rng.uniform(-0.8, 0.8, 12)}, index=ids)
    groups = pd.Series(np.repeat(["a", "b", "c"], 4), index=ids, name="group_code")
    return _Fitted(params, groups, {"temperature": (0.01, 1.0), "novel_value": (-1.0, 1.0)})


def test_fit_statistics_state_scale_and_holm(fitted):
    tables = stats.fit_statistics({"Q": fitted})
    for key, p_column in (("linear", "p_value"), ("ttest", "p_value"), ("posthoc", "p-adj")):
        table = tables[key]
        assert table.columns[-3:].tolist() == ["test", "scale", "p_holm"]
        scale = dict(zip(table["parameter"], table["scale"]))
        assert scale == {"temperature": "log", "novel_value": "natural"}
        np.testing.assert_allclose(table["p_holm"], stats.holm(table[p_column]))
        assert (table["p_holm"] >= table[p_column]).all()
    raw = stats.fit_statistics({"Q": fitted}, transform=False)
    assert set(raw["ttest"]["scale"]) == {"natural"}
    # the log scale: cohens_d is that of the log values
    logged = np.log(fitted.params_["temperature"])
    row = tables["ttest"].query("parameter == 'temperature' and condition2 == 'b'").iloc[0]
    assert row["cohens_d"] == pytest.approx(stats.cohens_d(logged[:4], logged[4:8]))
