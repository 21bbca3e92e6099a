"""Figures (avoidrl.plotting): each returns a Figure with the expected axes."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402

import avoidrl  # noqa: E402
from avoidrl import plotting, report  # noqa: E402
from avoidrl.recovery import ModelRecovery, ParameterRecovery  # noqa: E402

NAMES = ("QLearning+novel", "Hybrid2012+novel")
GROUP_OF = {"a1": "first", "a2": "first", "b1": "second group", "b2": "second group",
            "c1": "third", "c2": "third"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _simulate(groups):
    model = avoidrl.make_model("QLearning+novel")
    ids = list(groups)
    rng = np.random.default_rng(0)
    params = pd.DataFrame({"factual_lr": rng.uniform(0.2, 0.8, len(ids)),
                           "counterfactual_lr": rng.uniform(0.1, 0.5, len(ids)),
                           "temperature": rng.uniform(0.05, 0.2, len(ids)),
                           "novel_value": rng.uniform(-0.5, 0.5, len(ids))},
                          index=pd.Index(ids, name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=0)
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(groups)
    return learning, transfer


@pytest.fixture(scope="module")
def data():
    return _simulate(GROUP_OF)


@pytest.fixture(scope="module")
def models(data):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: avoidrl.make_model(name, n_starts=2, random_state=0).fit(*data)
                for name in NAMES}


@pytest.fixture(scope="module")
def behaviour(data, models):
    return report.posterior_predictive(models, *data, random_state=0)


@pytest.fixture(scope="module")
def recoveries():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parameter = [ParameterRecovery(avoidrl.make_model(name, n_starts=1), n_datasets=4,
                                       random_state=0).fit()
                     for name in ("QLearning+novel", "Relative+novel")]
        model = ModelRecovery([avoidrl.make_model(n, n_starts=1)
                               for n in ("QLearning+novel", "Relative+novel")],
                              n_datasets=3, random_state=0).fit()
    return parameter, model


def test_model_comparison(models):
    figure = plotting.plot_model_comparison(models, "bic")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2
    bars, differences = figure.axes
    assert len(bars.patches) == len(NAMES)
    best = report.group_criteria(models, "bic").loc["full", "best_model"]
    widths = [p.get_linewidth() for p in bars.patches]
    assert widths[NAMES.index(best)] == max(widths) > min(widths)
    assert len(differences.patches) == len(NAMES) - 1
    assert "BIC" in bars.get_ylabel()


def test_model_comparison_with_one_model(models):
    figure = plotting.plot_model_comparison({"Q": models[NAMES[0]]}, "aic")
    assert len(figure.axes) == 2
    assert len(figure.axes[0].patches) == 1
    assert "one model" in figure.axes[1].texts[0].get_text()


def test_model_behaviour(behaviour):
    accuracy, choice = behaviour
    figure = plotting.plot_model_behaviour(accuracy, choice, NAMES[0])
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2 * 3  # two rows, one column per group
    titles = [ax.get_title() for ax in figure.axes]
    assert any(t.startswith("second group") for t in titles)
    assert len(figure.axes[0].lines) >= 2  # one model line per context
    with pytest.raises(ValueError, match="not in the tables"):
        plotting.plot_model_behaviour(accuracy, choice, "Advantage+novel")


def test_parameter_fits(models):
    estimator = models["Hybrid2012+novel"]
    figure = plotting.plot_parameter_fits(estimator)
    assert len(figure.axes) == estimator.n_parameters
    labels = {ax.get_title(): ax.get_ylabel() for ax in figure.axes}
    assert labels["factual lr"] == "log(factual_lr)"
    assert labels["novel value"] == "novel_value"
    assert labels["mixing factor"] == "mixing_factor"
    # one bar per group on each axis
    assert all(len(ax.patches) == 3 for ax in figure.axes)


def test_parameter_fits_with_one_group():
    learning, transfer = _simulate({"x": "all", "y": "all"})
    estimator = avoidrl.make_model("QLearning+novel", n_starts=1).fit(learning, transfer)
    figure = plotting.plot_parameter_fits(estimator)
    assert len(figure.axes) == 4


def test_parameter_recovery(recoveries):
    parameter, _ = recoveries
    figure = plotting.plot_parameter_recovery(parameter)
    k = [len(r.true_params_.columns) for r in parameter]
    assert len(figure.axes) == sum(k)
    first = figure.axes[0]
    r = parameter[0].correlations_.iloc[0]
    assert f"r = {r:.2f}" in first.get_title()
    low, high = parameter[0].estimator._fit_settings()["bounds"]["factual_lr"]
    assert first.get_xlim()[0] < low and first.get_xlim()[1] > high
    assert len(plotting.plot_parameter_recovery(parameter[0]).axes) == k[0]


def test_model_recovery(recoveries):
    _, model = recoveries
    figure = plotting.plot_model_recovery(model)
    assert len(figure.axes) == 2
    # every column of the confusion matrix has at least one boxed cell
    boxes = [p for p in figure.axes[0].patches if isinstance(p, Rectangle)]
    assert len(boxes) >= 2
    assert len(plotting.plot_model_recovery(model, normalized=True).axes) == 3


def test_headless_figures_bypass_pyplot(models):
    before = plt.get_fignums()
    with plotting.headless():
        figure = plotting.plot_model_comparison(models)
    assert plt.get_fignums() == before
    assert figure.canvas.__class__.__name__ == "FigureCanvasAgg"


# ------------------------------------------------------------ fit diagnostics
def test_fit_distributions(models):
    figure = plotting.plot_fit_distributions(models)
    assert len(figure.axes) == len(NAMES)
    summary = report.criterion_distributions(models)
    for ax, name in zip(figure.axes, NAMES):
        title = ax.get_title()
        assert title.startswith(name)
        assert f"skewness {summary.loc[name, 'skewness']:.2f}" in title
        assert f"kurtosis {summary.loc[name, 'kurtosis']:.2f}" in title
        # a density histogram (area 1) of the participants' own-n BIC, and a normal curve
        area = sum(p.get_height() * p.get_width() for p in ax.patches)
        assert area == pytest.approx(1.0)
        low = min(p.get_x() for p in ax.patches)
        high = max(p.get_x() + p.get_width() for p in ax.patches)
        bic = models[name].bic_
        assert low == pytest.approx(bic.min()) and high == pytest.approx(bic.max())
        curve = ax.lines[0]
        peak = 1 / (summary.loc[name, "sd"] * np.sqrt(2 * np.pi))
        assert curve.get_ydata().max() == pytest.approx(peak, rel=1e-3)
    aic = plotting.plot_fit_distributions({"Q": models[NAMES[0]]}, "aic")
    assert len(aic.axes) == 1 and "AIC" in aic.axes[0].get_xlabel()


def test_fit_by_starts(models):
    figure = plotting.plot_fit_by_starts(models)
    assert len(figure.axes) == len(NAMES)
    table = report.fit_by_starts(models)
    for ax, name in zip(figure.axes, NAMES):
        line = ax.lines[0]
        part = table[table["model"] == name]
        np.testing.assert_array_equal(line.get_xdata(), [1, 2])
        np.testing.assert_allclose(line.get_ydata(), part["mean_best_nll"])
        assert line.get_ydata()[-1] == pytest.approx(models[name].nll_.mean())
        assert ax.get_title().startswith(name)


class _Params:
    def __init__(self, name, **columns):
        self.model_name = name
        self.params_ = pd.DataFrame(columns, index=list(GROUP_OF))


def test_parameter_of_interest_comparisons():
    rng = np.random.default_rng(1)
    contextual, mixing, weighting = (rng.uniform(0.05, 0.95, len(GROUP_OF)) for _ in range(3))
    models = {"Relative+novel": _Params("Relative+novel", contextual_lr=contextual),
              "Hybrid2021+novel": _Params("Hybrid2021+novel", mixing_factor=mixing),
              "Advantage+novel": _Params("Advantage+novel", weighting_factor=weighting)}
    figure = plotting.plot_parameter_of_interest_comparisons(models)
    assert len(figure.axes) == 3
    table = report.parameter_of_interest_correlations(models)
    first = figure.axes[0]
    np.testing.assert_allclose(first.collections[0].get_offsets(),
                               np.c_[np.log(contextual), mixing])
    assert f"r = {table['r'].iloc[0]:.2f}" in first.get_title()
    assert "log(contextual_lr)" in first.get_xlabel()
    assert "Hybrid2021+novel" in first.get_ylabel()


def test_parameter_of_interest_comparisons_with_too_few(models):
    # QLearning+novel and Hybrid2012+novel: one parameter of interest (mixing_factor)
    figure = plotting.plot_parameter_of_interest_comparisons(models)
    assert len(figure.axes) == 1
    assert "Hybrid2012+novel: mixing_factor" in figure.axes[0].texts[0].get_text()


@pytest.fixture(scope="module")
def dynamics(data, models):
    return report.learning_dynamics(models, *data)


def test_model_simulations(behaviour, dynamics):
    accuracy, choice = behaviour
    for group in GROUP_OF.values():
        figure = plotting.plot_model_simulations(accuracy, choice, dynamics, group)
        assert isinstance(figure, Figure)
        assert len(figure.axes) == 4 * len(NAMES)  # 4 rows x one column per model
        assert figure.get_suptitle().startswith(f"{group}: model simulations (n = 2 ")
    axes = np.asarray(figure.axes).reshape(4, len(NAMES))
    assert [ax.get_title().split("\n")[0] for ax in axes[0]] == list(NAMES)
    assert "r - V" in axes[1, 1].get_title()  # the hybrid's critic error
    assert "(1 - m) W + m Q" in axes[2, 1].get_title()
    # row 2, first line: the group's mean prediction error in the Reward context
    part = dynamics[(dynamics["model"] == NAMES[0]) & (dynamics["group"] == "third")
                    & (dynamics["context"] == "Reward")]
    np.testing.assert_allclose(axes[1, 0].lines[0].get_ydata(),
                               part.groupby("trial")["pe"].mean().to_numpy())
    # row 3: option 0 and 1 of both contexts; row 4: five bars per model
    assert len([line for line in axes[2, 0].lines if line.get_label().startswith(
        ("HR", "LR", "LP", "HP"))]) == 4
    assert len(axes[3, 0].patches) == 5
    assert [t.get_text() for t in axes[3, 0].get_xticklabels()] == list(report.STIMULUS_TYPES)
    # every row has a legend (on the last column)
    assert all(ax.get_legend() is not None for ax in axes[:, -1])
    with pytest.raises(ValueError, match="not in the tables"):
        plotting.plot_model_simulations(accuracy, choice, dynamics, "fourth")


def test_model_simulations_with_one_model_and_one_group(behaviour, dynamics):
    accuracy, choice = behaviour
    keep = ["empirical", NAMES[1]]
    one_acc = accuracy[accuracy["model"].isin(keep) & (accuracy["group"] == "first")]
    one_choice = choice[choice["model"].isin(keep) & (choice["group"] == "first")]
    one = dynamics[(dynamics["model"] == NAMES[1]) & (dynamics["group"] == "first")]
    figure = plotting.plot_model_simulations(one_acc, one_choice, one, "first")
    assert len(figure.axes) == 4
    assert figure.axes[0].get_title().startswith(NAMES[1])
    with pytest.raises(ValueError, match="no simulations"):
        plotting.plot_model_simulations(one_acc, one_choice, dynamics, "first")
