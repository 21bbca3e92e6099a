"""Profile-likelihood intervals (``intervals='profile'``): checked against SciPy's own profile."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from scipy.stats import chi2
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from avoidrl import ActorCritic, Hybrid2012, QLearning
from avoidrl._core.likelihood import Objective
from avoidrl.recovery._calibration import coverage_table

from .._helpers import small_example

RISE = chi2.ppf(0.95, 1) / 2


@pytest.fixture(scope="module")
def fitted():
    learning, transfer = small_example(per_group=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = QLearning(novel=True, random_state=1, intervals="profile").fit(learning, transfer)
    return model, learning, transfer


def scipy_profile(objective, participant, params, column, value, box, starts):
    """The profile NLL at ``value``: SciPy's L-BFGS-B over the other parameters, best of starts."""
    free = [j for j in range(len(params)) if j != column]

    def nll(y):
        x = np.array(params, dtype=float)
        x[free] = y
        x[column] = value
        return float(objective(x[None, :], np.array([participant]))[0])

    return min(minimize(nll, start[free], method="L-BFGS-B", bounds=box[free]).fun
               for start in starts)


def test_the_interval_ends_are_where_scipys_profile_rises_by_the_chi2_cut(fitted):
    """At each end the profile (re-minimised by SciPy, independently) is 1.92 above the
    minimum; a little further out it is above that, unless the end is a bound."""
    model, learning, transfer = fitted
    data = model._load(learning, transfer)
    settings = model._fit_settings()
    objective = Objective(settings.variant, data)
    names = model.parameter_names
    box = np.array([model.bounds_[p] for p in names])
    rng = np.random.default_rng(0)
    checked_crossings = 0
    for i, participant in enumerate(data.participants[:2]):
        estimate = model.params_.loc[participant].to_numpy()
        best = model.nll_.loc[participant]
        starts = [estimate] + [box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random(len(names))
                               for _ in range(3)]
        for j, name in enumerate(names):
            row = model.params_ci_.loc[(participant, name)]
            assert row["lower"] <= row["estimate"] <= row["upper"]
            for end, outward in ((row["lower"], -1), (row["upper"], 1)):
                at_end = scipy_profile(objective, i, estimate, j, end, box, starts)
                if end in box[j]:  # the region reaches the bound
                    assert at_end <= best + RISE + 1e-3
                    continue
                assert at_end == pytest.approx(best + RISE, abs=0.05), (participant, name, end)
                step = 0.02 * (box[j, 1] - box[j, 0])
                beyond = np.clip(end + outward * step, *box[j])
                assert scipy_profile(objective, i, estimate, j, beyond, box, starts) \
                    > best + RISE
                checked_crossings += 1
    assert checked_crossings >= 8


@pytest.mark.slow
def test_wald_and_profile_agree_where_the_likelihood_is_nearly_quadratic(fitted):
    """Same estimates either way; on well-informed parameters the two intervals nearly match."""
    model, learning, transfer = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wald = clone(model).set_params(intervals="wald").fit(learning, transfer)
    pd.testing.assert_frame_equal(wald.params_, model.params_)
    both = wald.params_ci_.merge(model.params_ci_, left_index=True, right_index=True,
                                 suffixes=("", "_profile")).dropna()
    width = both["upper"] - both["lower"]
    assert len(both) >= 20
    # the median end moves by well under a tenth of the interval's width
    assert (np.abs(both["lower_profile"] - both["lower"]) / width).median() < 0.1
    assert (np.abs(both["upper_profile"] - both["upper"]) / width).median() < 0.1


def test_every_estimate_gets_an_interval_including_those_on_a_bound():
    learning, transfer = small_example(per_group=3)
    # a narrow temperature range puts several estimates on its bound
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = QLearning(novel=True, random_state=0, bounds={"temperature": (0.05, 0.06)},
                          intervals="profile").fit(learning, transfer)
    table = model.params_ci_
    assert np.isfinite(table[["lower", "upper"]].to_numpy()).all()
    on_bound = table[table["status"] != "interior"]
    assert len(on_bound) > 0
    for (participant, name), row in on_bound.iterrows():
        bound = model.bounds_[name][0 if row["status"] == "at lower bound" else 1]
        assert bound in (row["lower"], row["upper"])
    # ParameterRecovery's coverage counts them (they have a finite interval)
    truth = model.params_.copy()
    cover = coverage_table(truth, table)
    assert (cover["n"] == len(truth)).all() and (cover["n_without_interval"] == 0).all()
    assert (cover["coverage"] == 1.0).all()  # each estimate lies in its own interval


def test_a_participants_interval_does_not_depend_on_who_else_is_fitted(fitted):
    model, learning, transfer = fitted
    first = learning["participant_id"].iloc[0]
    alone = clone(model).fit(learning[learning["participant_id"] == first],
                             transfer[transfer["participant_id"] == first])
    pd.testing.assert_frame_equal(alone.params_ci_, model.params_ci_.loc[[first]],
                                  check_exact=False, rtol=1e-9)


def test_the_intervals_are_the_same_for_any_n_jobs(fitted):
    model, learning, transfer = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        two = clone(model).set_params(n_jobs=2).fit(learning, transfer)
    pd.testing.assert_frame_equal(two.params_ci_, model.params_ci_, check_exact=True)


@pytest.mark.slow
def test_calibrated_intervals_widen_the_profile_by_their_bootstrap_cut(fitted):
    """intervals='calibrated-profile': the cut is never below chi2_1(.95)/2, is the 95 %
    prediction bound of the bootstrap's likelihood ratios (the 195th smallest of 204) where
    that is larger, and the intervals contain the chi2 profile's; the same for any n_jobs."""
    from avoidrl.estimators._intervals import calibrated_cut
    from avoidrl.estimators._multistart import participant_seeds

    model, learning, transfer = fitted
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        calibrated = clone(model).set_params(intervals="calibrated-profile").fit(
            learning, transfer)
        two = clone(calibrated).set_params(n_jobs=2).fit(learning, transfer)
    assert (model.profile_cut_ == RISE).all()
    cut = calibrated.profile_cut_
    assert list(cut.index) == model.parameter_names and (cut >= RISE).all()
    # the cut is the bootstrap's prediction bound (recomputed here) where it exceeds the chi2's
    data = model._load(learning, transfer)
    seeds = participant_seeds(1, data.participants)
    again, ratios = calibrated_cut(model._fit_settings(), data,
                                   calibrated.params_.to_numpy(), seeds)
    np.testing.assert_allclose(again, cut.to_numpy())
    # 6 participants: 34 replicates, so that at least 200 ratios set each quantile
    assert ratios.shape == (34 * 6, 4) and (ratios >= 0).all()
    # ceil(205 x .95) = 195: the 195th smallest ratio of each parameter
    np.testing.assert_allclose(np.maximum(RISE, np.sort(ratios, axis=0)[194]), again)
    # profile_calibration_ counts the same ratios
    table = calibrated.profile_calibration_
    assert list(table.index) == model.parameter_names and (table["n"] == 204).all()
    np.testing.assert_allclose(table["coverage_chi2"], (ratios <= RISE).mean(axis=0))
    np.testing.assert_allclose(table["cut"], cut.to_numpy())
    np.testing.assert_allclose(table["coverage"], (ratios <= again).mean(axis=0))
    assert (table["coverage"] >= 195 / 204 - 1e-12).all()
    assert (table["coverage"] >= table["coverage_chi2"]).all()
    both = model.params_ci_.merge(calibrated.params_ci_, left_index=True, right_index=True,
                                  suffixes=("", "_calibrated"))
    tolerance = 0.02 * (both["upper"] - both["lower"])
    assert (both["lower_calibrated"] <= both["lower"] + tolerance).all()
    assert (both["upper_calibrated"] >= both["upper"] - tolerance).all()
    pd.testing.assert_frame_equal(two.params_ci_, calibrated.params_ci_)


def test_the_cuts_prediction_bound_holds_for_a_new_exchangeable_value():
    """prediction_bound's rank, and the guarantee it gives: a new value drawn as the m were
    stays at or below it ceil((m + 1) .95) / (m + 1) of the time, where the interpolated
    95 % quantile holds (.95 m + .05) / (m + 1) of the time."""
    from avoidrl.estimators._intervals import prediction_bound

    values = np.arange(1.0, 241.0)[::-1]  # order must not matter
    assert prediction_bound(values, 0.95) == 229.0  # ceil(241 x .95) = 229
    assert prediction_bound(np.arange(1.0, 200.0), 0.95) == 190.0  # 200 x .95, exactly 190
    assert prediction_bound(np.arange(1.0, 10.0), 0.95) == 9.0  # fewer than 19: the largest
    columns = np.column_stack([np.arange(40.0), -np.arange(40.0)])
    np.testing.assert_array_equal(prediction_bound(columns, 0.95), [38.0, -1.0])

    # 40 chi2 draws and a 41st, 20,000 times: exact rates 39/41 = .951 and 38.05/41 = .928
    rng = np.random.RandomState(0)
    draws = rng.chisquare(1, size=(20_000, 41)) / 2
    bound = np.array([prediction_bound(row[:40], 0.95) for row in draws])
    quantile = np.quantile(draws[:, :40], 0.95, axis=1)
    held, held_by_quantile = np.mean(draws[:, 40] <= bound), np.mean(draws[:, 40] <= quantile)
    assert abs(held - 39 / 41) < 0.006 and held >= 0.944  # binomial sd .0015
    assert abs(held_by_quantile - 38.05 / 41) < 0.006


def test_a_wald_refit_keeps_no_profile_attributes(fitted):
    """'profile' sets profile_cut_ (1.92) and profile_calibration_ None; refitted with
    Wald intervals, the estimator keeps neither from the earlier fit."""
    model, learning, transfer = fitted
    assert model.profile_calibration_ is None and (model.profile_cut_ == RISE).all()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wald = clone(model).fit(learning, transfer)
        assert hasattr(wald, "profile_cut_")
        wald.set_params(intervals="wald").fit(learning, transfer)
    assert not hasattr(wald, "profile_cut_") and not hasattr(wald, "profile_calibration_")


def test_intervals_is_a_checked_constructor_parameter():
    model = Hybrid2012(novel=True, intervals="profile")
    assert model.get_params()["intervals"] == "profile"
    assert clone(model).intervals == "profile"
    assert QLearning().intervals == "wald"
    learning, transfer = small_example(per_group=1)
    with pytest.raises(ValueError, match="intervals must be one of"):
        QLearning(intervals="bootstrap").fit(learning, transfer)


@pytest.mark.slow
def test_a_better_optimum_met_by_the_profile_becomes_the_fit():
    """One fixed start leaves ActorCritic in poor optima for some participants; the
    profile search meets lower NLLs, descends from them, and reports those optima (with
    their intervals), never a worse one."""
    learning, transfer = small_example(per_group=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fixed = ActorCritic(novel=True, start="fixed").fit(learning, transfer)
        profiled = ActorCritic(novel=True, start="fixed", intervals="profile").fit(
            learning, transfer)
    gain = fixed.nll_ - profiled.nll_
    assert (gain >= 0).all()
    assert (gain > 50).sum() >= 2, gain
    moved = gain.index[gain > 0.1]
    kinds = profiled.fits_.set_index("participant_id")["kind"]
    assert set(kinds[kinds == "profile"].index) >= set(moved)
    assert (profiled.n_starts_used_[moved] > fixed.n_starts_used_[moved]).all()
    # nll_ is the NLL at params_, and each new estimate lies in its own interval
    nll = profiled.negative_log_likelihood(learning, transfer)
    np.testing.assert_allclose(nll.loc[profiled.nll_.index, "total"], profiled.nll_, rtol=1e-9)
    ci = profiled.params_ci_
    assert ((ci["lower"] <= ci["estimate"]) & (ci["estimate"] <= ci["upper"])).all()
    pd.testing.assert_series_equal(
        ci["estimate"], profiled.params_.stack().rename("estimate"), check_names=False,
        check_index_type=False)


@pytest.mark.slow
def test_profile_intervals_cover_the_hybrids_learning_rates_where_wald_intervals_do_not():
    """Hybrid2012+novel, 60 participants uniform within the bounds (temperature in
    [0.1, 0.2]): Wald intervals of the actor and critic learning rates cover about half
    the true values (their likelihood has kinks and several basins); profile intervals,
    searched from the fit's other optima too, cover at least .85 of every parameter
    (measured over 10 such populations: .88-.95, README)."""
    rng = np.random.RandomState(7)
    model = Hybrid2012(novel=True, random_state=7, n_jobs=2)
    bounds = model._fit_settings().bounds
    truth = pd.DataFrame(
        {p: rng.uniform(0.1, 0.2, 60) if p == "temperature" else rng.uniform(lo, hi, 60)
         for p, (lo, hi) in bounds.items()},
        index=pd.Index([f"p{i:03d}" for i in range(60)], name="participant_id"))
    learning, transfer = model.sample(params=truth, random_state=rng)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        wald = coverage_table(truth, model.fit(learning, transfer).params_ci_)
        profile = coverage_table(
            truth, model.set_params(intervals="profile").fit(learning, transfer).params_ci_)
    assert (profile["n"] == 60).all()
    assert (profile["coverage"] >= 0.85).all(), profile["coverage"]
    rates = ["factual_actor_lr", "counterfactual_actor_lr", "critic_lr"]
    # Wald counts only its interior estimates, and still covers far less
    assert (wald.loc[rates, "coverage"] < profile.loc[rates, "coverage"] - 0.15).all()


def one_fixed_start():
    """ActorCritic+novel with one fixed start (it misses optima): data, settings, seeds."""
    from avoidrl.estimators._multistart import participant_seeds

    learning, transfer = small_example(per_group=1)
    model = ActorCritic(novel=True, start="fixed")
    data = model._load(learning, transfer)
    return learning, transfer, model._fit_settings(), data, participant_seeds(0, data.participants)


def test_the_bootstraps_ratios_are_measured_from_the_best_optimum_known():
    """calibrated_cut's likelihood ratios at the generating values: where a refit's starts
    missed the optimum that a descent from the generating values meets, the participant
    descends from there first, as the fit's own profile does, so its ratios are those of a
    well-fitted optimum. Measured from the missed optimum, they were clipped to 0: the cut
    came out too low."""
    from avoidrl._core.transform import to_bounded, to_unbounded
    from avoidrl.estimators._intervals import _generating_ratios
    from avoidrl.estimators._multistart import best_of, fit_participants
    from avoidrl.estimators._profile import profile_at

    _, _, settings, data, seeds = one_fixed_start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        poor = fit_participants(data, seeds, settings, 1, False, 0)
        good = fit_participants(data, seeds, ActorCritic(novel=True)._fit_settings(), 1,
                                False, 0)
    poor_best, poor_nll = best_of(poor)
    good_best, good_nll = best_of(good)
    missed = poor_nll - good_nll > 1.0
    assert missed.sum() >= 2, poor_nll - good_nll
    # generating values half a unit of z from the good optimum
    low, high = settings.low, settings.high
    generating = to_bounded(np.clip(to_unbounded(good_best, low, high), -5, 5) + 0.5, low, high)

    ratios = _generating_ratios(settings, data, poor, generating)
    _, at_good = profile_at(settings.variant, data, good_best, settings.bounds, generating,
                            exact=settings.exact_gradient, options=settings.options)
    expected = np.maximum(at_good - good_nll[:, None], 0.0)
    np.testing.assert_allclose(ratios[missed], expected[missed], atol=0.1)
    assert (expected[missed] > 0.1).mean() > 0.5
    # the ratios measured from the missed optima (the earlier cut's) were mostly 0
    _, at_poor = profile_at(settings.variant, data, poor_best, settings.bounds, generating,
                            exact=settings.exact_gradient, options=settings.options)
    assert (np.maximum(at_poor - poor_nll[:, None], 0.0)[missed] == 0).mean() > 0.5
    # participants whose optimum was not missed are measured as before
    np.testing.assert_allclose(ratios[~missed], np.maximum(at_poor - poor_nll[:, None],
                                                           0.0)[~missed])


def test_the_bootstraps_refits_are_searched_as_the_fit_is(monkeypatch):
    """calibrated_cut refits each simulated group as the fit did, profile search
    included: its ratios are those of the refits after profile_search, which moves
    the participants whose starts missed an optimum (one fixed start on ActorCritic
    misses many)."""
    from avoidrl._core.simulate import resimulate
    from avoidrl.estimators import _intervals
    from avoidrl.estimators._multistart import _child_seed, fit_participants

    monkeypatch.setattr(_intervals, "CALIBRATION_SAMPLES", 1)  # three replicates
    learning, transfer, settings, data, seeds = one_fixed_start()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        good = ActorCritic(novel=True, random_state=0).fit(learning, transfer)
        params = good.params_.to_numpy()
        cut, ratios = _intervals.calibrated_cut(settings, data, params, seeds)
        searched, moved = [], 0
        for b in range(3):
            rngs = [np.random.RandomState(
                _child_seed(s, _intervals._SIMULATION_STREAM + b).generate_state(4))
                for s in seeds]
            boot = resimulate(settings.variant, data, params, rngs)
            records = fit_participants(
                boot, [_child_seed(s, _intervals._REFIT_STREAM + b) for s in seeds],
                settings, 1, False, 0)
            records, _, moved_b, _ = _intervals.profile_search(settings, boot, records)
            moved += moved_b.size
            searched.append(_intervals._generating_ratios(settings, boot, records, params))
    np.testing.assert_allclose(ratios, np.concatenate(searched))
    assert moved >= 1
    # 9 ratios are too few for a 95 % bound below the largest (19 are needed)
    np.testing.assert_allclose(cut, np.maximum(RISE, ratios.max(axis=0)))
