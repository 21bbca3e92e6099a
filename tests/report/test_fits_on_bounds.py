"""Fits on a bound are counted in the tables and marked in the figures (issue 9)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.collections import PathCollection  # noqa: E402

from avoidrl import _tables, plotting, stats  # noqa: E402

BOUNDS = {"contextual_lr": (0.01, 0.99), "temperature": (0.01, 1.0)}
GROUPS = ["ctl"] * 5 + ["pat"] * 5


class Fitted:
    """The fitted attributes the bound counts read: params_, groups_, bounds_."""

    def __init__(self, params, groups=GROUPS, bounds=BOUNDS, name="Relative+novel"):
        self.model_name = name
        self.params_ = pd.DataFrame(params, index=pd.Index([f"p{i}" for i in range(10)],
                                                           name="participant_id"))
        self.groups_ = pd.Series(groups, index=self.params_.index, name="group_code")
        self.bounds_ = bounds


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _piled_up():
    """contextual_lr: 4 of 5 ctl and 2 of 5 pat on the lower bound; one pat on the upper."""
    contextual = [0.01, 0.01, 0.01, 0.01, 0.2, 0.01, 0.01, 0.3, 0.4, 0.99]
    temperature = [0.1, 0.2, 0.3, 0.15, 0.25, 0.12, 0.22, 0.32, 0.17, 0.27]
    return Fitted({"contextual_lr": contextual, "temperature": temperature})


def test_bound_counts_by_hand_with_the_tolerance():
    model = _piled_up()
    table = _tables.bound_counts({"R": model}).set_index(["parameter", "group"])
    row = table.loc[("contextual_lr", "ctl")]
    assert (row["n"], row["n_lower"], row["n_upper"], row["share_at_bound"]) == (5, 4, 0, 0.8)
    row = table.loc[("contextual_lr", "pat")]
    assert (row["n_lower"], row["n_upper"], row["n_at_bound"]) == (2, 1, 3)
    assert table.loc[("temperature", "ctl"), "n_at_bound"] == 0
    # within tol x range of a bound counts, twice as far does not
    margin = 1e-6 * (0.99 - 0.01)
    model.params_.loc["p0", "contextual_lr"] = 0.01 + 0.5 * margin
    model.params_.loc["p1", "contextual_lr"] = 0.01 + 2 * margin
    row = _tables.bound_counts({"R": model}).set_index(["parameter", "group"]).loc[
        ("contextual_lr", "ctl")]
    assert row["n_lower"] == 3
    with pytest.raises(ValueError, match="tol"):
        _tables.bound_counts({"R": model}, tol=-1)


def test_statistics_count_and_flag_values_on_bounds():
    tables = stats.fit_statistics({"R": _piled_up()})
    linear = tables["linear"].set_index("parameter")
    # 7 of 10 contextual_lr values on a bound: counted and flagged
    assert linear.loc["contextual_lr", "n_at_bound"] == 7
    assert linear.loc["contextual_lr", "share_at_bound"] == pytest.approx(0.7)
    assert "7 of 10 values (70%) on a bound" in linear.loc["contextual_lr", "note"]
    assert linear.loc["temperature", "n_at_bound"] == 0
    assert "bound" not in linear.loc["temperature", "note"]
    ttest = tables["ttest"].set_index("parameter")
    assert (ttest.loc["contextual_lr", "n_at_bound_condition1"],
            ttest.loc["contextual_lr", "n_at_bound_condition2"]) == (4, 3)
    assert "on a bound" in ttest.loc["contextual_lr", "note"]
    posthoc = tables["posthoc"].set_index("parameter")
    assert posthoc.loc["contextual_lr", "factor"] == "ctl vs pat"
    assert (posthoc.loc["contextual_lr", "n_at_bound_g1"],
            posthoc.loc["contextual_lr", "n_at_bound_g2"]) == (4, 3)
    # the same comparison has the same Cohen's d in both tables
    assert posthoc.loc["contextual_lr", "cohens_d"] == pytest.approx(
        ttest.loc["contextual_lr", "cohens_d"])


def test_statistics_count_the_groups_of_each_comparison():
    # three groups, the reference group last: each row counts its own two groups
    contextual = [0.01, 0.5, 0.5, 0.01, 0.01, 0.5, 0.5, 0.5, 0.5, 0.5]
    groups = ["a", "a", "a", "b", "b", "b", "c", "c", "c", "c"]
    model = Fitted({"contextual_lr": contextual, "temperature": np.linspace(0.1, 0.5, 10)},
                   groups=groups)
    tables = stats.fit_statistics({"R": model}, reference_group="c")
    ttest = tables["ttest"][tables["ttest"]["parameter"] == "contextual_lr"]
    assert ttest["comparison"].tolist() == ["c vs a", "c vs b"]
    assert ttest["n_at_bound_condition1"].tolist() == [0, 0]
    assert ttest["n_at_bound_condition2"].tolist() == [1, 2]
    posthoc = tables["posthoc"][tables["posthoc"]["parameter"] == "contextual_lr"]
    assert posthoc["factor"].tolist() == ["a vs b", "a vs c", "b vs c"]
    assert posthoc["n_at_bound_g1"].tolist() == [1, 1, 2]
    assert posthoc["n_at_bound_g2"].tolist() == [2, 0, 0]


def test_descriptives_show_bounds_and_never_minus_zero():
    model = _piled_up()
    model.params_["temperature"] = [-0.0] * 5 + [0.5] * 5
    model.bounds_ = {**BOUNDS, "temperature": (-1.0, 1.0)}
    table = _tables.parameter_descriptives({"Relative+novel": model}).set_index("parameter")
    assert table.loc["temperature", "ctl"] == "0 (0)"
    # 4 significant digits: mean 0.048, sd sqrt((4 x 0.038^2 + 0.152^2) / 4) = 0.084971
    assert table.loc["contextual_lr", "ctl"] == "0.048 (0.08497)"
    assert (table.loc["contextual_lr", "n_at_lower"],
            table.loc["contextual_lr", "n_at_upper"]) == (6, 1)


def test_parameter_of_interest_figure_marks_points_on_bounds():
    relative = _piled_up()
    mixing = np.linspace(0.2, 0.8, 10)
    hybrid = Fitted({"mixing_factor": mixing}, bounds={"mixing_factor": (0.0, 1.0)},
                    name="Hybrid2012+novel")
    models = {"Relative+novel": relative, "Hybrid2012+novel": hybrid}
    figure = plotting.plot_parameter_of_interest_comparisons(models)
    (ax,) = figure.axes
    offsets = {c.get_gid(): c.get_offsets() for c in ax.collections
               if isinstance(c, PathCollection)}
    contextual = relative.params_["contextual_lr"].to_numpy()
    on_bound = (contextual <= 0.01 + 1e-9) | (contextual >= 0.99 - 1e-9)
    np.testing.assert_allclose(offsets["at_bound"], np.c_[contextual, mixing][on_bound])
    np.testing.assert_allclose(offsets["participants"], np.c_[contextual, mixing][~on_bound])
    # n and r over all and over the off-bound participants, as in the table
    row = _tables.parameter_of_interest_correlations(models).iloc[0]
    assert (row["n"], row["n_at_bound"], row["n_interior"]) == (10, 7, 3)
    assert "n = 10" in ax.get_title() and "off bounds" in ax.get_title()
    assert "n = 3" in ax.get_title()
    interior = np.c_[contextual, mixing][~on_bound]
    assert row["r_interior"] == pytest.approx(
        np.corrcoef(np.log(interior[:, 0]), interior[:, 1])[0, 1])
    bounds = [line for line in ax.lines if line.get_gid() == "bound"]
    vertical = sorted(line.get_xdata()[0] for line in bounds if list(line.get_ydata()) == [0, 1])
    horizontal = sorted(line.get_ydata()[0] for line in bounds if list(line.get_xdata()) == [0, 1])
    assert vertical == pytest.approx([0.01, 0.99]) and horizontal == pytest.approx([0.0, 1.0])
