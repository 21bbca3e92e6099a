"""resimulate: a parametric bootstrap on the data arrays, the same as simulating frames."""

import numpy as np
import pytest

from avoidrl import load_example, make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.simulate import resimulate, simulate_frames


@pytest.mark.parametrize("name", ["QLearning+novel", "Hybrid2012+novel"])
def test_resimulated_arrays_are_those_of_simulated_frames(name):
    """Each participant's choices, laid out as load_task_data lays out frames simulated
    with the same stream: learning chains, transfer choices and the pair counts the
    likelihood reads. The cut through the last participant's rows leaves it with shorter
    chains than the others (padding), which must not shift its draws."""
    learning, transfer = load_example()
    learning = learning.iloc[:1000]
    ids = learning["participant_id"].unique()
    transfer = transfer[transfer["participant_id"].isin(ids)]
    model = make_model(name)
    data = model._load(learning, transfer)
    rng = np.random.default_rng(0)
    low, high = model._fit_settings().low, model._fit_settings().high
    params = low + (high - low) * rng.uniform(0.1, 0.9, (len(ids), len(low)))
    boot = resimulate(model._variant(), data, params,
                      [np.random.RandomState(10 + i) for i in range(len(ids))])
    assert boot.participants.tolist() == data.participants.tolist()
    np.testing.assert_array_equal(boot.outcome, data.outcome)
    assert not np.array_equal(boot.choice, data.choice)
    for i, pid in enumerate(data.participants):
        own_learning = learning[learning["participant_id"] == pid]
        own_transfer = transfer[transfer["participant_id"] == pid]
        frames = simulate_frames(model._variant(), params[i:i + 1], [pid], own_learning,
                                 own_transfer, [pid], np.random.RandomState(10 + i))
        alone = load_task_data(*frames)
        mine = boot.subset([i])
        steps = alone.choice.shape[0]
        np.testing.assert_array_equal(mine.choice[:steps], alone.choice)
        assert not mine.choice[steps:].any()
        np.testing.assert_array_equal(mine.transfer_choice, alone.transfer_choice)
        np.testing.assert_array_equal(alone.transfer_pairs, boot.transfer_pairs)
        np.testing.assert_array_equal(mine.transfer_counts, alone.transfer_counts)
    assert data.choice.shape[0] > load_task_data(
        learning[learning["participant_id"] == ids[-1]],
        transfer[transfer["participant_id"] == ids[-1]]).choice.shape[0]
