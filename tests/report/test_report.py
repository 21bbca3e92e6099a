"""Report tables and output folders (avoidrl.report): contents, id matching, safety."""

import copy
import json
import os
import pickle
import warnings
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from scipy import stats as sps  # noqa: E402

import avoidrl  # noqa: E402
from avoidrl import _tables, plotting, report  # noqa: E402
from avoidrl.report import _write as _output  # noqa: E402
from avoidrl.recovery import ModelRecovery, ParameterRecovery  # noqa: E402


# --------------------------------------------------------------- hand-made models
@dataclass
class FakeModel:
    """Just the fitted attributes the report tables read."""

    model_name: str
    params_: pd.DataFrame
    nll_: pd.Series
    groups_: pd.Series
    n_trials_: pd.Series
    n_parameters: int

    @property
    def aic_(self):
        return 2 * self.n_parameters + 2 * self.nll_

    @property
    def bic_(self):
        return self.n_parameters * np.log(self.n_trials_) + 2 * self.nll_


def fake(name, nll, groups, k=1, order=None, params=None):
    ids = list(nll)
    frame = pd.DataFrame(params if params is not None else {"a": np.arange(len(ids), dtype=float)},
                         index=pd.Index(ids, name="participant_id"))
    model = FakeModel(name, frame, pd.Series(nll, dtype=float), pd.Series(groups),
                      pd.Series(100, index=ids), k)
    if order is not None:  # the same fit, participants listed in another order
        model.params_ = model.params_.loc[order]
        model.nll_ = model.nll_.loc[order]
        model.groups_ = model.groups_.loc[order]
        model.n_trials_ = model.n_trials_.loc[order]
    return model


GROUPS = {"p1": "ctl", "p2": "ctl", "p3": "pat", "p4": "pat"}
# k = 1 and equal n, so the ranking of NLL is the ranking of AIC and BIC.
NLL_A = {"p1": 10.0, "p2": 20.0, "p3": 30.0, "p4": 40.0}
NLL_B = {"p1": 12.0, "p2": 15.0, "p3": 35.0, "p4": 45.0}
# best per participant: p1 A, p2 B, p3 A, p4 A -> ctl 50/50, pat 100/0, full 75/25


def test_group_criteria_by_hand():
    models = {"A": fake("A", NLL_A, GROUPS), "B": fake("B", NLL_B, GROUPS)}
    table = report.group_criteria(models, "aic")
    assert table.index.tolist() == ["ctl", "pat", "full"]
    assert table.columns.tolist() == ["A", "B", "best_model"]
    # AIC = 2k + 2 NLL with k = 1
    assert table.loc["ctl", "A"] == pytest.approx(2 + 2 * 15.0)
    assert table.loc["pat", "B"] == pytest.approx(2 + 2 * 40.0)
    assert table.loc["full", "A"] == pytest.approx(2 + 2 * 25.0)
    assert table.loc["full", "B"] == pytest.approx(2 + 2 * 26.75)
    assert table["best_model"].tolist() == ["B", "A", "A"]
    bic = report.group_criteria(models, "BIC")
    assert bic.loc["full", "A"] == pytest.approx(np.log(100) + 2 * 25.0)


def test_best_fit_percentages_match_participants_by_id():
    a = fake("A", NLL_A, GROUPS)
    b = fake("B", NLL_B, GROUPS)
    expected = pd.DataFrame({"A": [50.0, 100.0, 75.0], "B": [50.0, 0.0, 25.0]},
                            index=pd.Index(["ctl", "pat", "full"], name="group"))
    table = report.group_best_fit_percentages({"A": a, "B": b}, "bic")
    pd.testing.assert_frame_equal(table, expected)
    # Q18: the same fits with B's participants listed in reverse order must not change
    # the answer (comparing by position would give A 50 %, B 50 % overall).
    shuffled = fake("B", NLL_B, GROUPS, order=["p4", "p3", "p2", "p1"])
    positional = np.argmin(np.c_[a.bic_.to_numpy(), shuffled.bic_.to_numpy()], axis=1)
    assert positional.tolist() != [0, 1, 0, 0]
    pd.testing.assert_frame_equal(
        report.group_best_fit_percentages({"A": a, "B": shuffled}, "bic"), expected)
    pd.testing.assert_frame_equal(
        report.group_criteria({"A": a, "B": shuffled}), report.group_criteria({"A": a, "B": b}))


def test_criterion_differences_by_hand():
    models = {"A": fake("A", NLL_A, GROUPS), "B": fake("B", NLL_B, GROUPS, order=["p3", "p1",
                                                                                  "p4", "p2"])}
    table = report.criterion_differences(models, "aic")
    assert table["model"].tolist() == ["B"]
    assert table.loc[0, "best_model"] == "A"
    difference = 2 * np.array([2.0, -5.0, 5.0, 5.0])
    assert table.loc[0, "mean"] == pytest.approx(difference.mean())
    assert table.loc[0, "sd"] == pytest.approx(difference.std(ddof=1))
    assert table.loc[0, "n"] == 4
    assert table.loc[0, "ci"] == pytest.approx(
        sps.t.ppf(0.975, 3) * difference.std(ddof=1) / 2)


def test_tables_work_with_one_model_and_one_group():
    only = fake("A", NLL_A, {p: "everyone" for p in NLL_A})
    criteria = report.group_criteria(only)
    assert criteria.index.tolist() == ["everyone", "full"]
    assert criteria["best_model"].tolist() == ["A", "A"]
    assert report.group_best_fit_percentages([only]).loc["full", "A"] == 100.0
    differences = report.criterion_differences({"A": only})
    assert differences.empty
    assert differences.columns.tolist() == ["model", "best_model", "mean", "sd", "n", "ci"]


def test_different_participants_are_refused():
    a = fake("A", NLL_A, GROUPS)
    b = fake("B", {"p1": 1.0, "p2": 2.0, "p3": 3.0, "p9": 4.0},
             {"p1": "ctl", "p2": "ctl", "p3": "pat", "p9": "pat"})
    with pytest.raises(ValueError, match="different participants"):
        report.group_criteria({"A": a, "B": b})


def test_parameter_descriptives_by_hand():
    params = {"factual_lr": [0.1, 0.3, 0.5, 0.9], "temperature": [0.2, 0.2, 0.4, 0.8]}
    model = fake("QLearning+novel", NLL_A, GROUPS, params=params)
    model.bounds_ = {"factual_lr": (0.1, 0.9), "temperature": (0.01, 1.0)}
    table = report.parameter_descriptives({"QLearning+novel": model})
    assert table.columns.tolist() == ["model", "parameter", "ctl", "pat", "n", "n_at_lower",
                                      "n_at_upper"]
    # the full model name, as in every other table
    assert table["model"].tolist() == ["QLearning+novel", "QLearning+novel"]
    row = table.set_index("parameter").loc["factual_lr"]
    # 4 significant digits: sd of (0.1, 0.3) = 0.141421...
    assert row["ctl"] == "0.2 (0.1414)"
    assert row["pat"] == "0.7 (0.2828)"
    # 0.1 sits on the lower bound and 0.9 on the upper one
    assert (row["n"], row["n_at_lower"], row["n_at_upper"]) == (4, 1, 1)
    assert table.set_index("parameter").loc["temperature", "n_at_lower"] == 0


def test_information_criteria_long_table():
    table = report.information_criteria({"A": fake("A", NLL_A, GROUPS, k=2)})
    assert table.columns.tolist() == ["participant", "group", "model", "nll", "aic", "bic",
                                      "k", "n_trials", "n_missed"]
    row = table.set_index("participant").loc["p3"]
    assert (row["group"], row["model"], row["k"], row["n_trials"]) == ("pat", "A", 2, 100)
    assert row["aic"] == pytest.approx(4 + 60.0)
    assert row["bic"] == pytest.approx(2 * np.log(100) + 60.0)


# ---------------------------------------------------------- fit diagnostics by hand
class Fitted:
    """Any attributes the diagnostics read (params_, fits_, bounds_, ...)."""

    def __init__(self, name, **attributes):
        self.model_name = name
        self.__dict__.update(attributes)


def starts_table(nll):
    """A fits_ table from {participant: [nll of start 0, 1, ...]}."""
    rows = [{"participant_id": p, "start": s, "nll": v}
            for p, values in nll.items() for s, v in enumerate(values)]
    return pd.DataFrame(rows)


def test_fit_by_starts_by_hand():
    nll = {"p1": [5.0, 3.0, 4.0], "p2": [2.0, 2.005, 1.0]}
    model = Fitted("M", params_=pd.DataFrame({"a": [0, 0]}, index=list(nll)),
                   fits_=starts_table(nll))
    table = report.fit_by_starts({"M": model})
    assert table.columns.tolist() == ["model", "starts", "mean_best_nll", "n_participants",
                                      "share_at_best"]
    assert table["starts"].tolist() == [1, 2, 3]
    # best of the first r starts, averaged: r=1 (5+2)/2, r=2 (3+2)/2, r=3 (3+1)/2
    np.testing.assert_allclose(table["mean_best_nll"], [3.5, 2.5, 2.0])
    # within 0.01 of the participant's best (p1: 3, p2: 1)
    np.testing.assert_allclose(table["share_at_best"], [0.0, 0.5, 1.0])
    assert (table["n_participants"] == 2).all()
    # starts listed out of order give the same answer; a NaN start never counts as best
    shuffled = starts_table({"p2": [2.0, 2.005, 1.0], "p1": [5.0, 3.0, 4.0]}).iloc[::-1]
    model.fits_ = shuffled
    pd.testing.assert_frame_equal(report.fit_by_starts({"M": model}), table)
    model.fits_ = starts_table({"p1": [np.nan, 3.0], "p2": [2.0, 1.0]})
    table = report.fit_by_starts({"M": model})
    assert np.isnan(table["mean_best_nll"].iloc[0])
    assert table["mean_best_nll"].iloc[1] == pytest.approx(2.0)


def test_fit_by_starts_with_unequal_numbers_of_starts():
    # extra rounds of starts for some participants: p1 has 4 starts, p2 two, p3 one
    nll = {"p1": [5.0, 4.0, 4.0, 3.0], "p2": [2.0, 1.0], "p3": [7.0]}
    model = Fitted("M", params_=pd.DataFrame({"a": [0, 0, 0]}, index=list(nll)),
                   fits_=starts_table(nll).iloc[::-1])
    table = report.fit_by_starts({"M": model})
    assert table["starts"].tolist() == [1, 2, 3, 4]
    # r=1 (5+2+7)/3, r=2 (4+1+7)/3, r=3 the same, r=4 (3+1+7)/3
    np.testing.assert_allclose(table["mean_best_nll"], [14 / 3, 12 / 3, 12 / 3, 11 / 3])
    np.testing.assert_allclose(table["share_at_best"], [1 / 3, 2 / 3, 2 / 3, 1.0])
    fit_data, full_fit_data = report.fit_tables(
        Fitted("M", params_=model.params_, parameter_names=["a"], fits_=starts_table(nll).assign(
            group_code="g", a=0.0, best=lambda f: f["nll"] == f.groupby(
                "participant_id")["nll"].transform("min"))))
    assert fit_data["M"]["participant"].tolist() == ["p1", "p2", "p3"]
    assert fit_data["M"]["fit"].tolist() == [3.0, 1.0, 7.0]
    assert len(full_fit_data["M"]) == 7


BOUNDS = {"a": (0.0, 1.0), "b": (-1.0, 1.0), "c": (0.01, 0.99)}


def bound_model(name, params):
    frame = pd.DataFrame(params, index=pd.Index(["p1", "p2", "p3"], name="participant_id"))
    return Fitted(name, params_=frame, bounds_=BOUNDS, n_parameters=frame.shape[1],
                  groups_=pd.Series({"p1": "no pain", "p2": "acute pain", "p3": "chronic pain"}))


def test_parameters_at_bounds_by_hand():
    model = bound_model("M", {"a": [0.0, 1 - 1e-9, 0.5], "b": [1.0, 0.5, -1 + 1e-3],
                              "c": [0.01, 0.5, 0.3]})
    table = report.parameters_at_bounds(model)
    assert table.columns.tolist() == ["model", "participant", "group", "parameter", "value",
                                      "lower", "upper", "bound"]
    got = list(zip(table["participant"], table["parameter"], table["bound"]))
    # 1 - 1e-9 is within 1e-6 x range of 1; -1 + 1e-3 is not on the bound
    assert got == [("p1", "a", "lower"), ("p1", "b", "upper"), ("p1", "c", "lower"),
                   ("p2", "a", "upper")]
    assert table["group"].tolist() == ["no pain"] * 3 + ["acute pain"]
    wider = report.parameters_at_bounds(model, tol=1e-3)
    assert ("p3", "b", "lower") in set(zip(wider["participant"], wider["parameter"],
                                           wider["bound"]))
    with pytest.raises(ValueError, match="tol"):
        report.parameters_at_bounds(model, tol=-1)


def _rates_by_hand(learning, transfer, participant):
    rows = learning[learning["participant_id"] == participant]
    better = [(c == 0) == (l > r) for c, l, r in
              zip(rows["choice_made"], rows["symbol_L_value"], rows["symbol_R_value"])]
    probe = transfer[transfer["participant_id"] == participant]
    chosen = [l if c == 0 else r for c, l, r in
              zip(probe["choice_made"], probe["symbol_L_name"], probe["symbol_R_name"])]

    def rate(name):
        shown = [(l == name or r == name) for l, r in zip(probe["symbol_L_name"],
                                                           probe["symbol_R_name"])]
        picked = [s and c == name for s, c in zip(shown, chosen)]
        return sum(picked) / sum(shown)

    return {"accuracy": np.mean(better),
            "A": (rate("75R1") + rate("75R2")) / 2, "B": (rate("25R1") + rate("25R2")) / 2,
            "E": (rate("25P1") + rate("25P2")) / 2, "F": (rate("75P1") + rate("75P2")) / 2,
            "N": rate("Zero")}


def test_parameter_outliers_by_hand(small_frames):
    learning, transfer = small_frames
    # k = 3: an outlier has more than round(1.5) = 2 parameters on a bound
    three = bound_model("Three", {"a": [0.0, 1.0, 0.5], "b": [1.0, 0.5, -1.0],
                                  "c": [0.01, 0.5, 0.3]})
    # k = 2: more than round(1.0) = 1; nobody here
    two = bound_model("Two", {"a": [0.2, 0.3, 0.4], "c": [0.5, 0.99, 0.5]})
    results = report.parameter_outliers({"Three": three, "Two": two}, learning, transfer)
    assert list(results) == ["participant_outliers", "model_outliers", "outliers_summary",
                             "model_params", "outlier_data"]
    assert results["participant_outliers"]["Three"].to_dict() == {"p1": 3, "p2": 1, "p3": 1}
    assert results["participant_outliers"]["Three"].index.tolist()[0] == "p1"
    assert results["participant_outliers"]["Two"].to_dict() == {"p2": 1}
    assert results["model_outliers"]["Three"].to_dict() == {1: 2, 3: 1}
    assert results["model_outliers"]["Two"].to_dict() == {1: 1}
    summary = results["outliers_summary"]
    assert summary.index.tolist() == ["Three", "Two"]
    assert summary.columns.tolist() == [1, 2, 3, "total"]
    assert summary.loc["Three"].tolist() == [2, 0, 1, 3]
    assert summary.loc["Two"].tolist() == [1, 0, 0, 1]
    assert results["model_params"] == {"Three": 3, "Two": 2}

    data = results["outlier_data"]["Three"]
    assert data.columns.tolist() == ["participant", "accuracy", "A", "B", "E", "F", "N"]
    assert data["participant"].tolist() == ["p1"]
    expected = _rates_by_hand(learning, transfer, "p1")
    for column, value in expected.items():
        assert data[column].iloc[0] == pytest.approx(value), column
    assert results["outlier_data"]["Two"].empty
    assert results["outlier_data"]["Two"].columns.tolist() == data.columns.tolist()
    # one long frame with trial_type works too
    both = pd.concat([learning, transfer], ignore_index=True)
    again = report.parameter_outliers({"Three": three}, both)
    pd.testing.assert_frame_equal(again["outlier_data"]["Three"], data)


def test_outlier_threshold_rounds_half_to_even(small_frames):
    # k = 5: round(2.5) = 2, so 3 parameters on a bound make an outlier (k = 3 needs 3 too)
    params = {"a": [0.0, 0.5, 0.5], "b": [1.0, 0.5, 0.5], "c": [0.01, 0.5, 0.5],
              "d": [0.5, 0.5, 0.5], "e": [0.5, 0.5, 0.5]}
    model = bound_model("Five", params)
    model.bounds_ = {**BOUNDS, "d": (0.0, 1.0), "e": (0.0, 1.0)}
    results = report.parameter_outliers(model, *small_frames)
    assert results["outlier_data"]["Five"]["participant"].tolist() == ["p1"]


def test_parameter_of_interest_correlations_by_hand():
    ids = ["p1", "p2", "p3", "p4", "p5"]
    contextual = pd.Series([0.02, 0.1, 0.3, 0.5, 0.9], index=ids)
    mixing = pd.Series([0.9, 0.2, 0.5, 0.4, 0.1], index=ids)
    weighting = pd.Series([0.0, 0.3, 0.2, 0.8, 0.6], index=ids)  # p1 on its lower bound
    unit = {"factual_lr": (0.01, 0.99), "contextual_lr": (0.01, 0.99),
            "mixing_factor": (0.0, 1.0), "weighting_factor": (0.0, 1.0)}
    relative = Fitted("Relative+novel", params_=pd.DataFrame({"factual_lr": 0.5,
                                                              "contextual_lr": contextual}),
                      bounds_=unit)
    # listed in another order: participants must be matched by id
    hybrid = Fitted("Hybrid2012+novel",
                    params_=pd.DataFrame({"mixing_factor": mixing}).iloc[::-1], bounds_=unit)
    advantage = Fitted("Advantage+novel", params_=pd.DataFrame({"weighting_factor": weighting}),
                       bounds_=unit)
    plain = Fitted("QLearning+novel", params_=pd.DataFrame({"factual_lr": contextual}),
                   bounds_=unit)
    models = {"Relative+novel": relative, "QLearning+novel": plain,
              "Hybrid2012+novel": hybrid, "Advantage+novel": advantage}
    values = report.parameter_of_interest_values(models)
    assert values.columns.tolist() == [("Relative+novel", "contextual_lr"),
                                       ("Hybrid2012+novel", "mixing_factor"),
                                       ("Advantage+novel", "weighting_factor")]
    np.testing.assert_allclose(values[("Relative+novel", "contextual_lr")], np.log(contextual))
    np.testing.assert_allclose(values[("Hybrid2012+novel", "mixing_factor")], mixing)
    one = report.parameter_of_interest_values(models, "mixing_factor")
    assert one.columns.tolist() == [("Hybrid2012+novel", "mixing_factor")]
    table = report.parameter_of_interest_correlations(models)
    assert len(table) == 3
    first = table.iloc[0]
    assert (first["model_x"], first["parameter_x"], first["model_y"], first["parameter_y"]) == \
        ("Relative+novel", "contextual_lr", "Hybrid2012+novel", "mixing_factor")
    assert (first["transform_x"], first["transform_y"]) == ("log", "none")
    r, p = sps.pearsonr(np.log(contextual), mixing)
    assert first["r"] == pytest.approx(r) and first["p_value"] == pytest.approx(p)
    assert first["n"] == 5
    assert (first["n_at_bound"], first["n_interior"]) == (0, 5)
    assert first["r_interior"] == pytest.approx(r)
    last = table.iloc[2]
    assert last["r"] == pytest.approx(sps.pearsonr(mixing, weighting)[0])
    # without p1, whose weighting_factor sits on its bound
    assert (last["n_at_bound"], last["n_interior"]) == (1, 4)
    r, p = sps.pearsonr(mixing.iloc[1:], weighting.iloc[1:])
    assert last["r_interior"] == pytest.approx(r)
    assert last["p_value_interior"] == pytest.approx(p)
    # fewer than two parameters of interest: empty, never an error
    for few in ({"QLearning+novel": plain}, {"Relative+novel": relative,
                                             "QLearning+novel": plain}):
        empty = report.parameter_of_interest_correlations(few)
        assert empty.empty and "r" in empty.columns
    # a constant parameter gives NaN, not an error
    flat = Fitted("Advantage+novel", params_=pd.DataFrame({"weighting_factor": 0.5}, index=ids),
                  bounds_=unit)
    nan = report.parameter_of_interest_correlations({"R": relative, "A": flat})
    assert np.isnan(nan["r"].iloc[0])


# ------------------------------------------------------------------ real fits
NAMES = ("QLearning+novel", "Relative+novel")
GROUP_OF = {"s0": "alpha", "s1": "alpha", "s2": "alpha", "s3": "beta", "s4": "beta",
            "s5": "beta"}


def simulate(groups=GROUP_OF, seed=0):
    model = avoidrl.make_model("QLearning+novel")
    rng = np.random.default_rng(seed)
    ids = list(groups)
    params = pd.DataFrame({"factual_lr": rng.uniform(0.2, 0.8, len(ids)),
                           "counterfactual_lr": rng.uniform(0.1, 0.6, len(ids)),
                           "temperature": rng.uniform(0.05, 0.3, len(ids)),
                           "novel_value": rng.uniform(-0.5, 0.5, len(ids))},
                          index=pd.Index(ids, name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=seed)
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(groups)
    return learning, transfer


def fit_all(learning, transfer, names=NAMES):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: avoidrl.make_model(name, n_starts=2, random_state=0).fit(learning, transfer)
                for name in names}


@pytest.fixture(scope="module")
def data():
    return simulate()


@pytest.fixture(scope="module")
def models(data):
    return fit_all(*data)


def test_tables_agree_with_the_estimators(models):
    table = report.information_criteria(models)
    for name, estimator in models.items():
        part = table[table["model"] == name].set_index("participant")
        np.testing.assert_allclose(part["bic"], estimator.bic_.loc[part.index])
        np.testing.assert_allclose(part["nll"], estimator.nll_.loc[part.index])
        assert (part["k"] == estimator.n_parameters).all()
    criteria = report.group_criteria(models, "bic")
    assert criteria.index.tolist() == ["alpha", "beta", "full"]
    for name, estimator in models.items():
        assert criteria.loc["full", name] == pytest.approx(estimator.bic_.mean())
        alpha = [p for p, g in GROUP_OF.items() if g == "alpha"]
        assert criteria.loc["alpha", name] == pytest.approx(estimator.bic_.loc[alpha].mean())


def test_fit_tables_layout(models):
    fit_data, full_fit_data = report.fit_tables(models)
    for name, estimator in models.items():
        best, full = fit_data[name], full_fit_data[name]
        assert best.columns.tolist() == ["participant", "pain_group", "run", "fit",
                                         *estimator.parameter_names]
        assert best["participant"].tolist() == list(estimator.params_.index)
        assert best["pain_group"].tolist() == [GROUP_OF[p] for p in best["participant"]]
        np.testing.assert_allclose(best["fit"], estimator.nll_.to_numpy())
        np.testing.assert_allclose(best[estimator.parameter_names], estimator.params_)
        # every start: 2 drawn and 4 screened per participant (the nested one too)
        used = estimator.n_starts_used_
        assert len(full) == used.sum()
        assert sorted(full["run"].unique()) == list(range(used.max()))
        # the best run is the lowest fit among each participant's runs
        lowest = full.groupby("participant", sort=False)["fit"].min()
        np.testing.assert_allclose(lowest.loc[best["participant"]], best["fit"])


def test_fit_by_starts_uses_every_start(models):
    table = report.fit_by_starts(models)
    for name, estimator in models.items():
        part = table[table["model"] == name]
        # 2 drawn + 4 screened starts per participant and round (more in extra rounds)
        assert part["starts"].tolist() == list(range(1, estimator.n_starts_used_.max() + 1))
        first = estimator.fits_[estimator.fits_["start"] == 0].set_index("participant_id")["nll"]
        assert part["mean_best_nll"].iloc[0] == pytest.approx(first.mean())
        # with every start the curve ends at the best fit
        assert part["mean_best_nll"].iloc[-1] == pytest.approx(estimator.nll_.mean())
        assert part["share_at_best"].iloc[-1] == 1.0
        assert (np.diff(part["mean_best_nll"]) <= 1e-12).all()


def test_criterion_distributions_use_each_participants_own_n():
    learning, transfer = simulate({"u1": "g", "u2": "g", "u3": "g", "u4": "g"}, seed=6)
    # u2 loses 100 transfer trials: n = 96 + 284, not the 480 the reference assumed
    short = transfer.index[transfer["participant_id"] == "u2"][:100]
    transfer = transfer.drop(index=short)
    estimator = fit_all(learning, transfer, names=("QLearning+novel",))["QLearning+novel"]
    n = (learning["participant_id"].value_counts() + transfer["participant_id"].value_counts())
    assert n["u2"] == 380 and n["u1"] == 480
    bic = 4 * np.log(n.loc[estimator.nll_.index]) + 2 * estimator.nll_
    table = report.criterion_distributions({"Q": estimator})
    row = table.loc["Q"]
    assert row["n"] == 4
    assert row["mean"] == pytest.approx(bic.mean())
    assert row["sd"] == pytest.approx(bic.std(ddof=1))
    assert row["skewness"] == pytest.approx(pd.Series(bic.to_numpy()).skew())
    assert row["kurtosis"] == pytest.approx(pd.Series(bic.to_numpy()).kurt())
    reference = 4 * np.log(480) + 2 * estimator.nll_
    assert row["mean"] != pytest.approx(reference.mean())
    assert report.criterion_distributions({"Q": estimator}, "aic").loc["Q", "mean"] == \
        pytest.approx((8 + 2 * estimator.nll_).mean())


def test_parameters_at_bounds_of_real_fits(models):
    table = report.parameters_at_bounds(models)
    for name, estimator in models.items():
        flagged = {(p, q) for p, q in zip(table.loc[table["model"] == name, "participant"],
                                          table.loc[table["model"] == name, "parameter"])}
        for participant, values in estimator.params_.iterrows():
            for parameter, value in values.items():
                low, high = estimator.bounds_[parameter]
                on_bound = min(value - low, high - value) <= 1e-6 * (high - low)
                assert ((participant, parameter) in flagged) == on_bound


def test_posterior_predictive_tables(data, models):
    learning, transfer = data
    accuracy, choice = report.posterior_predictive(models, learning, transfer, random_state=3)
    assert accuracy.columns.tolist() == ["source", "model", "simulation", "participant",
                                         "group", "context", "bin", "accuracy"]
    assert choice.columns.tolist() == ["source", "model", "simulation", "participant", "group",
                                       "stimulus", "choice_rate"]
    # empirical + 2 models, 6 participants x 2 contexts x 4 bins / x 5 stimulus types
    assert len(accuracy) == 3 * 6 * 8 and len(choice) == 3 * 6 * 5
    assert set(accuracy["model"]) == {"empirical", *NAMES}
    assert set(choice["stimulus"]) == {"HR", "LR", "LP", "HP", "N"}
    assert accuracy["accuracy"].between(0, 100).all()
    assert choice["choice_rate"].between(0, 100).all()

    # the empirical rows, by hand for one participant
    rows = learning[learning["participant_id"] == "s4"].copy()
    better = (rows["choice_made"] == 0) == (rows["symbol_L_value"] > rows["symbol_R_value"])
    reward = better[rows["symbol_names"].str.startswith("Reward")].to_numpy()
    observed = accuracy[(accuracy["source"] == "empirical") & (accuracy["participant"] == "s4")
                        & (accuracy["context"] == "Reward")].set_index("bin")["accuracy"]
    # two reward pairs interleaved: Early = each pair's trials 1-6
    pair = rows.loc[rows["symbol_names"].str.startswith("Reward"), "symbol_names"].to_numpy()
    position = pd.Series(pair).groupby(pair).cumcount().to_numpy() + 1
    assert observed["Early"] == pytest.approx(100 * reward[position <= 6].mean())
    assert observed["Late"] == pytest.approx(100 * reward[position > 18].mean())
    assert (accuracy.loc[accuracy["participant"] == "s4", "group"] == "beta").all()

    transfer_rows = transfer[transfer["participant_id"] == "s1"]
    shown = (transfer_rows["symbol_L_name"] == "Zero") | (transfer_rows["symbol_R_name"] == "Zero")
    chosen = np.where(transfer_rows["choice_made"] == 0, transfer_rows["symbol_L_name"],
                      transfer_rows["symbol_R_name"]) == "Zero"
    novel = choice[(choice["source"] == "empirical") & (choice["participant"] == "s1")
                   & (choice["stimulus"] == "N")]["choice_rate"].item()
    assert novel == pytest.approx(100 * chosen[shown.to_numpy()].mean())

    again, _ = report.posterior_predictive(models, learning, transfer, random_state=3)
    pd.testing.assert_frame_equal(accuracy, again)
    twice, _ = report.posterior_predictive(models, learning, transfer, random_state=3,
                                           n_simulations=2)
    assert len(twice) == 6 * 8 + 2 * 2 * 6 * 8
    assert sorted(twice["simulation"].dropna().unique()) == [0, 1]


def test_posterior_predictive_bins_match_the_tutorial_columns(shared_dir, tutorial_frames):
    learning, transfer = tutorial_frames
    learning = learning[learning["participant_id"].isin(learning["participant_id"].unique()[:3])]
    transfer = transfer[transfer["participant_id"].isin(learning["participant_id"].unique())]
    accuracy, _ = _tables._behaviour(learning, transfer)
    expected = (learning.groupby(["participant_id", "context_val_name", "binned_trial"])
                ["accuracy"].mean())
    got = accuracy.set_index(["participant", "context", "bin"])["accuracy"]
    pd.testing.assert_series_equal(got.sort_index(), expected.sort_index(),
                                   check_names=False, check_index_type=False)


def _by_hand(rows, context_pairs, trial, columns):
    """Mean over a context's pairs of columns at the trial-th (1-based) trial of each pair."""
    values = [rows[rows["pair"] == pair].iloc[trial - 1][columns].to_numpy(float)
              for pair in context_pairs]
    return np.mean(values, axis=0)


def test_learning_dynamics_by_hand(data, models):
    learning, transfer = data
    fitted = {"QLearning+novel": models["QLearning+novel"],
              **fit_all(learning, transfer, names=("ActorCritic", "Hybrid2012+novel"))}
    table = report.learning_dynamics(fitted, learning, transfer)
    assert table.columns.tolist() == ["model", "participant", "group", "context", "trial", "pe",
                                      "value0", "value1", "pe_formula", "value_formula"]
    # 3 models x 6 participants x 2 contexts x 24 trials, in data order
    assert len(table) == 3 * 6 * 2 * 24
    assert table["model"].unique().tolist() == list(fitted)
    assert table["participant"].unique().tolist() == list(GROUP_OF)
    assert table["group"].tolist() == [GROUP_OF[p] for p in table["participant"]]
    first = table[(table["model"] == "QLearning+novel") & (table["participant"] == "s0")]
    assert first["context"].tolist() == ["Reward"] * 24 + ["Loss Avoid"] * 24
    assert first["trial"].tolist() == list(range(1, 25)) * 2
    formulas = table.groupby("model", sort=False)[["pe_formula", "value_formula"]].first()
    assert formulas.loc["QLearning+novel"].tolist() == ["r - Q", "Q"]
    assert formulas.loc["ActorCritic"].tolist() == ["r - V", "W"]
    assert formulas.loc["Hybrid2012+novel"].tolist() == ["r - V", "(1 - m) W + m Q"]

    # by hand for participant s4 from trial_values at the fitted parameters
    for name, estimator in fitted.items():
        rows = estimator.trial_values(learning, transfer)
        rows = rows[(rows["participant_id"] == "s4") & (rows["phase"] == "learning")]
        mine = table[(table["model"] == name) & (table["participant"] == "s4")] \
            .set_index(["context", "trial"])
        m = estimator.params_.loc["s4"].get("mixing_factor")
        for context, pairs in (("Reward", ("AB", "CD")), ("Loss Avoid", ("EF", "GH"))):
            for trial in (1, 2, 13, 24):
                pe0, pe1 = _by_hand(rows, pairs, trial, ["pe0", "pe1"])
                if name == "QLearning+novel":
                    values = _by_hand(rows, pairs, trial, ["q0", "q1"])
                elif name == "ActorCritic":
                    values = _by_hand(rows, pairs, trial, ["w0", "w1"])
                else:
                    values = (1 - m) * _by_hand(rows, pairs, trial, ["w0", "w1"]) \
                        + m * _by_hand(rows, pairs, trial, ["q0", "q1"])
                row = mine.loc[(context, trial)]
                assert row["pe"] == pytest.approx((pe0 + pe1) / 2, abs=1e-12)
                np.testing.assert_allclose(row[["value0", "value1"]].to_numpy(float), values,
                                           atol=1e-12)
    # the values are the ones the choice rule compares: softmax of value1 - value0
    hybrid = fitted["Hybrid2012+novel"]
    rows = hybrid.trial_values(learning, transfer)
    rows = rows[(rows["participant_id"] == "s4") & (rows["phase"] == "learning")]
    m, temperature = hybrid.params_.loc["s4", ["mixing_factor", "temperature"]]
    difference = (1 - m) * (rows["w1"] - rows["w0"]) + m * (rows["q1"] - rows["q0"])
    p_worse = 1 / (1 + np.exp(-difference / temperature))
    np.testing.assert_allclose(np.where(rows["choice"] == 1, p_worse, 1 - p_worse),
                               rows["p_choice"], rtol=1e-9)


def test_learning_dynamics_with_one_model_and_one_group(data, models):
    learning, transfer = data
    table = report.learning_dynamics(models["Relative+novel"], learning, transfer)
    assert table["model"].unique().tolist() == ["Relative+novel"]
    assert set(table["pe_formula"]) == {"r - C - Q"} and set(table["value_formula"]) == {"Q"}
    solo = learning.assign(group_code="solo"), transfer.assign(group_code="solo")
    single = fit_all(*solo, names=("QLearning+novel",))
    assert set(report.learning_dynamics(single, *solo)["group"]) == {"solo"}
    with pytest.raises(ValueError, match="not in the data given"):
        report.learning_dynamics(models, learning[learning["participant_id"] != "s2"],
                                 transfer)


def test_group_filenames_are_sanitised_and_unique():
    stems = _tables._group_filenames(["no pain", "acute pain", "chronic pain"])
    assert stems == {"no pain": "nopain", "acute pain": "acutepain",
                     "chronic pain": "chronicpain"}
    # spaces and other characters go, accents are dropped, collisions (ignoring case, as on
    # macOS and Windows) get a suffix, a name with nothing left becomes 'group'
    stems = _tables._group_filenames(["no pain", "nopain", "No/Pain?", "douleur aiguë",
                                     "*** ", 3, "a_b-c.d"])
    assert list(stems.values()) == ["nopain", "nopain_2", "NoPain_3", "douleuraigue", "group",
                                    "3", "a_b-cd"]


# ----------------------------------------------------------------- fit folder
FIT_FILES = [
    "fit_data_FIT.pkl", "full_fit_data_FIT.pkl", "group_AIC.csv", "group_BIC.csv",
    "group_AIC_percentages.csv", "group_BIC_percentages.csv", "group_AIC_differences.csv",
    "group_BIC_differences.csv", "param_fit_descriptives.csv", "pain_fits_linear_results.csv",
    "pain_fits_ttest_results.csv", "pain_fits_posthoc_results.csv",
    "modelsimulation_accuracy_data.csv", "modelsimulation_choice_data.csv",
    "AIC_model_comparisons.png", "BIC_model_comparisons.png", "summary_FIT.json", "README.md",
    "model_fits_distributions.png", "fit-by-runs.png", "parameter_outlier_results.pkl",
    "parameter_bounds.csv",
    "modelsimulation_dynamics_data.csv", "alpha_model_simulations.png",
    "beta_model_simulations.png",
]


@pytest.fixture(scope="module")
def fit_folder(tmp_path_factory, data, models):
    out = tmp_path_factory.mktemp("reports") / "fit"
    written = report.write_fit_report(out, models, *data, random_state=0)
    assert written == out
    return out


def test_fit_report_files(fit_folder, models):
    for name in FIT_FILES:
        assert (fit_folder / name).is_file(), name
    for name in models:
        assert (fit_folder / "model_behaviours" / f"{name}_model_behaviours.png").is_file()
        assert (fit_folder / "parameter_fits" / f"{name}-model-fits.png").is_file()
    assert [p.name for p in fit_folder.parent.iterdir()] == ["fit"]  # no temporary folder


def test_fit_report_contents(fit_folder, data, models):
    with open(fit_folder / "fit_data_FIT.pkl", "rb") as handle:
        fit_data = pickle.load(handle)
    with open(fit_folder / "full_fit_data_FIT.pkl", "rb") as handle:
        full_fit_data = pickle.load(handle)
    assert list(fit_data) == list(NAMES) == list(full_fit_data)
    for name, estimator in models.items():
        assert fit_data[name].columns[:4].tolist() == ["participant", "pain_group", "run", "fit"]
        assert fit_data[name].columns[4:].tolist() == estimator.parameter_names
        np.testing.assert_allclose(fit_data[name]["fit"], estimator.nll_.to_numpy())

    bic = pd.read_csv(fit_folder / "group_BIC.csv", index_col=0)
    assert bic.index.tolist() == ["alpha", "beta", "full"]
    assert bic.columns.tolist() == [*NAMES, "best_model"]
    for name, estimator in models.items():
        assert bic.loc["full", name] == pytest.approx(estimator.bic_.mean())
    percentages = pd.read_csv(fit_folder / "group_AIC_percentages.csv", index_col=0)
    np.testing.assert_allclose(percentages.sum(axis=1), 100)
    differences = pd.read_csv(fit_folder / "group_BIC_differences.csv")
    assert differences.columns.tolist() == ["model", "best_model", "mean", "sd", "n", "ci"]
    linear = pd.read_csv(fit_folder / "pain_fits_linear_results.csv")
    assert linear.columns.tolist()[:9] == ["model", "parameter", "F", "df_res", "df_model",
                                           "p_value", "r_squared", "normality", "homogeneity"]
    assert len(linear) == sum(e.n_parameters for e in models.values())
    ttest = pd.read_csv(fit_folder / "pain_fits_ttest_results.csv")
    assert set(ttest["comparison"]) == {"alpha vs beta"}
    descriptives = pd.read_csv(fit_folder / "param_fit_descriptives.csv")
    assert descriptives.columns.tolist() == ["model", "parameter", "alpha", "beta", "n",
                                             "n_at_lower", "n_at_upper"]
    assert set(descriptives["model"]) == set(NAMES)  # full names, as in every other file
    accuracy = pd.read_csv(fit_folder / "modelsimulation_accuracy_data.csv")
    assert set(accuracy["source"]) == {"model", "empirical"}
    dynamics = pd.read_csv(fit_folder / "modelsimulation_dynamics_data.csv")
    pd.testing.assert_frame_equal(  # the file's columns are in the vocabulary
        dynamics, report.learning_dynamics(models, *data).rename(
            columns={"participant": "participant_id"}), check_dtype=False)

    summary = json.loads((fit_folder / "summary_FIT.json").read_text())
    assert summary["models"] == list(NAMES)
    assert summary["n_participants"] == 6
    assert summary["groups"] == {"alpha": 3, "beta": 3}
    for name, estimator in models.items():
        assert summary["per_model"][name]["mean_bic"] == pytest.approx(estimator.bic_.mean())
        assert summary["per_model"][name]["n_converged"] == int(estimator.converged_.sum())
    assert summary["settings"]["random_state"] == 0
    assert summary["model_simulation_figures"] == {"alpha": "alpha_model_simulations.png",
                                                   "beta": "beta_model_simulations.png"}
    readme = (fit_folder / "README.md").read_text()
    assert all(name in readme for name in ("group_BIC.csv", "fit_data_FIT.pkl",
                                           "modelsimulation_dynamics_data.csv"))
    assert "| alpha_model_simulations.png, beta_model_simulations.png | one per group " \
        "(alpha -> alpha_model_simulations.png; beta -> beta_model_simulations.png;" in readme


def test_fit_report_diagnostics(fit_folder, data, models):
    with open(fit_folder / "parameter_outlier_results.pkl", "rb") as handle:
        outliers = pickle.load(handle)
    expected = report.parameter_outliers(models, *data)
    assert list(outliers) == list(expected)
    pd.testing.assert_frame_equal(outliers["outliers_summary"], expected["outliers_summary"])
    assert outliers["model_params"] == {n: e.n_parameters for n, e in models.items()}
    for name in models:
        pd.testing.assert_series_equal(outliers["participant_outliers"][name],
                                       expected["participant_outliers"][name])
        pd.testing.assert_frame_equal(outliers["outlier_data"][name],
                                      expected["outlier_data"][name])
    at_bounds = report.parameters_at_bounds(models)
    for name in models:
        assert outliers["outliers_summary"].loc[name, "total"] == \
            at_bounds.loc[at_bounds["model"] == name, "participant"].nunique()

    readme = (fit_folder / "README.md").read_text()
    table_rows = {line.split("|")[1].strip(): line for line in readme.splitlines()
                  if line.startswith("| ")}
    for name in ("model_fits_distributions.png", "fit-by-runs.png",
                 "parameter_outlier_results.pkl", "parameter_of_interest_comparisons.png"):
        assert name in table_rows, name
    assert "own trial count" in table_rows["model_fits_distributions.png"]
    assert "1e-06" in table_rows["parameter_outlier_results.pkl"]
    # QLearning+novel and Relative+novel have one parameter of interest between them
    assert not (fit_folder / "parameter_of_interest_comparisons.png").exists()
    assert "not written" in table_rows["parameter_of_interest_comparisons.png"]
    assert "Relative+novel contextual_lr" in table_rows["parameter_of_interest_comparisons.png"]
    summary = json.loads((fit_folder / "summary_FIT.json").read_text())
    assert summary["parameter_of_interest_pairs"] == 0
    assert summary["parameter_outliers"] == {n: len(outliers["outlier_data"][n]) for n in models}


def test_fit_report_counts_fits_on_bounds(fit_folder, models):
    """Bounds are visible in the summary, parameter_bounds.csv and the statistics tables."""
    summary = json.loads((fit_folder / "summary_FIT.json").read_text())
    counts = pd.read_csv(fit_folder / "parameter_bounds.csv")
    linear = pd.read_csv(fit_folder / "pain_fits_linear_results.csv").set_index(
        ["model", "parameter"])
    for name, estimator in models.items():
        per_group = summary["parameters_at_bounds"][name]
        assert list(per_group) == estimator.parameter_names
        for parameter in estimator.parameter_names:
            low, high = estimator.bounds_[parameter]
            margin = 1e-6 * (high - low)
            values = estimator.params_[parameter]
            for group in ("alpha", "beta"):
                member = values[estimator.groups_.reindex(values.index) == group]
                expected = {"n": len(member), "lower": int((member <= low + margin).sum()),
                            "upper": int((member >= high - margin).sum())}
                assert per_group[parameter][group] == expected, (name, parameter, group)
                row = counts[(counts["model"] == name) & (counts["parameter"] == parameter)
                             & (counts["group"] == group)].iloc[0]
                assert (row["n"], row["n_at_lower"], row["n_at_upper"]) == \
                    (expected["n"], expected["lower"], expected["upper"])
            on_bound = int(((values <= low + margin) | (values >= high - margin)).sum())
            assert linear.loc[(name, parameter), "n_at_bound"] == on_bound
        anywhere = report.parameters_at_bounds(estimator)["participant"].nunique()
        assert summary["participants_with_a_parameter_on_a_bound"][name] == anywhere
        shares = linear.loc[name, "share_at_bound"]
        assert summary["parameters_mostly_on_a_bound"].get(name, {}) == \
            {p: pytest.approx(v, abs=1e-4) for p, v in shares[shares > 0.2].items()}
    readme = (fit_folder / "README.md").read_text()
    assert "parameter_bounds.csv" in readme
    assert "(mean of the first group named - mean of the second) / pooled SD" in readme


@pytest.mark.slow
def test_fit_report_compares_parameters_of_interest(tmp_path, data, models):
    pair = {"Relative+novel": models["Relative+novel"],
            **fit_all(*data, names=("Advantage+novel",))}
    out = report.write_fit_report(tmp_path / "interest", pair, *data, random_state=0)
    assert (out / "parameter_of_interest_comparisons.png").is_file()
    readme = (out / "README.md").read_text()
    assert "Relative+novel contextual_lr vs Advantage+novel weighting_factor" in readme
    assert "not written" not in readme
    assert json.loads((out / "summary_FIT.json").read_text())["parameter_of_interest_pairs"] == 1


@pytest.mark.slow
def test_fit_report_with_one_model_and_one_group(tmp_path):
    learning, transfer = simulate({"x1": "solo", "x2": "solo", "x3": "solo"}, seed=4)
    single = fit_all(learning, transfer, names=("QLearning+novel",))
    out = report.write_fit_report(tmp_path / "one", single, learning, transfer,
                                  random_state=1)
    linear = pd.read_csv(out / "pain_fits_linear_results.csv")
    assert linear["F"].isna().all() and linear["note"].notna().all()
    bic = pd.read_csv(out / "group_BIC.csv", index_col=0)
    assert bic.index.tolist() == ["solo", "full"]
    assert pd.read_csv(out / "group_BIC_differences.csv").empty
    assert (out / "BIC_model_comparisons.png").is_file()
    for name in ("model_fits_distributions.png", "fit-by-runs.png",
                 "parameter_outlier_results.pkl"):
        assert (out / name).is_file(), name
    assert not (out / "parameter_of_interest_comparisons.png").exists()
    assert "none of them" in (out / "README.md").read_text()
    assert sorted(p.name for p in out.glob("*_model_simulations.png")) == \
        ["solo_model_simulations.png"]


@pytest.mark.slow
def test_fit_report_names_group_figures_from_the_data(tmp_path, data):
    # two group codes that collapse to the same file name (Q17: groups come from the data)
    renamed = {"alpha": "no pain", "beta": "No Pain!"}
    learning, transfer = (frame.assign(group_code=frame["group_code"].map(renamed))
                          for frame in data)
    single = fit_all(learning, transfer, names=("QLearning+novel",))
    out = report.write_fit_report(tmp_path / "named", single, learning, transfer,
                                  random_state=0)
    assert sorted(p.name for p in out.glob("*_model_simulations.png")) == \
        ["NoPain_2_model_simulations.png", "nopain_model_simulations.png"]
    summary = json.loads((out / "summary_FIT.json").read_text())
    assert summary["model_simulation_figures"] == {"no pain": "nopain_model_simulations.png",
                                                   "No Pain!": "NoPain_2_model_simulations.png"}


@pytest.mark.parametrize("module, step", [(plotting, "plot_model_behaviour"),
                                          (_output, "parameter_outliers")])
def test_fit_report_is_atomic_when_a_step_fails(tmp_path, monkeypatch, data, models, module,
                                                step):
    def broken(*args, **kwargs):
        raise RuntimeError("plotting failed")

    monkeypatch.setattr(module, step, broken)
    out = tmp_path / "fit"
    with pytest.raises(RuntimeError, match="plotting failed"):
        report.write_fit_report(out, models, *data, random_state=0)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind


@pytest.mark.slow
def test_fit_report_keeps_user_files_and_replaces_only_its_own(tmp_path, monkeypatch, data,
                                                                models):
    out = tmp_path / "fit"
    out.mkdir()
    (out / "old.txt").write_text("keep me")
    report.write_fit_report(out, models, *data)  # a user's file is no obstacle
    assert (out / "old.txt").read_text() == "keep me"
    with pytest.raises(FileExistsError, match="overwrite"):
        report.write_fit_report(out, models, *data)

    # a failure while overwriting keeps the old folder as it was
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(plotting, "plot_parameter_fits",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        report.write_fit_report(out, models, *data, overwrite=True)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["fit"]
    monkeypatch.undo()

    report.write_fit_report(out, models, *data, overwrite=True)
    assert (out / "old.txt").read_text() == "keep me"
    assert (out / "group_BIC.csv").is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["fit"]

    # a user's file with an output's name is never replaced, even with overwrite
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "group_BIC.csv").write_text("my table")
    with pytest.raises(FileExistsError, match="group_BIC.csv is not avoidrl's"):
        report.write_fit_report(mine, models, *data, overwrite=True)
    assert [p.name for p in mine.iterdir()] == ["group_BIC.csv"]


@pytest.mark.slow
def test_fit_report_into_an_empty_existing_folder(tmp_path, data, models):
    out = tmp_path / "empty"
    out.mkdir()
    report.write_fit_report(out, {"Q": models["QLearning+novel"]}, *data)
    assert (out / "fit_data_FIT.pkl").is_file()
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    with pytest.raises(FileExistsError, match="not a plain folder"):
        report.write_fit_report(a_file, models, *data, overwrite=True)
    assert a_file.read_text() == "x"


# ---------------------------------------------------------- validation folder
@pytest.fixture(scope="module")
def recoveries():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parameter = [ParameterRecovery(avoidrl.make_model(name, n_starts=1), n_datasets=5,
                                       random_state=1).fit() for name in NAMES]
        model = ModelRecovery([avoidrl.make_model(name, n_starts=1) for name in NAMES],
                              n_datasets=3, random_state=2).fit()
    return parameter, model


def test_validation_report(tmp_path, recoveries):
    parameter, model = recoveries
    out = report.write_validation_report(tmp_path / "val", parameter_recovery=parameter,
                                         model_recovery=model)
    for name in ("fit_data_PARAMETER.pkl", "full_fit_data_PARAMETER.pkl",
                 "true_params_PARAMETER.pkl", "param_recovery_corrs.csv",
                 "param_recovery_results.csv", "correlations/recovery_correlation_plot.png",
                 "fit_data_MODEL.pkl", "full_fit_data_MODEL.pkl", "model_recovery.png",
                 "model_recovery_matrices.csv", "summary_PARAMETER.json", "summary_MODEL.json",
                 "README.md"):
        assert (out / name).is_file(), name

    with open(out / "fit_data_PARAMETER.pkl", "rb") as handle:
        fit_data = pickle.load(handle)
    with open(out / "true_params_PARAMETER.pkl", "rb") as handle:
        true_params = pickle.load(handle)
    for recovery in parameter:
        name = recovery.estimator.model_name
        table = fit_data[name]
        assert table.columns.tolist() == ["participant", "pain_group", "run", "fit",
                                          *recovery.estimator.parameter_names]
        np.testing.assert_allclose(table["fit"], recovery.fits_["nll"].to_numpy())
        np.testing.assert_allclose(table.iloc[:, 4:], recovery.fitted_params_.to_numpy())
        np.testing.assert_allclose(true_params[name].iloc[:, 1:],
                                   recovery.true_params_.to_numpy())
    corrs = pd.read_csv(out / "param_recovery_corrs.csv")
    assert corrs.columns.tolist() == ["Model", "Parameter", "Correlation"]
    first = parameter[0]
    got = corrs[corrs["Model"] == first.estimator.model_name].set_index("Parameter")
    np.testing.assert_allclose(got["Correlation"], first.correlations_.round(2))

    with open(out / "fit_data_MODEL.pkl", "rb") as handle:
        model_tables = pickle.load(handle)
    assert list(model_tables) == list(NAMES)
    for name, table in model_tables.items():
        assert table.columns[:5].tolist() == ["participant", "pain_group", "model", "run", "fit"]
        assert set(table["model"]) == set(NAMES)
        rows = model.fits_[model.fits_["fitting_model"] == name]
        np.testing.assert_allclose(table["fit"], rows["nll"].to_numpy())
    matrices = pd.read_csv(out / "model_recovery_matrices.csv")
    assert set(matrices["matrix"]) == {"mean_bic", "normalized_bic", "confusion", "inversion"}
    confusion = matrices[matrices["matrix"] == "confusion"].pivot(
        index="generating_model", columns="fitting_model", values="value")
    np.testing.assert_allclose(confusion.loc[list(NAMES), list(NAMES)],
                               model.confusion_.loc[list(NAMES), list(NAMES)])
    recovered = json.loads((out / "summary_PARAMETER.json").read_text())["parameter_recovery"]
    for recovery in parameter:
        bounds = recovery.estimator._fit_settings()["bounds"]
        on_bound = {}
        for name, values in recovery.fitted_params_.items():
            low, high = bounds[name]
            margin = 1e-6 * (high - low)
            on_bound[name] = int(((values <= low + margin) | (values >= high - margin)).sum())
        assert recovered[recovery.estimator.model_name]["n_fitted_on_a_bound"] == on_bound
    summary = json.loads((out / "summary_MODEL.json").read_text())["model_recovery"]
    # rows of confusion_ are the generating models
    assert summary["p_recovered"] == {g: pytest.approx(model.confusion_.loc[g, g])
                                      for g in model.confusion_.index}
    assert "model_recovery" in json.loads((out / "summary_MODEL.json").read_text())

    # data/generated: the parameter recoveries' datasets; the model recovery generated its
    # own, so they are kept apart in data/generated/model_recovery/
    generated = out / "data" / "generated"
    for recovery in parameter:
        name = recovery.estimator.model_name
        learning = pd.read_csv(generated / f"{name}_generated_learning.csv")
        transfer = pd.read_csv(generated / f"{name}_generated_transfer.csv")
        truth = pd.read_csv(generated / f"{name}_generated_parameters.csv")
        ids = [d.id for d in recovery.datasets_]
        assert list(pd.unique(learning["participant_id"])) == ids
        assert (learning["group_code"] == name).all()
        expected = pd.concat([d.learning for d in recovery.datasets_], ignore_index=True)
        assert learning.columns.tolist() == expected.columns.tolist()
        np.testing.assert_array_equal(learning["choice_made"], expected["choice_made"])
        np.testing.assert_array_equal(learning["feedback_L"], expected["feedback_L"])
        assert len(transfer) == sum(len(d.transfer) for d in recovery.datasets_)
        assert truth.columns.tolist() == ["participant_id", "model", "template",
                                          *recovery.estimator.parameter_names]
        assert truth["participant_id"].tolist() == ids
        np.testing.assert_allclose(truth.iloc[:, 3:], recovery.true_params_.loc[ids])
        assert truth["template"].isna().all()  # default task design
    refit = avoidrl.make_model(NAMES[0], n_starts=1).fit(
        generated / f"{NAMES[0]}_generated_learning.csv",
        generated / f"{NAMES[0]}_generated_transfer.csv")
    assert len(refit.params_) == 5
    separate = generated / "model_recovery"
    for name in NAMES:
        truth = pd.read_csv(separate / f"{name}_generated_parameters.csv")
        datasets = [d for d in model.datasets_ if d.model == name]
        np.testing.assert_allclose(truth.iloc[:, 3:], [d.true_params for d in datasets])
    readme = (out / "README.md").read_text()
    assert "data/generated/{model}_generated_parameters.csv" in readme
    assert "data/generated/model_recovery/" in readme


@pytest.mark.slow
def test_generated_data_shared_by_both_recoveries(tmp_path, recoveries):
    parameter, _ = recoveries
    shared = [d for r in parameter for d in r.datasets_]
    tables = report.generated_data(parameter)
    assert list(tables) == list(NAMES)
    first = tables[NAMES[0]]
    assert set(first) == {"learning", "transfer", "parameters"}
    pd.testing.assert_frame_equal(
        first["learning"], pd.concat([d.learning for d in parameter[0].datasets_],
                                     ignore_index=True))
    assert report.generated_data(shared)[NAMES[1]]["parameters"].equals(
        tables[NAMES[1]]["parameters"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ModelRecovery([avoidrl.make_model(name, n_starts=1) for name in NAMES],
                              random_state=3).fit(datasets=shared)
    out = report.write_validation_report(tmp_path / "val", parameter_recovery=parameter,
                                         model_recovery=model)
    generated = out / "data" / "generated"
    assert sorted(p.name for p in generated.iterdir()) == sorted(
        f"{name}_generated_{part}.csv" for name in NAMES
        for part in ("learning", "transfer", "parameters"))
    only_model = report.write_validation_report(tmp_path / "model", model_recovery=model)
    assert (only_model / "data" / "generated" / f"{NAMES[1]}_generated_learning.csv").is_file()
    # different datasets with one id are refused
    other = ParameterRecovery(avoidrl.make_model(NAMES[0], n_starts=1), n_datasets=5,
                              random_state=9)
    clash = list(other.split())
    with pytest.raises(ValueError, match="same id|share an id|the id"):
        report.generated_data(shared + clash)


def test_validation_report_needs_something(tmp_path, recoveries):
    with pytest.raises(ValueError, match="parameter_recovery"):
        report.write_validation_report(tmp_path / "nothing")
    out = report.write_validation_report(tmp_path / "only", parameter_recovery=recoveries[0][0])
    assert not (out / "model_recovery.png").exists()
    with pytest.raises(FileExistsError):
        report.write_validation_report(out, parameter_recovery=recoveries[0][0])
    assert os.listdir(tmp_path) == ["only"]


def test_shuffled_real_fit_gives_the_same_tables(models):
    """Q18 on real estimators: reorder every per-participant attribute of one model."""
    name = NAMES[1]
    shuffled = copy.deepcopy(models[name])
    order = shuffled.params_.index[::-1]
    for attribute in ("params_", "nll_", "aic_", "bic_", "n_trials_", "groups_", "converged_"):
        setattr(shuffled, attribute, getattr(shuffled, attribute).loc[order])
    reordered = {NAMES[0]: models[NAMES[0]], name: shuffled}
    for criterion in ("aic", "bic"):
        pd.testing.assert_frame_equal(report.group_best_fit_percentages(reordered, criterion),
                                      report.group_best_fit_percentages(models, criterion))
        pd.testing.assert_frame_equal(report.criterion_differences(reordered, criterion),
                                      report.criterion_differences(models, criterion))
