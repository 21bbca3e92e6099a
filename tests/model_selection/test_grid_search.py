"""Grid searches with GridSearchCV: models by in-sample BIC, bounds by recoverability."""

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from avoidrl import QLearning, load_example
from avoidrl.model_selection import InSampleSplit, combine_phases
from avoidrl.recovery import ParameterRecovery


@pytest.fixture(scope="module")
def frames():
    learning, transfer = load_example()
    keep = pd.unique(learning["participant_id"])[:6]
    return (learning[learning["participant_id"].isin(keep)],
            transfer[transfer["participant_id"].isin(keep)])


GRID = {"bounds": [{"temperature": (0.01, high)} for high in (0.05, 0.2, 1.0)]}


def _temperature_bounds(*highs):
    return {"estimator__bounds": [{"temperature": (0.01, high)} for high in highs]}


def test_in_sample_grid_search_compares_models_by_mean_bic(frames):
    # QLearning with and without the novel value differ in k: BIC is the criterion
    X = combine_phases(*frames)
    estimator = QLearning(n_starts=3, random_state=0)
    search = GridSearchCV(estimator, {"novel": [False, True]}, cv=InSampleSplit()).fit(X)
    by_hand = []
    for params in search.cv_results_["params"]:
        model = QLearning(n_starts=3, random_state=0, **params).fit(*frames)
        n = model.n_trials_.to_numpy(float)
        by_hand.append(-np.mean(len(model.parameter_names) * np.log(n) + 2 * model.nll_))
    np.testing.assert_allclose(search.cv_results_["mean_test_score"], by_hand)
    # the example data were generated with a novel value
    assert search.best_params_ == {"novel": True}
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


def test_in_sample_split_and_combine_phases():
    split = list(InSampleSplit().split(np.zeros((4, 2))))
    assert len(split) == InSampleSplit().get_n_splits() == 1
    assert split[0][0].tolist() == split[0][1].tolist() == [0, 1, 2, 3]
    learning, transfer = load_example()
    X = combine_phases(learning.drop(columns="trial_type"), transfer)
    assert (X["trial_type"].iloc[:len(learning)] == "learning-trials").all()
    assert (X["trial_type"].iloc[len(learning):] == "probe").all()
    # every example participant has 96 learning and 384 transfer trials
    assert (X["participant_trials"] == 480).all()


def test_recoverability_search_shows_the_tutorials_point(frames):
    # Each candidate's bounds are also the range its true parameters are drawn from
    # (the reference tutorial's question): with temperatures up to 10, most synthetic
    # participants choose nearly at random and their learning rates cannot be recovered.
    X = combine_phases(*frames)
    recovery = ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=24,
                                 random_state=0)
    search = GridSearchCV(recovery, _temperature_bounds(0.2, 10.0), cv=InSampleSplit()).fit(X)
    assert search.best_params_ == {"estimator__bounds": {"temperature": (0.01, 0.2)}}
    narrow, wide = (clone(recovery).set_params(**params).fit(X)
                    for params in search.cv_results_["params"])
    np.testing.assert_allclose(search.cv_results_["mean_test_score"],
                               [narrow.score(X), wide.score(X)])
    for lr in ("factual_lr", "counterfactual_lr"):
        assert narrow.recoverability_[lr] > 0.7 and wide.recoverability_[lr] < 0.2, lr


@pytest.mark.slow
def test_bounds_that_exclude_the_truth_score_worse(frames):
    # The same population for every candidate (temperatures up to 0.2): a fitting bound
    # of 0.05 excludes most true temperatures and recovers worse than bounds covering them.
    X = combine_phases(*frames)
    recovery = ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=24,
                                 generating_bounds={"temperature": (0.01, 0.2)},
                                 random_state=0)
    search = GridSearchCV(recovery, _temperature_bounds(0.05, 0.2, 1.0),
                          cv=InSampleSplit()).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] < min(scores[1:]) - 0.2, scores
    fits = [clone(recovery).set_params(**params).fit(X)
            for params in search.cv_results_["params"]]
    # candidates recover the very same datasets ...
    for other in fits[1:]:
        pd.testing.assert_frame_equal(fits[0].true_params_, other.true_params_)
    assert fits[0].true_params_["temperature"].max() > 0.15
    # ... and the excluded temperatures pile on the bound
    assert fits[0].fitted_params_["temperature"].max() <= 0.05 + 1e-9
    assert fits[0].recoverability_["temperature"] < 0 < fits[1].recoverability_["temperature"]


def test_score_is_the_mean_identity_r2_of_the_fit(frames):
    X = combine_phases(*frames)
    recovery = ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=12,
                                 random_state=3).fit(X)
    true, fitted = recovery.true_params_, recovery.fitted_params_
    by_hand = 1 - ((fitted - true) ** 2).sum() / ((true - true.mean()) ** 2).sum()
    pd.testing.assert_series_equal(recovery.recoverability_, by_hand, check_names=False)
    assert recovery.score(X) == pytest.approx(by_hand.mean())
    # the long frame and the two frames are the same template data
    two = ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=12,
                            random_state=3).fit(*frames)
    pd.testing.assert_frame_equal(two.fits_, recovery.fits_)
    assert two.score(*frames) == recovery.score(X)
    # score fits nothing: other data than the templates are refused
    with pytest.raises(ValueError, match="InSampleSplit"):
        recovery.score(X[X["participant_id"] != "sub-001"])
    with pytest.raises(ValueError, match="InSampleSplit"):
        recovery.score()
    default_design = ParameterRecovery(QLearning(n_starts=2), n_datasets=6,
                                       random_state=0).fit()
    assert np.isfinite(default_design.score())


def test_recoverability_search_does_not_depend_on_n_jobs(frames):
    X = combine_phases(*frames)
    recovery = ParameterRecovery(QLearning(novel=True, n_starts=2), n_datasets=20,
                                 generating_bounds={"temperature": (0.01, 0.3)},
                                 random_state=1)
    serial = GridSearchCV(recovery, _temperature_bounds(0.1, 0.3), cv=InSampleSplit()).fit(X)
    with parallel_config(backend="threading"):
        parallel = GridSearchCV(recovery.set_params(n_jobs=2), _temperature_bounds(0.1, 0.3),
                                cv=InSampleSplit(), n_jobs=2).fit(X)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  parallel.cv_results_["mean_test_score"])


def test_generating_bounds_are_checked():
    with pytest.raises(ValueError, match="generating_bounds: unknown parameter"):
        list(ParameterRecovery(QLearning(), generating_bounds={"lr": (0, 1)}).split())
    with pytest.raises(ValueError, match="generating_bounds: .*low < high"):
        list(ParameterRecovery(QLearning(), generating_bounds={"temperature": (1, 0.1)}).split())
    with pytest.raises(ValueError, match="generating_bounds must be None or a dict"):
        list(ParameterRecovery(QLearning(), generating_bounds=[0.1, 1]).split())
    # the named parameters are drawn within generating_bounds, whatever the fitting bounds
    recovery = ParameterRecovery(QLearning(bounds={"temperature": (0.01, 0.05)}), n_datasets=30,
                                 generating_bounds={"temperature": (0.5, 0.9)}, random_state=0)
    true = pd.DataFrame([d.true_params for d in recovery.split()])
    assert true["temperature"].between(0.5, 0.9).all()
    assert true["factual_lr"].between(0.01, 0.99).all()
    centred = ParameterRecovery(QLearning(), n_datasets=30, sampler="normal",
                                generating_bounds={"temperature": (0.5, 0.9)}, random_state=0)
    true = pd.DataFrame([d.true_params for d in centred.split()])
    assert true["temperature"].between(0.5, 0.9).all()
