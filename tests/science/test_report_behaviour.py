"""Posterior-predictive simulations use each participant's own parameters.

Participants with very different parameters make the check direct: a "sharp"
learner (low temperature, moderate learning rates, novel stimulus valued +1)
chooses the better option and the novel stimulus almost always; a "flat" one
(temperature 1, tiny learning rates, novel valued -1) chooses at about chance
in learning and picks the novel stimulus on about 1 / (1 + e) of its trials.
Simulating anyone with someone else's parameters moves these rates by tens of
percentage points.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from avoidrl import make_model
from avoidrl.report import posterior_predictive

MODEL = "QLearning+novel"
SHARP = {"factual_lr": 0.3, "counterfactual_lr": 0.3, "temperature": 0.01, "novel_value": 1.0}
FLAT = {"factual_lr": 0.01, "counterfactual_lr": 0.01, "temperature": 1.0, "novel_value": -1.0}
#: Not a palindrome and not invariant under a cyclic shift: any reordering of the
#: parameter rows gives some participant the other kind.
KINDS = {"p_sharp": SHARP, "p_flat1": FLAT, "p_flat2": FLAT, "p_sharp2": SHARP, "p_flat3": FLAT}
GROUPS = {"p_sharp": "g1", "p_flat1": "g1", "p_flat2": "g2", "p_sharp2": "g2", "p_flat3": "g2"}


@pytest.fixture(scope="module")
def behaviour():
    params = pd.DataFrame(list(KINDS.values()),
                          index=pd.Index(list(KINDS), name="participant_id"))
    estimator = make_model(MODEL, n_starts=1, random_state=0)
    learning, transfer = estimator.sample(params=params, random_state=3)
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(GROUPS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(learning, transfer)
    # Simulate at the generating parameters, whose behaviour is known (not the fit's).
    estimator.params_ = params.loc[estimator.params_.index]
    return posterior_predictive({MODEL: estimator}, learning, transfer, random_state=0,
                                n_simulations=4)


def _per_participant(table, value):
    model = table[table["source"] == "model"]
    empirical = table[table["source"] == "empirical"]
    return (model.groupby("participant")[value].mean(),
            empirical.groupby("participant")[value].mean())


def test_each_participant_is_simulated_with_its_own_parameters(behaviour):
    accuracy, choice = behaviour
    model_acc, data_acc = _per_participant(accuracy[accuracy["bin"] != "Early"], "accuracy")
    novel = choice[choice["stimulus"] == "N"]
    model_novel, data_novel = _per_participant(novel, "choice_rate")
    for pid, kind in KINDS.items():
        if kind is SHARP:
            assert model_acc[pid] > 75 and model_novel[pid] > 90, (pid, model_acc[pid],
                                                                   model_novel[pid])
        else:
            # chance accuracy; P(novel) = 1 / (1 + e) = 27 % against values near 0
            assert 35 < model_acc[pid] < 65, (pid, model_acc[pid])
            assert 15 < model_novel[pid] < 40, (pid, model_novel[pid])
    # the data were generated at the same parameters: simulations and data agree
    assert (model_acc - data_acc).abs().max() < 15, pd.DataFrame({"model": model_acc,
                                                                  "data": data_acc})
    assert (model_novel - data_novel).abs().max() < 15, pd.DataFrame({"model": model_novel,
                                                                      "data": data_novel})


def test_model_rows_keep_participants_and_groups(behaviour):
    accuracy, choice = behaviour
    for table in (accuracy, choice):
        model = table[table["source"] == "model"]
        assert set(model["simulation"]) == {0, 1, 2, 3}
        assert (model["group"] == model["participant"].map(GROUPS)).all()
        for simulation, part in model.groupby("simulation"):
            assert list(pd.unique(part["participant"])) == list(KINDS), simulation
    # the four simulations are different draws
    model = accuracy[accuracy["source"] == "model"]
    runs = [part["accuracy"].to_numpy() for _, part in model.groupby("simulation")]
    assert not all(np.array_equal(runs[0], run) for run in runs[1:])
