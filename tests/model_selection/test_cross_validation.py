"""Cross-validation that cannot lie: split trials fail loudly, held-out participants score."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import (
    GridSearchCV, GroupKFold, GroupShuffleSplit, KFold, ShuffleSplit, cross_val_score,
)

from avoidrl import QLearning, load_example
from avoidrl.model_selection import InSampleSplit, combine_phases


@pytest.fixture(scope="module")
def X():
    learning, transfer = load_example()
    keep = pd.unique(learning["participant_id"])[:20]
    return combine_phases(learning[learning["participant_id"].isin(keep)],
                          transfer[transfer["participant_id"].isin(keep)])


SPLIT = "trials of .* participant\\(s\\) were split.*InSampleSplit.*GroupKFold"


@pytest.mark.parametrize("cv", [KFold(4, shuffle=True, random_state=0), KFold(4),
                                ShuffleSplit(2, random_state=0)],
                         ids=["shuffled KFold", "KFold", "ShuffleSplit"])
def test_splitting_a_participants_trials_fails_at_once(X, cv):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per fold
        with pytest.raises(ValueError, match=f"(?s)All the .* fits failed.*{SPLIT}"):
            cross_val_score(QLearning(novel=True, n_starts=1), X, cv=cv)
        with pytest.raises(ValueError, match=SPLIT):
            cross_val_score(QLearning(novel=True, n_starts=1), X, cv=cv, error_score="raise")


def test_default_cv_of_a_grid_search_fails_naming_the_splitters(X):
    search = GridSearchCV(QLearning(novel=True, n_starts=1),
                          {"bounds": [{"temperature": (0.01, t)} for t in (0.2, 1.0)]})
    with pytest.raises(ValueError, match=f"(?s){SPLIT}"):
        search.fit(X)


def test_partial_participants_are_refused_by_fit_and_score(X):
    model = QLearning(novel=True, n_starts=1, random_state=0).fit(X)
    dropped = X.drop(index=X.index[X["participant_id"] == "sub-002"][10:12])
    for method in (QLearning(novel=True, n_starts=1).fit, model.score,
                   model.negative_log_likelihood):
        with pytest.raises(ValueError, match="1 participant.*'sub-002', 478 of its 480"):
            method(dropped)
    # whole participants may be removed, and the count may be dropped with intent
    QLearning(novel=True, n_starts=1).fit(X[X["participant_id"] != "sub-002"])
    QLearning(novel=True, n_starts=1).fit(dropped.drop(columns="participant_trials"))
    shifted = X.set_index(X.index + 1000)
    last = shifted.index[-3]  # a transfer row
    broken = shifted.assign(participant_trials=np.where(shifted.index == last, np.nan, 480))
    with pytest.raises(ValueError, match=f"'participant_trials'.*first at row {last}"):
        QLearning(novel=True, n_starts=1).fit(broken)


def test_group_k_fold_scores_held_out_participants(X):
    groups = X["participant_id"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        scores = cross_val_score(QLearning(novel=True, n_starts=2, random_state=0), X,
                                 groups=groups, cv=GroupKFold(4))
        shuffled = cross_val_score(QLearning(novel=True, n_starts=2, random_state=0), X,
                                   groups=groups, cv=GroupShuffleSplit(2, random_state=0))
    assert scores.shape == (4,) and np.isfinite(scores).all()
    assert np.isfinite(shuffled).all()


def test_held_out_score_is_the_predictive_likelihood_under_the_fitted_population(X):
    ids = list(pd.unique(X["participant_id"]))
    train, test = X[X["participant_id"].isin(ids[:15])], X[X["participant_id"].isin(ids[15:])]
    model = QLearning(novel=True, n_starts=2, random_state=0).fit(train)
    # by hand: each fitted participant's parameters given to every held-out participant
    log_likelihood = np.column_stack([
        -model.negative_log_likelihood(test, params=pd.DataFrame(
            [model.params_.loc[pid]] * 5, index=ids[15:]))["total"].to_numpy()
        for pid in model.params_.index])
    top = log_likelihood.max(axis=1)
    log_mean = top + np.log(np.exp(log_likelihood - top[:, None]).mean(axis=1))
    assert model.score(test) == pytest.approx(np.mean(2 * log_mean))
    # a mean of likelihoods is at most the likelihood at the held-out participant's own
    # maximum (its fit with the same bounds): predicting is harder than fitting
    own = QLearning(novel=True, n_starts=2, random_state=0).fit(test)
    assert (-2 * log_mean >= 2 * own.nll_.to_numpy() - 1e-6).all()
    # in-sample participants keep their BIC score
    assert model.score(train) == pytest.approx(-model.bic_.mean())
    with pytest.raises(ValueError, match="not a mix"):
        model.score(X)


def test_held_out_score_prefers_the_generating_model(X):
    # The example data were generated with a novel value: held-out participants are
    # predicted better by the model that has it.
    kwargs = dict(groups=X["participant_id"], cv=GroupKFold(4))
    with_novel = cross_val_score(QLearning(novel=True, n_starts=2, random_state=0), X, **kwargs)
    without = cross_val_score(QLearning(n_starts=2, random_state=0), X, **kwargs)
    assert with_novel.mean() > without.mean() + 5


def test_in_sample_split_still_scores_by_bic(X):
    scores = cross_val_score(QLearning(novel=True, n_starts=2, random_state=0), X,
                             cv=InSampleSplit())
    model = QLearning(novel=True, n_starts=2, random_state=0).fit(X)
    assert scores[0] == pytest.approx(-model.bic_.mean())
