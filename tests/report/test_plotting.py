"""Figures (avoidrl.plotting): each returns a Figure with the expected axes."""

import warnings

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib import pyplot as plt  # noqa: E402
from matplotlib.collections import LineCollection, PathCollection  # noqa: E402
from matplotlib.container import BarContainer  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Rectangle  # noqa: E402
from scipy import stats as sps  # noqa: E402

import avoidrl  # noqa: E402
from avoidrl import plotting, report, stats  # noqa: E402
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


def _gid_lines(ax, gid):
    """The Line2D objects of an axis with this gid (errorbar data lines, bounds)."""
    return [line for line in ax.lines if line.get_gid() == gid]


def _gid_points(ax, gid):
    """Offsets of the scatter collections of an axis with this gid."""
    offsets = [c.get_offsets() for c in ax.collections
               if isinstance(c, PathCollection) and c.get_gid() == gid]
    return np.concatenate(offsets) if offsets else np.empty((0, 2))


def _means(ax, gids=("mean", "best")):
    """(x, y) of the mean markers drawn by errorbar, sorted by x."""
    points = [np.c_[line.get_xdata(), line.get_ydata()] for gid in gids
              for line in _gid_lines(ax, gid)]
    points = np.concatenate(points).astype(float)
    return points[np.argsort(points[:, 0])]


def test_model_comparison(models):
    figure = plotting.plot_model_comparison(models, "bic")
    assert isinstance(figure, Figure)
    assert len(figure.axes) == 2
    points, differences = figure.axes
    # panel A: points with CIs, no bars (its axis does not start at zero)
    assert not points.patches
    best = report.group_criteria(models, "bic").loc["full", "best_model"]
    (best_line,) = _gid_lines(points, "best")
    assert best_line.get_xdata()[0] == NAMES.index(best)
    assert best_line.get_markerfacecolor() == "black"
    assert len(_means(points)) == len(NAMES)
    assert "n = 6 participants" in points.get_title(loc="left")
    # panel B: bars from zero
    assert len(differences.patches) == len(NAMES) - 1
    assert differences.get_ylim()[0] <= 0
    assert "BIC" in points.get_ylabel()


def test_model_comparison_with_one_model(models):
    figure = plotting.plot_model_comparison({"Q": models[NAMES[0]]}, "aic")
    assert len(figure.axes) == 2
    assert len(_gid_lines(figure.axes[0], "best")) == 1
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
    axes = {ax.get_title().split("\n")[0]: ax for ax in figure.axes}
    # log-transformed parameters on a log axis in natural units, the others linear
    assert axes["factual lr"].get_ylabel() == "factual_lr (log axis)"
    assert axes["factual lr"].get_yscale() == "log"
    assert axes["novel value"].get_ylabel() == "novel_value"
    assert axes["mixing factor"].get_yscale() == "linear"
    bounds = estimator.bounds_
    on_bound = report.parameters_at_bounds(estimator)
    for title, ax in axes.items():
        parameter = title.replace(" ", "_")
        # no bars; one mean marker per group; both bounds drawn and inside the axis
        assert not ax.patches
        assert len(_means(ax, ("mean",))) == 3
        drawn = sorted(line.get_ydata()[0] for line in _gid_lines(ax, "bound"))
        assert drawn == pytest.approx(sorted(bounds[parameter]))
        low, high = ax.get_ylim()
        assert low <= min(drawn) and max(drawn) <= high
        k = int((on_bound["parameter"] == parameter).sum())
        assert (f"{k} of 6 on a bound" if k else "none of 6 on a bound") in ax.get_title()
        assert len(_gid_points(ax, "at_bound")) == k


def test_parameter_fits_with_one_group():
    learning, transfer = _simulate({"x": "all", "y": "all"})
    estimator = avoidrl.make_model("QLearning+novel", n_starts=1).fit(learning, transfer)
    figure = plotting.plot_parameter_fits(estimator)
    assert len(figure.axes) == 4
    values = stats.transformed_parameters(estimator)
    for ax, parameter in zip(figure.axes, estimator.parameter_names):
        assert ax.get_title().split("\n")[0] == parameter.replace("_", " ")
        # one mean marker: the mean of the (transformed) values of both participants,
        # mapped back to natural units on a log axis (the geometric mean)
        mean = values[parameter].mean()
        if stats.is_log_transformed(parameter):
            mean = np.exp(mean)
        np.testing.assert_allclose(_means(ax, ("mean",))[:, 1], [mean])
        points = np.concatenate([_gid_points(ax, gid) for gid in
                                 ("participants", "at_bound", "not_identified")])
        np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(estimator.params_[parameter]))


def test_parameter_recovery(recoveries):
    parameter, _ = recoveries
    figure = plotting.plot_parameter_recovery(parameter)
    k = [len(r.true_params_.columns) for r in parameter]
    assert len(figure.axes) == sum(k)
    first = figure.axes[0]
    r = parameter[0].correlations_.iloc[0]
    assert f"r = {r:.2f}, n = {len(parameter[0].datasets_)}" in first.get_title()
    low, high = parameter[0].estimator._fit_settings()["bounds"]["factual_lr"]
    assert first.get_xlim()[0] < low and first.get_xlim()[1] > high
    # both bounds drawn on both axes; fits on a bound are marked apart
    assert len(_gid_lines(first, "bound")) == 4
    for ax, parameter_name in zip(figure.axes, parameter[0].true_params_.columns):
        low, high = parameter[0].estimator._fit_settings()["bounds"][parameter_name]
        fitted = parameter[0].fitted_params_[parameter_name].to_numpy()
        margin = 1e-6 * (high - low)
        on_bound = (fitted <= low + margin) | (fitted >= high - margin)
        assert len(_gid_points(ax, "at_bound")) == on_bound.sum()
        assert len(_gid_points(ax, "participants")) == (~on_bound).sum()
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
        # r = 1 .. the most starts any participant got (extra rounds may add starts)
        most = int(models[name].fits_.groupby("participant_id").size().max())
        assert part["starts"].tolist() == list(range(1, most + 1))
        np.testing.assert_array_equal(line.get_xdata(), part["starts"])
        np.testing.assert_allclose(line.get_ydata(), part["mean_best_nll"])
        assert line.get_ydata()[-1] == pytest.approx(models[name].nll_.mean())
        assert ax.get_title().startswith(name)


class _Params:
    def __init__(self, name, **columns):
        self.model_name = name
        self.params_ = pd.DataFrame(columns, index=list(GROUP_OF))
        self.bounds_ = avoidrl.make_model(name)._fit_settings()["bounds"]


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
    # natural units, contextual_lr on a log axis (r is of its log, as in the table)
    np.testing.assert_allclose(_gid_points(first, "participants"), np.c_[contextual, mixing])
    assert first.get_xscale() == "log" and first.get_yscale() == "linear"
    assert f"r = {table['r'].iloc[0]:.2f}" in first.get_title()
    assert f"n = {len(GROUP_OF)}" in first.get_title()
    assert "contextual_lr (log axis)" in first.get_xlabel()
    assert "Hybrid2021+novel" in first.get_ylabel()


def test_parameter_of_interest_comparisons_with_too_few(models):
    # QLearning+novel and Hybrid2012+novel: one parameter of interest (mixing_factor)
    figure = plotting.plot_parameter_of_interest_comparisons(models)
    assert len(figure.axes) == 1
    assert "Hybrid2012+novel: mixing_factor" in figure.axes[0].texts[0].get_text()


@pytest.fixture(scope="module")
def dynamics(data, models):
    return report.learning_dynamics(models, *data)


@pytest.mark.slow
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


# ------------------------------------------------- drawn values against the tables
# Groups of four participants with spread-out parameters, and two simulations each,
# so that a group's mean differs from its median: a figure must draw the means of
# the report tables.
SKEWED_GROUPS = {f"{g}{i}": name for g, name in (("a", "first"), ("b", "second"), ("c", "third"))
                 for i in range(4)}
DRAWN = ("QLearning+novel", "Relative+novel")


def _bars(ax):
    """Heights of the bars drawn with ax.bar, in drawing order."""
    return np.array([p.get_height() for c in ax.containers if isinstance(c, BarContainer)
                     for p in c])


def _line(ax, label):
    (line,) = [ln for ln in ax.lines if ln.get_label() == label]
    return np.asarray(line.get_ydata(), dtype=float)


def _group_means(table, keys, value, order):
    """Mean over participants of each participant's mean (over simulations)."""
    per_participant = table.groupby(["participant", *keys], sort=False)[value].mean()
    means = per_participant.groupby(level=list(range(1, len(keys) + 1))).mean()
    medians = per_participant.groupby(level=list(range(1, len(keys) + 1))).median()
    return means.reindex(order).to_numpy(), medians.reindex(order).to_numpy()


@pytest.fixture(scope="module")
def skewed():
    learning, transfer = _simulate(SKEWED_GROUPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        models = {name: avoidrl.make_model(name, n_starts=1, random_state=0).fit(learning,
                                                                                 transfer)
                  for name in DRAWN}
    accuracy, choice = report.posterior_predictive(models, learning, transfer, random_state=1,
                                                   n_simulations=2)
    dynamics = report.learning_dynamics(models, learning, transfer)
    return models, accuracy, choice, dynamics


def test_model_comparison_draws_the_table_means(skewed):
    models = skewed[0]
    figure = plotting.plot_model_comparison(models, "bic")
    points, differences = figure.axes
    full = report.group_criteria(models, "bic").loc["full", list(DRAWN)].astype(float)
    np.testing.assert_allclose(_means(points)[:, 1], full.to_numpy())
    # by hand: the mean over participants of each model's own-n BIC, with its t-CI
    np.testing.assert_allclose(_means(points)[:, 1], [models[n].bic_.mean() for n in DRAWN])
    segments = [segment for c in points.collections if isinstance(c, LineCollection)
                for segment in c.get_segments()]
    for i, name in enumerate(DRAWN):
        bic = models[name].bic_.to_numpy()
        half = sps.t.ppf(0.975, len(bic) - 1) * bic.std(ddof=1) / np.sqrt(len(bic))
        (segment,) = [seg for seg in segments if np.allclose(seg[:, 0], i)]
        np.testing.assert_allclose(sorted(segment[:, 1]), [bic.mean() - half, bic.mean() + half])
    table = report.criterion_differences(models, "bic")
    np.testing.assert_allclose(_bars(differences), table["mean"].to_numpy(float))
    best = full.idxmin()
    other = [n for n in DRAWN if n != best][0]
    by_hand = (models[other].bic_ - models[best].bic_.reindex(models[other].bic_.index)).mean()
    np.testing.assert_allclose(_bars(differences), [by_hand])


def test_model_behaviour_draws_the_table_means(skewed):
    _, accuracy, choice, _ = skewed
    stimuli = list(report.STIMULUS_TYPES)
    groups = list(pd.unique(accuracy["group"]))
    differs = False
    for model in DRAWN:
        figure = plotting.plot_model_behaviour(accuracy, choice, model)
        axes = np.asarray(figure.axes).reshape(2, len(groups))
        for column, group in enumerate(groups):
            sim = choice[(choice["model"] == model) & (choice["group"] == group)]
            means, medians = _group_means(sim, ["stimulus"], "choice_rate", stimuli)
            np.testing.assert_allclose(_bars(axes[1, column]), means, err_msg=group)
            differs |= not np.allclose(means, medians)
            data = choice[(choice["source"] == "empirical") & (choice["group"] == group)]
            data_means = data.groupby("stimulus")["choice_rate"].mean().reindex(stimuli)
            (diamonds,) = [ln for ln in axes[1, column].lines if ln.get_marker() == "D"]
            np.testing.assert_allclose(diamonds.get_ydata(), data_means.to_numpy())
            for context in report.CONTEXT_ORDER:
                part = accuracy[(accuracy["model"] == model) & (accuracy["group"] == group)
                                & (accuracy["context"] == context)]
                means, medians = _group_means(part, ["bin"], "accuracy", list(report.BINS))
                np.testing.assert_allclose(_line(axes[0, column], f"{context} (model)"),
                                           means, err_msg=f"{group}, {context}")
                differs |= not np.allclose(means, medians)
    assert differs  # the data tell means from medians


def test_model_simulations_draw_the_table_means(skewed):
    _, accuracy, choice, dynamics = skewed
    stimuli = list(report.STIMULUS_TYPES)
    differs = False
    for group in pd.unique(accuracy["group"]):
        figure = plotting.plot_model_simulations(accuracy, choice, dynamics, group)
        axes = np.asarray(figure.axes).reshape(4, len(DRAWN))
        for column, model in enumerate(DRAWN):
            sim = choice[(choice["model"] == model) & (choice["group"] == group)]
            means, medians = _group_means(sim, ["stimulus"], "choice_rate", stimuli)
            np.testing.assert_allclose(_bars(axes[3, column]), means)
            differs |= not np.allclose(means, medians)
            latent = dynamics[(dynamics["model"] == model) & (dynamics["group"] == group)]
            for context in report.CONTEXT_ORDER:
                part = accuracy[(accuracy["model"] == model) & (accuracy["group"] == group)
                                & (accuracy["context"] == context)]
                means, medians = _group_means(part, ["bin"], "accuracy", list(report.BINS))
                np.testing.assert_allclose(_line(axes[0, column], f"{context}: model"), means)
                differs |= not np.allclose(means, medians)
                rows = latent[latent["context"] == context]
                for row, (value, label) in ((1, ("pe", context)),
                                            *((2, (f"value{o}", plotting._OPTION_LABELS[k]))
                                              for o, k in enumerate(
                                                  plotting._OPTION_TYPES[context]))):
                    means, medians = _group_means(rows, ["trial"], value, list(range(1, 25)))
                    np.testing.assert_allclose(_line(axes[row, column], label), means,
                                               err_msg=f"{group}, {model}, {value}")
                    differs |= not np.allclose(means, medians)
    assert differs


def test_parameter_fits_draw_the_group_means(skewed):
    estimator = skewed[0]["Relative+novel"]
    figure = plotting.plot_parameter_fits(estimator)
    values = stats.transformed_parameters(estimator)
    groups = estimator.groups_.reindex(values.index)
    order = list(pd.unique(groups))
    differs = False
    for ax, parameter in zip(figure.axes, estimator.parameter_names):
        by_group = values[parameter].groupby(groups.to_numpy(), sort=False)
        means = by_group.mean().reindex(order).to_numpy()
        drawn = _means(ax, ("mean",))[:, 1]
        if stats.is_log_transformed(parameter):
            drawn = np.log(drawn)  # a log axis: the marker is exp(mean of log x)
        np.testing.assert_allclose(drawn, means, err_msg=parameter)
        differs |= not np.allclose(means, by_group.median().reindex(order).to_numpy())
        # by hand for the logged learning rates: the geometric mean by group
        if parameter == "factual_lr":
            raw = estimator.params_[parameter]
            np.testing.assert_allclose(_means(ax, ("mean",))[:, 1],
                                       [np.exp(np.log(raw[groups == g]).mean()) for g in order])
    assert differs


def test_model_recovery_heatmaps_show_the_matrices(recoveries):
    _, model = recoveries
    figure = plotting.plot_model_recovery(model, normalized=True)
    n_datasets = model.fits_.groupby("generating_model")["dataset"].nunique()
    for ax, matrix in zip(figure.axes, (model.confusion_, model.inversion_,
                                        model.normalized_bic_)):
        (image,) = ax.images
        # rows = generating models, labelled with their number of datasets
        labels = [t.get_text() for t in ax.get_yticklabels()]
        order = [label.split("\n")[0] for label in labels]
        assert labels == [f"{m}\n(n = {n_datasets[m]})" for m in order]
        assert ax.get_ylabel() == "generating model" and ax.get_xlabel() == "fitting model"
        columns = [t.get_text() for t in ax.get_xticklabels()]
        np.testing.assert_allclose(np.ma.filled(image.get_array().astype(float), np.nan),
                                   matrix.reindex(index=order, columns=columns).to_numpy(float))
    # the third panel's numbers: each fitting model's mean BIC minus the row's best
    texts = [float(t.get_text()) for t in figure.axes[2].texts]
    difference = model.bic_.sub(model.bic_.min(axis=1), axis=0)
    np.testing.assert_allclose(texts, difference.to_numpy(float).ravel(), atol=0.05)
