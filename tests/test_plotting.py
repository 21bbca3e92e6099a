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
