"""Missed trials (``choice_made`` missing): no likelihood term and, in learning, no update.

For every built-in model this is documented as the same as the trial not
being there: the pairs' chains are independent and nothing happens between
trials, so a missed learning trial is left out of its pair's chain, and a
missed transfer trial out of the counts. The tests compare with the data
whose missed rows are deleted, with a hand computation, and with the
compiled kernel.
"""

import numpy as np
import pandas as pd
import pytest

from avoidrl import QLearning
from avoidrl._core import compiled
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import negative_log_likelihood
from avoidrl.models._builtin import BASE_MODELS, check_options, make_variant

LEARNING_MISSED = [2, 9, 17, 30, 55]  # rows of p1, p2 and p3
TRANSFER_MISSED = [1, 24, 50]


def _full_name(base):
    """The base model with every option it takes (so every parameter is exercised)."""
    name = base + "+novel"
    for option, bias, decay in (("bias", True, False), ("decay", False, True)):
        try:
            check_options(base, bias, decay)
        except ValueError:
            continue
        name += "+" + option
    return name


def _with_missed(small_frames, learning_rows=LEARNING_MISSED, transfer_rows=TRANSFER_MISSED):
    learning, transfer = (frame.copy() for frame in small_frames)
    for frame, rows in ((learning, learning_rows), (transfer, transfer_rows)):
        frame["choice_made"] = frame["choice_made"].astype(float)
        frame.loc[rows, "choice_made"] = np.nan
    return learning, transfer


def _params(variant, n, seed=0):
    """Parameters spread within each parameter's default bounds."""
    rng = np.random.default_rng(seed)
    low = np.array([p.low for p in variant.parameters])
    high = np.array([p.high for p in variant.parameters])
    return low + (high - low) * rng.uniform(0.1, 0.9, size=(n, len(low)))


@pytest.mark.parametrize("base", list(BASE_MODELS))
def test_missed_trials_equal_deleted_rows(small_frames, base):
    variant = make_variant(_full_name(base))
    learning, transfer = _with_missed(small_frames)
    missed = load_task_data(learning, transfer)
    deleted = load_task_data(learning.drop(index=LEARNING_MISSED),
                             transfer.drop(index=TRANSFER_MISSED))
    params = _params(variant, missed.n_participants)
    got = negative_log_likelihood(variant, missed, params)
    expected = negative_log_likelihood(variant, deleted, params)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
    # and the missed trials did change the data: the full data give another NLL
    full = negative_log_likelihood(variant, load_task_data(*small_frames), params)
    assert not np.allclose(full[0], got[0])


def _hand_qlearning_nll(learning, transfer, pid, alpha_f, alpha_cf, temperature):
    """QLearning's NLL of one participant written out trial by trial (missed: nothing)."""
    pair_values = {"Reward1": (4, 3), "Reward2": (4, 3), "Punish1": (2, 1), "Punish2": (2, 1)}
    q = {pair: [0.0, 0.0] for pair in pair_values}  # [better, worse]
    nll = 0.0
    for _, row in learning[learning["participant_id"] == pid].iterrows():
        if pd.isna(row["choice_made"]):
            continue  # missed: no term, no update
        pair = row["symbol_names"]
        left_better = row["symbol_L_value"] > row["symbol_R_value"]
        chosen = int(row["choice_made"]) if left_better else 1 - int(row["choice_made"])
        outcome = ([row["feedback_L"] / 10, row["feedback_R"] / 10] if left_better
                   else [row["feedback_R"] / 10, row["feedback_L"] / 10])
        values = q[pair]
        nll -= values[chosen] / temperature - np.logaddexp(values[0] / temperature,
                                                           values[1] / temperature)
        for option, rate in ((chosen, alpha_f), (1 - chosen, alpha_cf)):
            values[option] += rate * (outcome[option] - values[option])
    stimulus = {"75R1": q["Reward1"][0], "25R1": q["Reward1"][1], "75R2": q["Reward2"][0],
                "25R2": q["Reward2"][1], "25P1": q["Punish1"][0], "75P1": q["Punish1"][1],
                "25P2": q["Punish2"][0], "75P2": q["Punish2"][1], "Zero": 0.0}
    for _, row in transfer[transfer["participant_id"] == pid].iterrows():
        if pd.isna(row["choice_made"]):
            continue
        left, right = stimulus[row["symbol_L_name"]], stimulus[row["symbol_R_name"]]
        chosen = right if row["choice_made"] == 1 else left
        nll -= chosen / temperature - np.logaddexp(left / temperature, right / temperature)
    return nll


def test_missed_trials_against_a_hand_computation(small_frames):
    learning, transfer = _with_missed(small_frames)
    data = load_task_data(learning, transfer)
    params = np.array([[0.3, 0.15, 0.2], [0.6, 0.4, 0.1], [0.2, 0.05, 0.5]])
    learn, trans = negative_log_likelihood(make_variant("QLearning"), data, params)
    for i, pid in enumerate(data.participants):
        expected = _hand_qlearning_nll(learning, transfer, pid, *params[i])
        assert learn[i] + trans[i] == pytest.approx(expected, rel=1e-12)


@pytest.mark.slow
@pytest.mark.skipif(not compiled.AVAILABLE, reason="numba is not installed")
def test_compiled_kernel_agrees_with_missed_trials(small_frames, monkeypatch):
    variant = make_variant("Hybrid2021+bias+novel+decay")
    data = load_task_data(*_with_missed(small_frames))
    monkeypatch.setattr(compiled, "ENABLED", True)
    monkeypatch.setattr(compiled, "COMPILE_AFTER_ROWS", 0)
    monkeypatch.setattr(compiled, "_KERNELS", {})
    monkeypatch.setattr(compiled, "_UNCHECKED", set())
    params = _params(variant, 40, seed=1)
    owner = np.arange(40) % data.n_participants
    got = negative_log_likelihood(variant, data, params, owner)
    # the kernel was compiled and passed its bit-for-bit comparison with numpy on these data
    assert compiled._KERNELS[variant.base] is not None
    monkeypatch.setattr(compiled, "ENABLED", False)
    expected = negative_log_likelihood(variant, data, params, owner)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(g, e)


def test_counts_exclude_missed_trials(small_frames):
    data = load_task_data(*_with_missed(small_frames))
    full = load_task_data(*small_frames)
    # rows 2, 9, 17 are p1's, 30 p2's, 55 p3's learning rows; 1 p1's, 24 and 50 p2's and p3's
    learning, transfer = small_frames
    who_l = learning.loc[LEARNING_MISSED, "participant_id"].value_counts()
    who_t = transfer.loc[TRANSFER_MISSED, "participant_id"].value_counts()
    for i, pid in enumerate(data.participants):
        assert data.n_missed_learning[i] == who_l.get(pid, 0)
        assert data.n_missed_transfer[i] == who_t.get(pid, 0)
    np.testing.assert_array_equal(data.n_trials, full.n_trials - data.n_missed)
    # a missed trial keeps its place among the participant's rows
    assert data.learning_row.max() == full.learning_row.max()
    assert data.transfer_shown.sum() == len(transfer)
    assert data.transfer_mask.sum() == len(transfer) - len(TRANSFER_MISSED)


def test_fit_with_missed_trials_equals_fit_without_the_rows(small_frames):
    learning, transfer = _with_missed(small_frames)
    missed = QLearning(n_starts=2, random_state=0).fit(learning, transfer)
    deleted = QLearning(n_starts=2, random_state=0).fit(
        learning.drop(index=LEARNING_MISSED), transfer.drop(index=TRANSFER_MISSED))
    pd.testing.assert_frame_equal(missed.params_, deleted.params_)
    pd.testing.assert_series_equal(missed.bic_, deleted.bic_)
    pd.testing.assert_series_equal(missed.n_trials_, deleted.n_trials_)
    assert missed.n_missed_.tolist() == [4, 2, 2]
    assert deleted.n_missed_.tolist() == [0, 0, 0]
    from avoidrl.report import information_criteria
    assert information_criteria(missed)["n_missed"].tolist() == [4, 2, 2]


@pytest.mark.parametrize("phase", ["learning", "transfer"])
def test_refusing_missed_trials_names_participant_and_rows(small_frames, phase):
    learning, transfer = _with_missed(small_frames, [30, 33] if phase == "learning" else [],
                                      [24] if phase == "transfer" else [])
    frame = learning if phase == "learning" else transfer
    pid = frame.loc[30 if phase == "learning" else 24, "participant_id"]
    rows = r"\[30, 33\]" if phase == "learning" else r"\[24\]"
    match = rf"{phase} data: column 'choice_made' is missing.*participant '{pid}', rows {rows}"
    with pytest.raises(ValueError, match=match):
        load_task_data(learning, transfer, missed="error")
    with pytest.raises(ValueError, match=match):
        QLearning(missed_trials="error").fit(learning, transfer)


@pytest.mark.parametrize("value", ["drop", None, 1])
def test_missed_trials_option_is_checked(small_frames, value):
    with pytest.raises(ValueError, match=r"missed_trials must be one of \['skip', 'error'\]"):
        QLearning(missed_trials=value).fit(*small_frames)


@pytest.mark.parametrize("blank", [np.nan, None, "", "  "])
def test_missing_forms_and_missing_feedback(small_frames, blank):
    learning, transfer = (frame.copy() for frame in small_frames)
    learning["choice_made"] = learning["choice_made"].astype(object)
    learning["feedback_L"] = learning["feedback_L"].astype(float)
    learning.loc[4, "choice_made"] = blank
    learning.loc[4, "feedback_L"] = np.nan  # a timed-out trial may show no feedback
    data = load_task_data(learning, transfer)
    assert data.n_missed_learning.sum() == 1
    # feedback is still required where a choice was made
    learning.loc[5, "feedback_L"] = np.nan
    with pytest.raises(ValueError, match=r"'feedback_L'.*row 5"):
        load_task_data(learning, transfer)


def test_missed_trials_in_a_csv(small_frames, tmp_path):
    learning, transfer = _with_missed(small_frames)
    paths = [tmp_path / "learning.csv", tmp_path / "transfer.csv"]
    for frame, path in zip((learning, transfer), paths):
        frame.to_csv(path, index=False)  # NaN is written as an empty cell
    data = load_task_data(*paths)
    assert data.n_missed.sum() == len(LEARNING_MISSED) + len(TRANSFER_MISSED)


def test_simulated_templates_keep_missed_trials_missed(small_frames):
    learning, transfer = _with_missed(small_frames)
    model = QLearning()
    params = pd.DataFrame({"factual_lr": 0.3, "counterfactual_lr": 0.2, "temperature": 0.2},
                          index=pd.Index(["p1", "p2", "p3"], name="participant_id"))
    sim_learning, sim_transfer = model.sample(learning, transfer, params=params, random_state=0)
    for sim, frame in ((sim_learning, learning), (sim_transfer, transfer)):
        assert sim["choice_made"].isna().to_numpy().tolist() == \
            frame["choice_made"].isna().to_numpy().tolist()
    # and the simulated data load again, with the same missed trials
    assert load_task_data(sim_learning, sim_transfer).n_missed.sum() == 8
