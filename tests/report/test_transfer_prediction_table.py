"""transfer_prediction: learning-only refits scored on the transfer phase, by hand."""

import numpy as np
import pandas as pd
import pytest

import avoidrl
from avoidrl._core.task import PAIR_NAMES, STIMULUS_NAMES
from avoidrl.report import transfer_prediction

SETTINGS = {"start": "fixed", "random_state": 5}
BOUNDS = {"temperature": (0.02, 0.5)}


def _q_learning_values(rows, factual, counterfactual):
    """QLearning's Q after one participant's learning rows (outcomes / 10, option 0 the better)."""
    q = np.zeros((len(PAIR_NAMES), 2))
    for row in rows.itertuples():
        pair = PAIR_NAMES.index(row.symbol_names)
        left_better = row.symbol_L_value > row.symbol_R_value
        outcome = np.array([row.feedback_L, row.feedback_R])[[0, 1] if left_better else [1, 0]]
        chosen = row.choice_made if left_better else 1 - row.choice_made
        for option in (0, 1):
            rate = factual if option == chosen else counterfactual
            q[pair, option] += rate * (outcome[option] / 10.0 - q[pair, option])
    return q


def _by_hand(learning, transfer, params, novel):
    """Per participant: (log loss, accuracy) of QLearning at ``params``, N valued ``novel``."""
    result = {}
    for pid, rows in transfer.groupby("participant_id", sort=False):
        p = params.loc[pid]
        q = _q_learning_values(learning[learning["participant_id"] == pid],
                               p["factual_lr"], p["counterfactual_lr"])
        values = dict(zip(STIMULUS_NAMES, [*q.ravel(), novel(p)]))
        left = rows["symbol_L_name"].map(values).to_numpy()
        right = rows["symbol_R_name"].map(values).to_numpy()
        p_right = 1.0 / (1.0 + np.exp(-(right - left) / p["temperature"]))
        choice = rows["choice_made"].to_numpy(float)
        p_chosen = np.where(choice == 1, p_right, 1.0 - p_right)
        # equal values (a pair never rewarded, N = 0) are a tie: half a hit
        hit = np.where(np.isclose(p_chosen, 0.5, rtol=0, atol=1e-9), 0.5, p_chosen > 0.5)
        result[pid] = (-np.log(p_chosen).mean(), hit.mean())
    return result


def test_learning_only_refit_predicts_transfer_as_computed_by_hand(small_frames):
    learning, transfer = small_frames
    full = avoidrl.make_model("QLearning+novel", bounds=BOUNDS, **SETTINGS).fit(learning, transfer)
    table = transfer_prediction({"Q": full}, learning, transfer)

    assert table.columns.tolist() == ["model", "participant_id", "group", "n_trials", "log_loss",
                                      "accuracy", "chance_log_loss", "in_sample_log_loss"]
    assert table["participant_id"].tolist() == list(full.params_.index)
    assert table["group"].tolist() == list(full.groups_)
    assert (table["n_trials"] == 22).all()
    assert np.allclose(table["chance_log_loss"], np.log(2))

    # the refit: the same model without +novel, same settings, seed and shared bounds
    learned = avoidrl.make_model("QLearning", bounds=BOUNDS, **SETTINGS).fit(learning)
    out_of_sample = _by_hand(learning, transfer, learned.params_, novel=lambda p: 0.0)
    in_sample = _by_hand(learning, transfer, full.params_, novel=lambda p: p["novel_value"])
    for row in table.itertuples():
        assert row.log_loss == pytest.approx(out_of_sample[row.participant_id][0], rel=1e-6)
        assert row.accuracy == pytest.approx(out_of_sample[row.participant_id][1])
        assert row.in_sample_log_loss == pytest.approx(in_sample[row.participant_id][0],
                                                       rel=1e-6)


def test_missed_transfer_trials_are_not_scored(small_frames):
    learning, transfer = small_frames
    transfer = transfer.astype({"choice_made": float})
    missed = transfer.index[transfer["participant_id"] == "p2"][:3]
    transfer.loc[missed, "choice_made"] = np.nan
    model = avoidrl.make_model("QLearning", **SETTINGS).fit(learning, transfer)
    table = transfer_prediction(model, learning, transfer).set_index("participant_id")
    assert table.loc["p2", "n_trials"] == 19 and table.loc["p1", "n_trials"] == 22
    kept = transfer.drop(missed)
    expected = _by_hand(learning, kept, avoidrl.make_model("QLearning", **SETTINGS)
                        .fit(learning).params_, novel=lambda p: 0.0)
    assert table.loc["p2", "log_loss"] == pytest.approx(expected["p2"][0], rel=1e-6)
    assert table.loc["p2", "accuracy"] == pytest.approx(expected["p2"][1])


def test_refuses_fits_of_other_methods_and_learning_only_data(small_frames):
    learning, transfer = small_frames

    class _OtherMethod:  # answers the protocol as a non-ML fit would
        fit_method, fit_method_name, model_name = "eb", "empirical-Bayes", "QLearning"
        params_ = pd.DataFrame(index=["p1"])

    with pytest.raises(ValueError, match="'QLearning' is not a maximum-likelihood fit "
                                         r"\(fit_method 'eb': empirical-Bayes\)"):
        transfer_prediction(_OtherMethod(), learning, transfer)
    model = avoidrl.make_model("QLearning", **SETTINGS).fit(learning, transfer)
    with pytest.raises(ValueError, match="transfer data are empty"):
        transfer_prediction(model, learning)
