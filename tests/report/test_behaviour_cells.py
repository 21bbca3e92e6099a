"""The behaviour tables' shortcuts: simulations summarised by cells, loads shared.

The reference here is the frame path it replaced: ``estimator.sample``'s
frames (``_sample_on`` with the same seeds) summarised by ``_behaviour`` and
ordered by ``_order_behaviour``. The tables must be the same to the last bit,
with the same dtypes, on data that exercise the cells: three groups, missed
trials in both phases, a pair with fewer trials (other bins), integer ids, and
a model fitted to fewer participants, listed in another order.
"""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest

from avoidrl import make_model
from avoidrl._core.data import load_task_data
from avoidrl._tables.behaviour import _MAX_SEED, _behaviour, _order_behaviour
from avoidrl.report import learning_dynamics, posterior_predictive

N_SIMULATIONS = 2


@pytest.fixture(scope="module")
def fitted():
    model = make_model("QLearning+novel", n_starts=1, random_state=0)
    learning, transfer = model.sample(n_participants=6, random_state=5)
    ids = list(pd.unique(learning["participant_id"]))
    groups = dict(zip(ids, ["g1", "g2", "g3", "g1", "g2", "g3"]))
    for frame in (learning, transfer):
        frame["group_code"] = frame["participant_id"].map(groups)
        frame["choice_made"] = frame["choice_made"].astype(float)
    learning.loc[[3, 40, 41, 200], "choice_made"] = np.nan  # missed trials
    transfer.loc[[0, 7, 300], "choice_made"] = np.nan
    # the third participant's Reward2 loses five trials: other quarters
    short = learning.index[(learning["participant_id"] == ids[2])
                           & (learning["symbol_names"] == "Reward2")][-5:]
    learning = learning.drop(short).reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(learning, transfer)
    return model, learning, transfer


def _by_frames(models, learning, transfer, random_state):
    """posterior_predictive's model rows computed the former way (simulated frames)."""
    rng = np.random.RandomState(random_state)
    order = list(pd.unique(learning["participant_id"]))
    templates = load_task_data(learning, transfer)
    parts = ([], [])
    for name, estimator in models.items():
        for simulation in range(N_SIMULATIONS):
            seed = int(rng.randint(_MAX_SEED))
            frames = estimator.simulator._sample_on(templates, learning, transfer,
                                                    estimator.params_, seed)
            for table, part in zip(_order_behaviour(*_behaviour(*frames), order), parts):
                part.append(table.assign(source="model", model=name, simulation=pd.array(
                    [simulation] * len(table), dtype="Int64")))
    return [pd.concat(part, ignore_index=True) for part in parts]


def _assert_bitwise_equal(got, expected):
    got = got.reset_index(drop=True)[expected.columns]
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    for column in expected.columns:
        assert got[column].dtype == expected[column].dtype, column
        if expected[column].dtype.kind == "f":
            assert got[column].to_numpy().tobytes() == expected[column].to_numpy().tobytes()


@pytest.mark.parametrize("ids", ["text", "integer"])
def test_simulated_tables_equal_those_of_the_simulated_frames(fitted, ids):
    model, learning, transfer = fitted
    everyone = copy.deepcopy(model)
    fewer = copy.deepcopy(model)
    fewer.params_ = model.params_.iloc[[4, 0, 2]]  # fewer participants, another order
    if ids == "integer":
        number = {pid: 100 + i for i, pid in enumerate(model.params_.index)}
        learning, transfer = (frame.assign(participant_id=frame["participant_id"].map(number))
                              for frame in (learning, transfer))
        for estimator in (everyone, fewer):
            estimator.params_ = estimator.params_.rename(index=number)
    models = {"all": everyone, "fewer": fewer}
    accuracy, choice = posterior_predictive(models, learning, transfer, random_state=7,
                                            n_simulations=N_SIMULATIONS)
    expected = _by_frames(models, learning, transfer, random_state=7)
    # 6 + 3 simulated participants, 2 contexts x 4 bins / 5 stimulus types, per simulation
    assert [len(table) for table in expected] == [9 * 8 * N_SIMULATIONS, 9 * 5 * N_SIMULATIONS]
    for table, reference in zip((accuracy, choice), expected):
        _assert_bitwise_equal(table[table["source"] == "model"], reference)
    # the short pair's quarters and the smaller model's participants are there
    assert set(accuracy.loc[accuracy["model"] == "fewer", "participant"]) \
        == set(fewer.params_.index)


def test_models_sharing_a_load_replay_their_own_participants(fitted):
    """learning_dynamics loads the data once per participant set: each model's rows are
    those it gives alone, a model fitted to fewer participants included."""
    model, learning, transfer = fitted
    fewer = copy.deepcopy(model)
    fewer.params_ = model.params_.iloc[[4, 0, 2]]
    fewer.params_.iloc[:, 0] *= 0.5  # other parameters: other values
    models = {"all": model, "fewer": fewer, "all again": copy.deepcopy(model)}
    together = learning_dynamics(models, learning, transfer)
    alone = pd.concat([learning_dynamics({name: estimator}, learning, transfer)
                       for name, estimator in models.items()], ignore_index=True)
    pd.testing.assert_frame_equal(together, alone, check_exact=True)
    assert set(together.loc[together["model"] == "fewer", "participant"]) \
        == set(fewer.params_.index)
