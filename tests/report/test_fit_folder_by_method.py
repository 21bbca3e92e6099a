"""FIT folders of empirical-Bayes fits; intervals, evidence and BMS files of both methods."""

import json
import pickle
import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.container import BarContainer, ErrorbarContainer  # noqa: E402
from scipy import stats as sps  # noqa: E402

import avoidrl  # noqa: E402
from avoidrl import plotting, report  # noqa: E402
from avoidrl.hierarchical import EmpiricalBayes  # noqa: E402
from avoidrl.model_selection import log_evidence_table, random_effects_bms  # noqa: E402

# every test here shares two fitted methods' report folders (about 20 s of setup);
# the quick suite's report tests are in test_report.py
pytestmark = pytest.mark.slow

NAMES = ("QLearning+novel", "Relative+novel")
GROUP_OF = {f"{g}{i}": group for g, group in (("a", "ctl"), ("b", "pat")) for i in range(4)}
BMS_COLUMNS = ["alpha", "expected_frequency", "exceedance_probability",
               "protected_exceedance_probability"]


def simulate(seed=0):
    model = avoidrl.make_model("QLearning+novel")
    rng = np.random.default_rng(seed)
    ids = list(GROUP_OF)
    params = pd.DataFrame({"factual_lr": rng.uniform(0.2, 0.8, len(ids)),
                           "counterfactual_lr": rng.uniform(0.1, 0.6, len(ids)),
                           "temperature": rng.uniform(0.05, 0.3, len(ids)),
                           "novel_value": rng.uniform(-0.5, 0.5, len(ids))},
                          index=pd.Index(ids, name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=seed)
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(GROUP_OF)
    return learning, transfer


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def eb_models(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: EmpiricalBayes(avoidrl.make_model(name), random_state=0).fit(*data)
                for name in NAMES}


@pytest.fixture(scope="module")
def ml_models(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: avoidrl.make_model(name, n_starts=2, random_state=0).fit(*data)
                for name in NAMES}


@pytest.fixture(scope="module")
def folders(tmp_path_factory, data, eb_models, ml_models):
    """{method: (folder, models)} of a FIT of each method."""
    out = {}
    for method, models in (("eb", eb_models), ("ml", ml_models)):
        folder = tmp_path_factory.mktemp("reports") / method
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report.write_fit_report(folder, models, *data, random_state=0)
        out[method] = folder, models
    return out


def readme_rows(folder):
    text = (folder / "README.md").read_text()
    return {line.split("|")[1].strip(): line for line in text.splitlines()
            if line.startswith("| ")}


# -------------------------------------------------------------- folder contents
def test_eb_folder_replaces_what_needs_aic_bic_or_starts(folders):
    folder, models = folders["eb"]
    files = report.fit_files(models, ["ctl", "pat"], method="eb")
    for name in files:
        assert (folder / name).is_file(), name
    # nothing labelled AIC/BIC, and no starts files
    for name in ("full_fit_data_FIT.pkl", "group_BIC.csv", "group_AIC.csv",
                 "BIC_model_comparisons.png", "information_criteria.csv", "fit-by-runs.png"):
        assert not (folder / name).exists(), name
        assert name not in files
    rows = readme_rows(folder)
    for name in ("full_fit_data_FIT.pkl", "fit-by-runs.png", "information_criteria.csv",
                 "group_AIC.csv, group_BIC.csv"):
        assert "**not written**" in rows[name], name
    assert "no starts" in rows["fit-by-runs.png"]
    assert "Not a BIC" in rows["group_Laplace.csv"]
    assert "`Laplace`" in rows["model_evidence.csv"]
    assert "Fitting method: empirical Bayes" in (folder / "README.md").read_text()

    laplace = pd.read_csv(folder / "group_Laplace.csv", index_col=0)
    assert laplace.index.tolist() == ["ctl", "pat", "full"]
    for name, estimator in models.items():
        assert laplace.loc["full", name] == pytest.approx(-2 * estimator.log_evidence_.mean())
        pat = [p for p, g in GROUP_OF.items() if g == "pat"]
        assert laplace.loc["pat", name] == \
            pytest.approx(-2 * estimator.log_evidence_.loc[pat].mean())
    with open(folder / "fit_data_FIT.pkl", "rb") as handle:
        fit_data = pickle.load(handle)
    for name, estimator in models.items():
        np.testing.assert_allclose(fit_data[name]["fit"], estimator.nll_.to_numpy())
        np.testing.assert_allclose(fit_data[name][estimator.parameter_names],
                                   estimator.params_.to_numpy())
        assert fit_data[name]["run"].isna().all()


def test_ml_folder_keeps_its_files_and_gains_the_new_ones(folders):
    folder, models = folders["ml"]
    for name in report.fit_files(models, ["ctl", "pat"]):
        assert (folder / name).is_file(), name
    for name in ("group_BIC.csv", "full_fit_data_FIT.pkl", "fit-by-runs.png",
                 "parameter_intervals.csv", "model_evidence.csv", "bms_results.csv",
                 "BMS_model_comparison.png"):
        assert (folder / name).is_file(), name
    for name in ("group_Laplace.csv", "ibic.csv", "population_parameters.csv",
                 "em_history.csv"):
        assert not (folder / name).exists(), name
    assert "-BIC/2" in readme_rows(folder)["model_evidence.csv"]


@pytest.mark.parametrize("method", ["ml", "eb"])
def test_intervals_evidence_and_bms_files(folders, method):
    folder, models = folders[method]
    intervals = pd.read_csv(folder / "parameter_intervals.csv")
    assert intervals.columns.tolist() == ["model", "participant_id", "group", "parameter",
                                          "estimate", "lower", "upper", "status", "level"]
    assert (intervals["level"] == 0.95).all()   # no calibrated levels here
    pd.testing.assert_frame_equal(intervals, report.parameter_intervals(models),
                                  check_dtype=False)
    for name, estimator in models.items():
        part = intervals[intervals["model"] == name].set_index(["participant_id", "parameter"])
        expected = estimator.params_ci_
        np.testing.assert_allclose(part["estimate"], expected["estimate"])
        np.testing.assert_allclose(part["lower"], expected["lower"])
        np.testing.assert_allclose(part["upper"], expected["upper"])
        assert part["status"].tolist() == expected["status"].tolist()
        assert (part["group"] == part.index.get_level_values(0).map(GROUP_OF)).all()

    evidence = pd.read_csv(folder / "model_evidence.csv")
    assert evidence.columns.tolist() == ["participant_id", "group", *NAMES, "evidence"]
    assert set(evidence["evidence"]) == {"-BIC/2" if method == "ml" else "Laplace"}
    table = log_evidence_table(models)
    np.testing.assert_allclose(evidence[list(NAMES)], table[list(NAMES)])
    for name, estimator in models.items():
        expected = -0.5 * estimator.bic_ if method == "ml" else estimator.log_evidence_
        np.testing.assert_allclose(evidence.set_index("participant_id")[name],
                                   expected.loc[evidence["participant_id"]])

    bms = pd.read_csv(folder / "bms_results.csv")
    assert bms.columns.tolist() == ["model", "alpha", "expected_frequency", "frequency_lower",
                                    "frequency_upper", "exceedance_probability",
                                    "protected_exceedance_probability", "bor",
                                    "n_participants", "evidence"]
    expected = random_effects_bms(table)
    np.testing.assert_allclose(bms.set_index("model")[BMS_COLUMNS],
                               expected[BMS_COLUMNS].to_numpy())
    assert bms["bor"].unique() == pytest.approx(expected.attrs["bor"])
    alpha = expected["alpha"].to_numpy()
    np.testing.assert_allclose(bms["frequency_lower"],
                               sps.beta.ppf(0.025, alpha, alpha.sum() - alpha))
    np.testing.assert_allclose(bms["frequency_upper"],
                               sps.beta.ppf(0.975, alpha, alpha.sum() - alpha))
    assert (bms["n_participants"] == len(GROUP_OF)).all()

    summary = json.loads((folder / "summary_FIT.json").read_text())
    assert summary["method"] == method
    winner = expected["protected_exceedance_probability"].idxmax()
    assert summary["bms"]["winner"] == winner
    assert summary["bms"]["bor"] == pytest.approx(expected.attrs["bor"])
    for name, estimator in models.items():
        entry = summary["per_model"][name]
        counts = estimator.params_ci_["status"].value_counts()
        assert entry["interval_status"] == {s: int(counts.get(s, 0))
                                            for s in report.INTERVAL_STATUSES}
        if method == "ml":
            assert entry["n_unconfirmed_optima"] == int((estimator.optimum_hits_ < 2).sum())
            assert entry["mean_bic"] == pytest.approx(estimator.bic_.mean())
        else:
            assert entry["ibic"] == pytest.approx(estimator.ibic_)
            assert entry["em_iterations"] == estimator.n_iter_
            assert entry["em_converged"] == estimator.converged_
            assert entry["mean_laplace"] == pytest.approx(-2 * estimator.log_evidence_.mean())
            assert "mean_bic" not in entry and "mean_aic" not in entry


def test_eb_population_ibic_and_em_history(folders):
    folder, models = folders["eb"]
    population = pd.read_csv(folder / "population_parameters.csv")
    assert population.columns.tolist() == ["model", "prior", "group", "parameter", "median",
                                           "lower", "upper", "mean_z", "sd_z"]
    for name, estimator in models.items():
        part = population[population["model"] == name].set_index("parameter")
        pd.testing.assert_frame_equal(part[estimator.group_params_.columns],
                                      estimator.group_params_, check_names=False)
    ibic = pd.read_csv(folder / "ibic.csv").set_index("model")
    for name, estimator in models.items():
        assert ibic.loc[name, "ibic"] == pytest.approx(estimator.ibic_)
        assert ibic.loc[name, "n_iter"] == estimator.n_iter_
    best = min(models, key=lambda n: models[n].ibic_)
    assert ibic["best"].to_dict() == {n: n == best for n in NAMES}
    summary = json.loads((folder / "summary_FIT.json").read_text())
    assert summary["best_model"]["iBIC"] == best
    assert set(summary["best_model"]) == {"Laplace", "iBIC"}
    history = pd.read_csv(folder / "em_history.csv")
    for name, estimator in models.items():
        part = history[history["model"] == name]
        np.testing.assert_allclose(part["sum_nll"], estimator.history_["sum_nll"])
        assert len(part) == estimator.n_iter_


def test_one_eb_model_writes_no_bms(tmp_path, data, eb_models):
    single = {NAMES[0]: eb_models[NAMES[0]]}
    out = report.write_fit_report(tmp_path / "one", single, *data, random_state=0)
    assert not (out / "bms_results.csv").exists()
    assert not (out / "BMS_model_comparison.png").exists()
    assert "at least 2 models" in readme_rows(out)["bms_results.csv"]
    assert json.loads((out / "summary_FIT.json").read_text())["bms"] is None


def test_mixing_methods_is_refused(tmp_path, data, eb_models, ml_models):
    mixed = {"Q": eb_models[NAMES[0]], "R": ml_models[NAMES[1]]}
    with pytest.raises(ValueError, match="the same way"):
        report.write_fit_report(tmp_path / "mixed", mixed, *data)
    assert not (tmp_path / "mixed").exists()
    with pytest.raises(ValueError, match="no BIC"):
        report.group_criteria(eb_models, "bic")
    with pytest.raises(ValueError, match="no Laplace"):
        report.group_criteria(ml_models, "laplace")


# -------------------------------------------------------------------- figures
def test_bms_figure_draws_the_table(eb_models):
    bms = report.bms_results(eb_models)
    with plotting.headless():
        figure = plotting.plot_bms(bms)
    frequencies, probabilities = figure.axes
    (bars,) = [c for c in frequencies.containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose([p.get_height() for p in bars], bms["expected_frequency"])
    assert all(p.get_y() == 0 for p in bars)  # bars from zero
    (errors,) = [c for c in frequencies.containers if isinstance(c, ErrorbarContainer)]
    segments = errors.lines[2][0].get_segments()
    np.testing.assert_allclose([s[0][1] for s in segments], bms["frequency_lower"])
    np.testing.assert_allclose([s[1][1] for s in segments], bms["frequency_upper"])
    (bars,) = [c for c in probabilities.containers if isinstance(c, BarContainer)]
    np.testing.assert_allclose([p.get_height() for p in bars],
                               bms["protected_exceedance_probability"])
    title = figure._suptitle.get_text()
    assert f"n = {len(GROUP_OF)} participants" in title
    assert f"BOR = {bms['bor'].iloc[0]:.3f}" in title
    assert "Laplace" in title


@pytest.mark.parametrize("method", ["ml", "eb"])
def test_parameter_figure_draws_each_participants_interval(method, eb_models, ml_models):
    estimator = (eb_models if method == "eb" else ml_models)["Relative+novel"]
    parameter = "factual_lr"  # on a log axis in the figure, natural units
    intervals = estimator.params_ci_.xs(parameter, level="parameter")
    participant = intervals.index[intervals["status"] == "interior"][2]
    estimate, lower, upper = intervals.loc[participant, ["estimate", "lower", "upper"]]
    with plotting.headless():
        figure = plotting.plot_parameter_fits(estimator)
    ax = figure.axes[estimator.parameter_names.index(parameter)]
    assert ax.get_yscale() == "log"
    (points,) = [c for c in ax.collections
                 if isinstance(c, PathCollection) and c.get_gid() == "participants"]
    offsets = points.get_offsets()
    (row,) = np.flatnonzero(np.isclose(offsets[:, 1], estimate))
    x = offsets[row, 0]
    segments = [s for c in ax.collections if isinstance(c, LineCollection)
                for s in c.get_segments() if np.isclose(s[0][0], x)]
    assert len(segments) == 1
    np.testing.assert_allclose(sorted(segments[0][:, 1]), [lower, upper])


def test_parameter_figure_marks_estimates_without_interval(ml_models):
    estimator = ml_models["Relative+novel"]
    status = estimator.params_ci_["status"]
    assert (status != "interior").any()  # contextual_lr sits on its bound for some
    with plotting.headless():
        figure = plotting.plot_parameter_fits(estimator)
    for ax, parameter in zip(figure.axes, estimator.parameter_names):
        of_parameter = status.xs(parameter, level="parameter")
        drawn = {c.get_gid(): len(c.get_offsets()) for c in ax.collections
                 if isinstance(c, PathCollection)}
        # filled = interior; open red = on a bound; open orange = not identified
        assert drawn.get("participants", 0) == (of_parameter == "interior").sum()
        assert drawn.get("at_bound", 0) == of_parameter.str.startswith("at ").sum()
        assert drawn.get("not_identified", 0) == (of_parameter == "not identified").sum()
    labels = [t.get_text() for t in figure.legends[0].get_texts()]
    assert "participant on a bound" in labels
