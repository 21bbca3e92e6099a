"""Learning-only fits and the prediction of the transfer phase from them."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.metrics import log_loss

from avoidrl import QLearning
from avoidrl._core.data import load_task_data, split_phases
from avoidrl.estimators import Hybrid2021
from avoidrl.models._builtin import make_variant


def _long(learning, transfer):
    return pd.concat([learning, transfer], ignore_index=True)


def test_learning_only_fit_in_each_form(small_frames):
    learning, transfer = small_frames
    model = QLearning(n_starts=1, random_state=0)
    fitted = model.fit(learning).params_
    # the same fit from an empty transfer frame, a long frame of learning rows only,
    # and a learning frame without trial_type
    for X, X_transfer in ((learning, transfer.iloc[:0]),
                          (learning.drop(columns="trial_type"), None),
                          (_long(learning, transfer.iloc[:0]), None)):
        pd.testing.assert_frame_equal(model.fit(X, X_transfer).params_, fitted)
    nll = model.negative_log_likelihood(learning)
    assert (nll["transfer"] == 0).all()
    assert model.n_trials_.tolist() == [24, 24, 24]
    # the long frame of both phases still fits both
    both = QLearning(n_starts=1, random_state=0).fit(_long(learning, transfer))
    assert both.n_trials_.tolist() == [46, 46, 46]


def test_learning_only_refuses_transfer_only_parameters(small_frames):
    with pytest.raises(ValueError, match=r"no transfer trials.*novel=True"):
        QLearning(novel=True).fit(small_frames[0])


def test_a_long_frame_without_trial_type_is_still_an_error(small_frames):
    X = _long(*small_frames).drop(columns="trial_type")
    with pytest.raises(ValueError, match=r"'trial_type' is missing"):
        split_phases(X)


def _hand_probabilities(variant, learning, transfer, params):
    """P(right) of each transfer row: softmax of the two symbols' learned values."""
    data = load_task_data(learning)
    from avoidrl._core.likelihood import learning_recursion
    theta = variant.theta(params)
    _, final = learning_recursion(variant, theta, data.choice, data.outcome,
                                  data.mask.sum(axis=0) if data.padded else None)
    values = variant.transfer_values(final, theta)
    names = ["75R1", "25R1", "75R2", "25R2", "25P1", "75P1", "25P2", "75P2", "Zero"]
    position = {pid: i for i, pid in enumerate(data.participants)}
    p_right = []
    for _, row in transfer.iterrows():
        i = position[row["participant_id"]]
        v_left = values[i, names.index(row["symbol_L_name"])]
        v_right = values[i, names.index(row["symbol_R_name"])]
        t = theta["temperature"][i, 0]
        p = np.exp(v_right / t) / (np.exp(v_left / t) + np.exp(v_right / t))
        if variant.base.lapse:
            eps = theta["noise_factor"][i, 0]
            p = (1 - eps) * p + eps / 2
        p_right.append(p)
    return np.array(p_right)


@pytest.mark.parametrize("model", [QLearning(n_starts=1, random_state=0),
                                   Hybrid2021(n_starts=1, random_state=0)])
def test_predict_proba_against_a_hand_computation(small_frames, model):
    learning, transfer = small_frames
    model.fit(learning)
    proba = model.predict_proba(learning, transfer)
    assert proba.shape == (len(transfer), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    variant = make_variant(model.model_name_)
    expected = _hand_probabilities(variant, learning, transfer,
                                   model.params_.to_numpy())
    np.testing.assert_allclose(proba[:, 1], expected, rtol=1e-10)
    # one long frame of both phases gives the same
    np.testing.assert_allclose(model.predict_proba(_long(learning, transfer)), proba)


def test_transfer_log_loss_matches_sklearn(small_frames):
    learning, transfer = (frame.copy() for frame in small_frames)
    transfer["choice_made"] = transfer["choice_made"].astype(float)
    transfer.loc[[3, 40], "choice_made"] = np.nan  # missed: predicted, not scored
    model = QLearning(n_starts=1, random_state=0).fit(learning)
    proba = model.predict_proba(learning, transfer)
    table = model.transfer_log_loss(learning, transfer)
    made = transfer["choice_made"].notna().to_numpy()
    assert np.isfinite(proba).all()
    assert table["n_trials"].sum() == made.sum()
    overall = table["nll"].sum() / table["n_trials"].sum()
    assert overall == pytest.approx(
        log_loss(transfer.loc[made, "choice_made"], proba[made], labels=[0, 1]), rel=1e-12)
    for pid, row in table.iterrows():
        mine = (transfer["participant_id"] == pid).to_numpy() & made
        assert row["log_loss"] == pytest.approx(
            log_loss(transfer.loc[mine, "choice_made"], proba[mine], labels=[0, 1]), rel=1e-12)
    # the transfer NLL the fit of both phases would see at these parameters
    nll = model.negative_log_likelihood(learning, transfer)
    np.testing.assert_allclose(table["nll"], nll["transfer"], rtol=1e-12)


def test_prediction_needs_transfer_rows_and_a_fit(small_frames):
    learning, _ = small_frames
    with pytest.raises(NotFittedError):
        QLearning().predict_proba(*small_frames)
    model = QLearning(n_starts=1, random_state=0).fit(learning)
    with pytest.raises(ValueError, match=r"transfer data are empty"):
        model.predict_proba(learning)
    with pytest.raises(ValueError, match=r"transfer data are empty"):
        model.transfer_log_loss(learning)
