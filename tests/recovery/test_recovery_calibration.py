"""Calibration in every parameter recovery: coverage_, correlation_matrix_, their tables and figure."""

import json
import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from avoidrl import QLearning, plotting, report
from avoidrl.hierarchical import EmpiricalBayes
from avoidrl.recovery import ParameterRecovery
from avoidrl.recovery._calibration import coverage_by_position

BOUNDS = {"temperature": (0.01, 0.2)}


def _fit(estimator, n_datasets, seed):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ParameterRecovery(estimator, n_datasets=n_datasets, random_state=seed).fit()


@pytest.fixture(scope="module")
def ml():
    # fixed starts: deterministic fits, so refitting the datasets at once must agree
    return _fit(QLearning(novel=True, bounds=BOUNDS, start="fixed"), 12, 3)


def test_coverage_is_a_hand_count_of_the_fits_intervals(ml):
    learning = pd.concat([d.learning for d in ml.datasets_], ignore_index=True)
    transfer = pd.concat([d.transfer for d in ml.datasets_], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        direct = QLearning(novel=True, bounds=BOUNDS, start="fixed").fit(learning, transfer)
    # the kept intervals are the fits' own params_ci_
    kept = ml.intervals_.rename_axis(["participant_id", "parameter"])
    pd.testing.assert_frame_equal(kept.loc[direct.params_ci_.index], direct.params_ci_,
                                  rtol=1e-6)
    assert list(ml.coverage_.columns) == ["nominal", "n", "n_inside", "coverage", "lower",
                                          "upper", "n_without_interval"]
    for parameter in ml.true_params_.columns:
        n = inside = without = 0
        for dataset, true in ml.true_params_[parameter].items():
            row = direct.params_ci_.loc[(dataset, parameter)]
            if row["status"] != "interior":
                without += 1
                continue
            n += 1
            inside += int(row["lower"] <= true <= row["upper"])
        got = ml.coverage_.loc[parameter]
        assert (got["n"], got["n_inside"], got["n_without_interval"]) == (n, inside, without)
        assert got["nominal"] == 0.95
        assert got["coverage"] == pytest.approx(inside / n)
        exact = stats.binomtest(inside, n).proportion_ci(0.95, method="exact")
        assert (got["lower"], got["upper"]) == pytest.approx((exact.low, exact.high))


def test_coverage_by_position_is_a_hand_count_of_the_tails(ml):
    table = ml.coverage_by_position_
    names = list(ml.true_params_.columns)
    assert table.index.names == ["parameter", "position"]
    assert table.index.tolist() == [(p, q) for p in names
                                    for q in ("lower tail", "middle", "upper tail")]
    for parameter in names:
        true = ml.true_params_[parameter]
        order = true.sort_values().index           # 12 distinct values: 1 per 10 % tail
        rows = ml.intervals_.xs(parameter, level="parameter")
        for position, datasets in (("lower tail", order[:1]), ("middle", order[1:-1]),
                                   ("upper tail", order[-1:])):
            part = rows.loc[datasets]
            has = np.isfinite(part["lower"]) & np.isfinite(part["upper"])
            inside = ((part["lower"] <= true[datasets]) & (true[datasets] <= part["upper"]) & has)
            got = table.loc[(parameter, position)]
            assert (got["n"], got["n_inside"]) == (has.sum(), inside.sum())
            assert (got["min_true"], got["max_true"]) == (true[datasets].min(),
                                                          true[datasets].max())
        # the positions partition coverage_'s counts
        whole = table.xs(parameter, level="parameter")[["n", "n_inside", "n_without_interval"]]
        assert whole.sum().tolist() == ml.coverage_.loc[
            parameter, ["n", "n_inside", "n_without_interval"]].tolist()


def test_a_recovery_pickled_without_coverage_by_position_gains_it_on_load(ml):
    import pickle

    old = pickle.loads(pickle.dumps(ml))
    del old.coverage_by_position_                       # as pickled by an earlier version
    loaded = pickle.loads(pickle.dumps(old))
    pd.testing.assert_frame_equal(loaded.coverage_by_position_, ml.coverage_by_position_)
    assert len(report.parameter_recovery_coverage_by_position(loaded)) == 3 * len(ml.coverage_)


def test_the_validation_summary_carries_the_coverage_and_its_tails(ml):
    from avoidrl.report._summary import coverage_summary

    summary = coverage_summary(ml)
    assert summary["nominal"] == 0.95
    tails = ml.coverage_by_position_.drop(index="middle", level="position")
    for parameter, row in ml.coverage_.iterrows():
        entry = summary["all"][parameter]
        assert (entry["n"], entry["n_inside"]) == (row["n"], row["n_inside"])
        assert (entry["lower"], entry["upper"]) == pytest.approx((row["lower"], row["upper"]))
        part = tails.xs(parameter, level="parameter")
        entry = summary["tails"][parameter]
        assert (entry["n"], entry["n_inside"]) == (part["n"].sum(), part["n_inside"].sum())
        if entry["n"]:
            assert entry["coverage"] == pytest.approx(entry["n_inside"] / entry["n"])
            exact = stats.binomtest(entry["n_inside"], entry["n"]).proportion_ci(0.95, "exact")
            assert (entry["lower"], entry["upper"]) == pytest.approx((exact.low, exact.high))


def test_coverage_by_position_keeps_equal_true_values_together():
    ids = pd.Index(range(20), name="dataset")
    true = pd.DataFrame({"a": np.arange(20.0), "b": np.repeat([0.2, 0.4, 0.6, 0.8], 5)},
                        index=ids)
    rows = [(i, p, true.loc[i, p], true.loc[i, p] - 0.01, true.loc[i, p] + (0.01 if i % 4 else -0.005),
             "interior") for i in ids for p in "ab"]
    intervals = pd.DataFrame(rows, columns=["dataset", "parameter", "estimate", "lower", "upper",
                                            "status"]).set_index(["dataset", "parameter"])
    table = coverage_by_position(true, intervals, tail=0.1)
    assert table.loc[("a", "lower tail"), "n"] == 2 and table.loc[("a", "upper tail"), "n"] == 2
    # a quarter of b's values are 0.2: together, in the middle (average rank 3 / 20 > 10 %)
    assert table.loc[("b", "lower tail"), "n"] == 0
    assert np.isnan(table.loc[("b", "lower tail"), "coverage"])
    assert table.loc[("b", "middle"), "n"] == 20
    assert table.loc[("b", "middle"), "n_inside"] == 15   # every 4th interval misses
    with pytest.raises(ValueError, match="tail must be a share"):
        coverage_by_position(true, intervals, tail=0.5)


def test_correlation_matrix_diagonal_is_the_recovery_r(ml):
    matrix = ml.correlation_matrix_
    names = list(ml.true_params_.columns)
    assert matrix.index.tolist() == names and matrix.columns.tolist() == names
    assert (matrix.index.name, matrix.columns.name) == ("true", "fitted")
    np.testing.assert_allclose(np.diag(matrix.to_numpy()), ml.correlations_[names].to_numpy())
    a, b = names[0], names[-1]
    assert matrix.loc[a, b] == pytest.approx(
        np.corrcoef(ml.true_params_[a], ml.fitted_params_[b])[0, 1])


def test_empirical_bayes_recovery_has_coverage_through_the_protocol():
    eb = _fit(EmpiricalBayes(QLearning(novel=True, bounds=BOUNDS)), 10, 0)
    assert (eb.coverage_["n"] + eb.coverage_["n_without_interval"] == 10).all()
    assert (eb.coverage_["n"] == 10).all()  # every EB estimate has an interval
    assert eb.coverage_["coverage"].between(0, 1).all()
    assert set(eb.intervals_.index.get_level_values("dataset")) == set(eb.true_params_.index)
    # the tails of EB's posterior intervals too: 10 datasets, one true value per tail
    by_position = eb.coverage_by_position_
    assert (by_position.xs("lower tail", level="position")["n"] == 1).all()
    assert (by_position.xs("upper tail", level="position")["n"] == 1).all()
    np.testing.assert_array_equal(
        by_position.groupby(level="parameter")["n_inside"].sum().loc[eb.coverage_.index],
        eb.coverage_["n_inside"])


def test_tables_lay_out_coverage_and_correlations(ml):
    coverage = report.parameter_recovery_coverage(ml)
    assert coverage.columns[:2].tolist() == ["model", "parameter"]
    assert set(coverage["model"]) == {"QLearning+novel"}
    np.testing.assert_allclose(coverage["coverage"], ml.coverage_["coverage"])
    long = report.parameter_recovery_correlation_matrix({"Q": ml})
    assert long.columns.tolist() == ["model", "true_parameter", "fitted_parameter", "r"]
    wide = long.pivot(index="true_parameter", columns="fitted_parameter", values="r")
    np.testing.assert_allclose(wide.loc[ml.correlation_matrix_.index, ml.correlation_matrix_.columns],
                               ml.correlation_matrix_)
    by_position = report.parameter_recovery_coverage_by_position(ml)
    assert by_position.columns[:5].tolist() == ["model", "parameter", "position", "min_true",
                                                "max_true"]
    assert len(by_position) == 3 * len(ml.coverage_)
    np.testing.assert_array_equal(by_position["n_inside"],
                                  ml.coverage_by_position_["n_inside"])
    columns = set(coverage.columns) | set(long.columns) | set(by_position.columns)
    assert columns <= set(report.COLUMN_VOCABULARY)


def test_calibration_figure_draws_headless(ml):
    with plotting.headless():
        figure = plotting.plot_recovery_calibration(ml)
        figure.canvas.draw()
    coverage_ax, matrix_ax = figure.axes[:2]
    assert any(line.get_gid() == "nominal" and line.get_ydata()[0] == 0.95
               for line in coverage_ax.get_lines())
    # 12 datasets: one or two true values per tail, too few to draw, and the panel says so
    gids = {line.get_gid() for line in coverage_ax.get_lines()}
    assert not {"coverage lower tail", "coverage upper tail"} & gids
    assert any(text.get_gid() == "tails not drawn" for text in coverage_ax.texts)
    image = matrix_ax.get_images()[0]
    assert image.get_clim() == (-1, 1)
    assert image.get_cmap().name == "RdBu_r"
    assert matrix_ax.get_xlabel() == "fitted parameter"
    assert matrix_ax.get_ylabel() == "true parameter"
    assert "n = 12" in matrix_ax.get_title()
    assert len(matrix_ax.texts) == len(ml.true_params_.columns) ** 2


def test_calibration_figure_draws_tails_with_enough_values(ml):
    """With 20 or more intervals per tail, each tail's coverage is drawn at its value."""
    from avoidrl.plotting._recovery import MIN_TAIL_N, _coverage_panel

    table = ml.coverage_by_position_.copy()
    table["n"] = MIN_TAIL_N
    table["n_inside"] = 15
    table["coverage"] = 0.75
    table["lower"], table["upper"] = 0.51, 0.91
    with plotting.headless():
        figure, ax = plt.subplots()
        _coverage_panel(ax, "Q", ml.coverage_, table)
    plt.close(figure)
    points = {c.get_label(): c.lines[0] for c in ax.containers}   # the errorbars' data lines
    for label in ("lower 10 % of the true values", "upper 10 % of the true values"):
        np.testing.assert_allclose(np.asarray(points[label].get_ydata(), float), 0.75)
        assert len(points[label].get_ydata()) == len(ml.coverage_)
    assert not any(text.get_gid() == "tails not drawn" for text in ax.texts)


def test_validation_folder_plans_the_calibration_files():
    planned = report.validation_files(["QLearning+novel"])
    for name in ("parameter_recovery_coverage.csv", "parameter_recovery_correlation_matrix.csv",
                 "parameter_recovery_calibration.png",
                 "parameter_recovery_coverage_by_position.csv"):
        assert name in planned


@pytest.mark.slow
def test_validation_folder_writes_the_calibration_files(ml, tmp_path):
    out = report.write_validation_report(tmp_path / "val", parameter_recovery=ml)
    for name in ("parameter_recovery_coverage.csv", "parameter_recovery_correlation_matrix.csv",
                 "parameter_recovery_calibration.png",
                 "parameter_recovery_coverage_by_position.csv"):
        assert (out / name).is_file(), name
        assert name in (out / "README.md").read_text()
    written = pd.read_csv(out / "parameter_recovery_coverage.csv")
    np.testing.assert_allclose(written["coverage"], ml.coverage_["coverage"])
    summary = json.loads((out / "summary_PARAMETER.json").read_text())
    coverage = summary["parameter_recovery"]["QLearning+novel"]["coverage"]
    assert set(coverage["all"]) == set(coverage["tails"]) == set(ml.coverage_.index)


def test_profile_intervals_are_counted_for_every_dataset_on_a_bound_too():
    """A recovery of a model with intervals='profile' keeps each fit's profile intervals;
    every estimate has one, so none is left out of the coverage."""
    model = QLearning(novel=True, bounds=BOUNDS, start="fixed", intervals="profile")
    recovery = _fit(model, 12, 3)
    assert (recovery.coverage_["n"] == 12).all()
    assert (recovery.coverage_["n_without_interval"] == 0).all()
    intervals = recovery.intervals_
    assert np.isfinite(intervals[["lower", "upper"]].to_numpy()).all()
    for parameter in recovery.true_params_.columns:
        rows = intervals.xs(parameter, level="parameter").loc[recovery.true_params_.index]
        true = recovery.true_params_[parameter]
        inside = int(((rows["lower"] <= true) & (true <= rows["upper"])).sum())
        assert recovery.coverage_.loc[parameter, "n_inside"] == inside


@pytest.mark.slow
def test_calibrated_profile_intervals_in_a_recovery_do_not_depend_on_n_jobs():
    """The cut is calibrated per fixed work unit of datasets, not per worker."""
    model = QLearning(novel=True, bounds=BOUNDS, start="fixed", intervals="calibrated-profile")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        one = ParameterRecovery(model, n_datasets=18, random_state=5, n_jobs=1).fit()
        two = ParameterRecovery(model, n_datasets=18, random_state=5, n_jobs=2).fit()
    pd.testing.assert_frame_equal(one.intervals_, two.intervals_)
    assert (one.coverage_["n"] == 18).all()
