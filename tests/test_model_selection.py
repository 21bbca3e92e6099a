"""Grid searches over bounds with GridSearchCV, selecting by in-sample BIC."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV

from avoidrl import QLearning, load_example
from avoidrl.model_selection import InSampleSplit, combine_phases


@pytest.fixture(scope="module")
def frames():
    learning, transfer = load_example()
    keep = pd.unique(learning["participant_id"])[:6]
    return (learning[learning["participant_id"].isin(keep)],
            transfer[transfer["participant_id"].isin(keep)])


GRID = {"bounds": [{"temperature": (0.01, high)} for high in (0.05, 0.2, 1.0)]}


def test_grid_search_selects_the_lowest_mean_bic(frames):
    X = combine_phases(*frames)
    estimator = QLearning(novel=True, n_starts=3, random_state=0)
    search = GridSearchCV(estimator, GRID, cv=InSampleSplit()).fit(X)
    by_hand = [-QLearning(novel=True, n_starts=3, random_state=0, **params)
               .fit(*frames).bic_.mean() for params in search.cv_results_["params"]]
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], by_hand)
    assert search.best_index_ == int(np.argmax(by_hand))
    # the refitted best estimator saw both phases of every participant
    assert search.best_estimator_.n_trials_.eq(480).all()


def test_two_frame_form_is_refused_by_the_search(frames):
    # GridSearchCV takes the transfer frame for y; the phases' row counts differ,
    # so scikit-learn refuses it loudly: the one-frame form is the way.
    learning, transfer = frames
    search = GridSearchCV(QLearning(novel=True, n_starts=2), GRID, cv=InSampleSplit())
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        search.fit(learning, transfer)


def test_narrowed_bounds_move_default_start_values():
    model = QLearning(bounds={"temperature": (0.01, 0.05)})
    assert model._fit_settings()["init"]["temperature"] == 0.05
    with pytest.raises(ValueError, match="outside its bounds"):
        QLearning(bounds={"temperature": (0.01, 0.05)}, init={"temperature": 0.06})._fit_settings()


def test_row_splitting_cross_validation_fails_loudly(frames):
    # scikit-learn's default KFold splits trial rows: each participant would be
    # fitted on a partial sequence. With the long frame this cannot pass silently.
    search = GridSearchCV(QLearning(novel=True, n_starts=2), GRID, error_score="raise")
    with pytest.raises(ValueError, match="both phases|trials only|empty"):
        search.fit(combine_phases(*frames))


def test_in_sample_split_and_combine_phases():
    split = list(InSampleSplit().split(np.zeros((4, 2))))
    assert len(split) == InSampleSplit().get_n_splits() == 1
    assert split[0][0].tolist() == split[0][1].tolist() == [0, 1, 2, 3]
    learning, transfer = load_example()
    X = combine_phases(learning.drop(columns="trial_type"), transfer)
    assert (X["trial_type"].iloc[:len(learning)] == "learning-trials").all()
    assert (X["trial_type"].iloc[len(learning):] == "probe").all()
