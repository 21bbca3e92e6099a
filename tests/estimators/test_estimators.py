"""The estimators' behaviour: fitted attributes, fit quality, seeding, validation,
scoring, per-trial traces and simulation.

Everything runs on data simulated with the default task design; tests that use
the tutorial data (``../shared``) skip cleanly when it is absent.
"""

import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize
from sklearn.exceptions import ConvergenceWarning

import avoidrl
from avoidrl import make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import negative_log_likelihood
from avoidrl._core.simulate import TASK_COLUMNS
from avoidrl.estimators import ESTIMATORS

# The reference's free-parameter order (reference-spec.md 2.1-2.2): base
# parameters, then valence_factor, novel_value, decay_factor.
BASE_PARAMETERS = {
    "QLearning": ["factual_lr", "counterfactual_lr", "temperature"],
    "ActorCritic": ["factual_actor_lr", "counterfactual_actor_lr", "critic_lr", "temperature"],
    "Relative": ["factual_lr", "counterfactual_lr", "contextual_lr", "temperature"],
    "Advantage": ["factual_lr", "counterfactual_lr", "temperature", "weighting_factor"],
    "Hybrid2012": ["factual_lr", "counterfactual_lr", "factual_actor_lr",
                   "counterfactual_actor_lr", "critic_lr", "temperature", "mixing_factor"],
    "Hybrid2021": ["factual_lr", "counterfactual_lr", "factual_actor_lr",
                   "counterfactual_actor_lr", "critic_lr", "temperature", "mixing_factor",
                   "noise_factor"],
    "StandardHybrid2012": ["factual_lr", "factual_actor_lr", "critic_lr", "temperature",
                           "mixing_factor"],
    "StandardHybrid2021": ["factual_lr", "factual_actor_lr", "critic_lr", "temperature",
                           "mixing_factor", "noise_factor"],
}
BIAS_BASES = ("ActorCritic", "Hybrid2012", "Hybrid2021", "StandardHybrid2012",
              "StandardHybrid2021")
DECAY_BASES = tuple(b for b in BASE_PARAMETERS if b != "ActorCritic")
QL_TRUE = {"factual_lr": 0.4, "counterfactual_lr": 0.2, "temperature": 0.1, "novel_value": 0.3}
DERIVED_COLUMNS = {"choice_made", "accuracy", "symbol_chosen", "symbol_ignored"}

ignore_convergence = pytest.mark.filterwarnings(
    "ignore::sklearn.exceptions.ConvergenceWarning")


def all_variant_names():
    names = []
    for base in BASE_PARAMETERS:
        for bias in ((False, True) if base in BIAS_BASES else (False,)):
            for novel in (False, True):
                for decay in ((False, True) if base in DECAY_BASES else (False,)):
                    names.append(base + "+bias" * bias + "+novel" * novel + "+decay" * decay)
    return names


def expected_parameters(name):
    base, *options = name.split("+")
    extra = [p for opt, p in (("bias", "valence_factor"), ("novel", "novel_value"),
                              ("decay", "decay_factor")) if opt in options]
    return BASE_PARAMETERS[base] + extra


def simulate(name="QLearning+novel", n=4, seed=0):
    """Simulated (learning, transfer) frames of ``n`` participants on the default design.

    Participants differ in their parameters (drawn around typical values), so
    that their fits are not all alike.
    """
    model = make_model(name)
    rng = np.random.RandomState(seed)
    ranges = {"temperature": (0.05, 0.2), "novel_value": (-0.5, 0.5),
              "noise_factor": (0.0, 0.15), "decay_factor": (0.0, 0.15)}
    params = pd.DataFrame(
        {p: rng.uniform(*ranges.get(p, (0.2, 0.8)), size=n) for p in model.parameter_names},
        index=pd.Index([f"sim_{i}" for i in range(n)], name="participant_id"))
    return model.sample(params=params, random_state=seed)


@pytest.fixture(scope="module")
def sim_ql():
    """Four QLearning+novel participants on the default design."""
    return simulate("QLearning+novel", n=4, seed=1)


@pytest.fixture(scope="module")
def fitted_ql(sim_ql):
    learning, transfer = sim_ql
    return make_model("QLearning+novel", n_starts=4, random_state=0).fit(learning, transfer)


def participant_frames(learning, transfer, pid):
    return (learning[learning["participant_id"] == pid],
            transfer[transfer["participant_id"] == pid])


# ------------------------------------------------------------------ fitted attributes


@pytest.mark.parametrize("name", all_variant_names())
def test_parameter_names_follow_reference_order(name):
    model = make_model(name)
    assert model.parameter_names == expected_parameters(name)
    assert model.n_parameters == len(expected_parameters(name))
    assert model.model_name == name


def check_fitted_attributes(model, learning, transfer):
    ids = list(pd.unique(learning["participant_id"]))
    names = expected_parameters(model.model_name)
    k = len(names)
    n_starts = model.n_starts_
    for attr in ("params_", "nll_", "aic_", "bic_", "n_trials_", "groups_", "converged_"):
        value = getattr(model, attr)
        assert value.index.name == "participant_id", attr
        assert list(value.index) == ids, attr
    assert list(model.params_.columns) == names
    for name in names:
        low, high = model.bounds_[name]
        assert model.params_[name].between(low, high).all(), name
    n = (learning.groupby("participant_id").size() + transfer.groupby("participant_id").size())
    assert model.n_trials_.to_dict() == n.loc[ids].to_dict()
    nll = model.nll_.to_numpy()
    assert np.allclose(model.aic_.to_numpy(), 2 * k + 2 * nll, rtol=0, atol=1e-9)
    assert np.allclose(model.bic_.to_numpy(), k * np.log(n.loc[ids].to_numpy()) + 2 * nll,
                       rtol=0, atol=1e-9)
    groups = learning.groupby("participant_id")["group_code"].first()
    assert model.groups_.to_dict() == groups.loc[ids].to_dict()
    assert model.converged_.dtype == bool

    fits = model.fits_
    used = model.n_starts_used_
    assert list(used.index) == ids
    assert len(fits) == used.sum()
    assert list(pd.unique(fits["participant_id"])) == ids
    assert (fits.groupby("participant_id", sort=False)["start"].apply(list)
            == [list(range(u)) for u in used]).all()
    # each participant: n_starts drawn starts in round 0, at most one nested start,
    # screen_starts screened starts in every round, and further rounds only while its
    # best optimum is unconfirmed (optimum_hits_ < 2)
    drawn = fits[~fits["kind"].isin(["nested", "screen"])]
    first = drawn[drawn["round"] == 0].groupby("participant_id", sort=False).size()
    assert (first.loc[ids] == n_starts).all()
    screened = fits[fits["kind"] == "screen"].groupby(["participant_id", "round"]).size()
    expected = model._fit_settings().screen_starts  # 0 for a fixed start
    assert (screened == expected).all()
    assert len(screened) == (0 if expected == 0 else fits.groupby(["participant_id", "round"]).ngroups)
    assert (fits[fits["kind"] == "nested"].groupby("participant_id").size() <= 1).all()
    first_round = fits[fits["round"] == 0].groupby("participant_id", sort=False)["nll"].apply(
        lambda v: int((v <= v.min() + 0.1).sum()))
    more = drawn.groupby("participant_id", sort=False)["round"].max() > 0
    assert (first_round.loc[more[more].index] < 2).all()
    max_starts = model.max_starts or 3 * n_starts
    unconfirmed = model.optimum_hits_.index[model.optimum_hits_ < 2]
    if n_starts > 1 or model.start != "fixed":
        assert (drawn.groupby("participant_id").size().loc[unconfirmed] == max_starts).all()
    hits = fits.groupby("participant_id", sort=False)["nll"].apply(
        lambda v: int((v <= v.min() + 0.1).sum()))
    assert hits.loc[ids].tolist() == model.optimum_hits_.loc[ids].tolist()
    # the reported NLL is the NLL at the reported parameters
    assert np.array_equal(
        model.negative_log_likelihood(learning, transfer)["total"].loc[ids].to_numpy(), nll)
    for name in names:
        low, high = model.bounds_[name]
        assert fits[f"start_{name}"].between(low, high).all(), name
        assert fits[name].between(low, high).all(), name
    # best marks each participant's argmin over its starts, and is what params_ holds
    assert (fits.groupby("participant_id", sort=False)["best"].sum() == 1).all()
    best = fits[fits["best"]].set_index("participant_id").loc[ids]
    assert np.array_equal(best["nll"].to_numpy(),
                          fits.groupby("participant_id", sort=False)["nll"].min().loc[ids]
                          .to_numpy())
    assert np.array_equal(best[names].to_numpy(), model.params_.to_numpy())
    assert np.array_equal(best["nll"].to_numpy(), nll)
    assert np.array_equal(best["converged"].to_numpy(), model.converged_.to_numpy())
    for column in ("converged", "n_iter", "n_fev", "message", "group_code"):
        assert column in fits.columns
    assert (fits["n_fev"] > 0).all()


def test_fit_attributes_simulated(fitted_ql, sim_ql):
    assert fitted_ql.n_starts_ == 4
    check_fitted_attributes(fitted_ql, *sim_ql)


@ignore_convergence
def test_fit_attributes_tutorial(tutorial_frames):
    learning, transfer = tutorial_frames
    model = make_model("QLearning+novel", n_starts=3, random_state=0).fit(learning, transfer)
    assert len(model.params_) == 15
    check_fitted_attributes(model, learning, transfer)


@ignore_convergence
def test_fit_attributes_all_options_tutorial(tutorial_frames):
    learning, transfer = tutorial_frames
    keep = pd.unique(learning["participant_id"])[:3]
    learning = learning[learning["participant_id"].isin(keep)]
    transfer = transfer[transfer["participant_id"].isin(keep)]
    model = make_model("Hybrid2021+bias+novel+decay", n_starts=1, random_state=0)
    model.fit(learning, transfer)
    check_fitted_attributes(model, learning, transfer)


def test_fits_end_nll_is_the_objective_at_the_end_point(fitted_ql, sim_ql):
    learning, transfer = sim_ql
    data = load_task_data(learning, transfer)
    fits = fitted_ql.fits_
    owner = np.array([list(data.participants).index(p) for p in fits["participant_id"]])
    lrn, trn = negative_log_likelihood(fitted_ql._variant(), data,
                                       fits[fitted_ql.parameter_names].to_numpy(), owner)
    assert np.allclose(lrn + trn, fits["nll"].to_numpy(), rtol=1e-12, atol=0)


def test_bic_uses_each_participants_own_trial_count(sim_ql):
    learning, transfer = sim_ql
    # sim_1 loses 8 learning trials (all from the end) and 30 transfer trials
    drop_l = learning.index[learning["participant_id"] == "sim_1"][-8:]
    drop_t = transfer.index[transfer["participant_id"] == "sim_1"][:30]
    learning, transfer = learning.drop(drop_l), transfer.drop(drop_t)
    model = make_model("QLearning+novel", n_starts=2, random_state=0).fit(learning, transfer)
    check_fitted_attributes(model, learning, transfer)
    assert model.n_trials_["sim_1"] == 88 + 354
    assert model.n_trials_["sim_0"] == 96 + 384
    k = 4
    expected = k * np.log(88 + 354) + 2 * model.nll_["sim_1"]
    assert model.bic_["sim_1"] == pytest.approx(expected, rel=0, abs=1e-9)
    # the reference's rule (n of the first participant) would give something else
    assert abs(model.bic_["sim_1"] - (k * np.log(480) + 2 * model.nll_["sim_1"])) > 0.1
    # bic() on the same data reproduces bic_
    assert np.allclose(model.bic(learning, transfer), model.bic_, rtol=1e-12, atol=0)


# ----------------------------------------------------------- fit quality vs scipy


def scipy_reference(model, learning, transfer, pid, start):
    """scipy L-BFGS-B on the same objective, from the same start, for one participant."""
    variant = model._variant()
    data = load_task_data(*participant_frames(learning, transfer, pid))
    bounds = [model.bounds_[n] for n in model.parameter_names]

    def objective(x):
        lrn, trn = negative_log_likelihood(variant, data, x[None, :])
        return lrn[0] + trn[0]

    return minimize(objective, start, method="L-BFGS-B", bounds=bounds)


FIT_QUALITY = [("QLearning+novel", 3, 3),
               pytest.param("Hybrid2012+novel", 2, 2, marks=pytest.mark.slow)]
_QUALITY_CACHE = {}


def fit_quality_cases(source, name, n_participants, n_starts, request):
    """A fit and, for each of its starts, scipy's run from the same start (cached)."""
    key = (source, name)
    if key not in _QUALITY_CACHE:
        if source == "tutorial":
            learning, transfer = request.getfixturevalue("tutorial_frames")
        else:
            learning, transfer = simulate(name, n=n_participants, seed=5)
        pids = list(pd.unique(learning["participant_id"]))[:n_participants]
        learning = learning[learning["participant_id"].isin(pids)]
        transfer = transfer[transfer["participant_id"].isin(pids)]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            # one round (no extra starts): every start is compared with its own scipy run,
            # on scipy's own (finite-difference) path
            model = make_model(name, n_starts=n_starts, max_starts=n_starts,
                               random_state=3, gradient="finite-difference").fit(
                                   learning, transfer)
        names = model.parameter_names
        results = []
        for _, row in model.fits_.iterrows():
            start = row[[f"start_{n}" for n in names]].to_numpy(float)
            ref = scipy_reference(model, learning, transfer, row["participant_id"], start)
            results.append((row, ref))
        _QUALITY_CACHE[key] = model, results
    return _QUALITY_CACHE[key]


@pytest.mark.parametrize("source", ["simulated", "tutorial"])
@pytest.mark.parametrize("name, n_participants, n_starts", FIT_QUALITY)
def test_fit_at_least_as_good_as_scipy(source, name, n_participants, n_starts, request):
    model, results = fit_quality_cases(source, name, n_participants, n_starts, request)
    assert len(results) == model.n_starts_used_.sum() >= n_participants * n_starts
    for row, ref in results:
        assert row["nll"] == pytest.approx(ref.fun, rel=1e-9, abs=0), (
            row["participant_id"], row["start"])
    # The best of the starts is at least as good as scipy's best from the same starts.
    for pid, best_nll in model.nll_.items():
        scipy_best = min(ref.fun for row, ref in results if row["participant_id"] == pid)
        assert best_nll <= scipy_best + 1e-9 * abs(scipy_best), pid


@pytest.mark.parametrize("source", ["simulated", "tutorial"])
@pytest.mark.parametrize("name, n_participants, n_starts", FIT_QUALITY)
def test_fit_follows_scipy_bit_for_bit(source, name, n_participants, n_starts, request):
    """The lock-step optimizer claims scipy's exact path for every start."""
    model, results = fit_quality_cases(source, name, n_participants, n_starts, request)
    names = model.parameter_names
    # nll is re-evaluated at the end point (batch round-off, ~1e-15 relative). After an
    # ABNORMAL line search scipy's ``fun`` is the last value it evaluated, not f(x) (seen
    # 7e-10 above f(x) at the same x), so there the bitwise equal x is the check.
    differ = [(row["participant_id"], row["start"]) for row, ref in results
              if not ((row["nll"] == pytest.approx(ref.fun, rel=1e-12, abs=0)
                       or "ABNORMAL" in str(ref.message))
                      and row["n_iter"] == ref.nit
                      and row["n_fev"] == ref.nfev and row["message"] == ref.message
                      and np.array_equal(row[names].to_numpy(float), ref.x))]
    assert not differ, f"{name}: not bitwise equal to scipy for (participant, start) {differ}"


@pytest.mark.parametrize("gradient", ["finite-difference", "exact"])
def test_scipy_backend_gives_the_same_fit(sim_ql, gradient):
    """Both SciPy backends follow scipy.optimize.minimize: the same fits, either gradient."""
    fits = [make_model("QLearning+novel", n_starts=4, random_state=0, gradient=gradient,
                       optimizer_options={"backend": backend}).fit(*sim_ql)
            for backend in ("scipy", "setulb")]
    assert np.array_equal(fits[0].params_.to_numpy(), fits[1].params_.to_numpy())
    pd.testing.assert_frame_equal(fits[0].fits_, fits[1].fits_)


def test_the_compiled_bfgsb_reaches_scipys_optima(sim_ql):
    """The default exact-gradient fit (compiled BFGS-B) ends where SciPy's L-BFGS-B ends."""
    pytest.importorskip("numba")
    fits = {backend: make_model("QLearning+novel", n_starts=4, random_state=0,
                                optimizer_options={"backend": backend}).fit(*sim_ql)
            for backend in ("auto", "setulb")}
    assert set(fits["auto"].fits_["message"]) <= set(_bfgsb_messages())
    np.testing.assert_allclose(fits["auto"].nll_, fits["setulb"].nll_, atol=1e-4)
    np.testing.assert_allclose(fits["auto"].params_, fits["setulb"].params_, atol=2e-3)


def _bfgsb_messages():
    from avoidrl._core import _bfgsb

    return list(_bfgsb.MESSAGES.values())


# ------------------------------------------------------------------- reproducibility


def test_same_seed_same_fit_for_any_n_jobs(sim_ql):
    learning, transfer = sim_ql
    fits = [make_model("QLearning+novel", n_starts=3, random_state=7, n_jobs=n_jobs)
            .fit(learning, transfer) for n_jobs in (1, 1, 2)]
    for other in fits[1:]:
        assert np.array_equal(fits[0].params_.to_numpy(), other.params_.to_numpy())
        assert np.array_equal(fits[0].nll_.to_numpy(), other.nll_.to_numpy())
        pd.testing.assert_frame_equal(fits[0].fits_, other.fits_)


@pytest.mark.parametrize("backend", ["threading", "loky"])
def test_the_joblib_backend_does_not_change_the_fit(sim_ql, backend):
    """Threads are the default workers with compiled kernels; processes give the same fit."""
    from joblib import parallel_config

    learning, transfer = sim_ql
    alone = make_model("QLearning+novel", n_starts=3, random_state=7).fit(learning, transfer)
    with parallel_config(backend=backend):
        both = make_model("QLearning+novel", n_starts=3, random_state=7, n_jobs=2).fit(
            learning, transfer)
    pd.testing.assert_frame_equal(alone.fits_, both.fits_)


def test_random_state_instance_and_int_agree(sim_ql):
    learning, transfer = sim_ql
    a = make_model("QLearning+novel", n_starts=2, random_state=11).fit(learning, transfer)
    b = make_model("QLearning+novel", n_starts=2,
                   random_state=np.random.RandomState(11)).fit(learning, transfer)
    assert np.array_equal(a.params_.to_numpy(), b.params_.to_numpy())


def start_columns(model):
    return model.fits_[[f"start_{n}" for n in model.parameter_names]].to_numpy()


def test_different_seeds_give_different_starts(sim_ql):
    learning, transfer = sim_ql
    # uniform starts: 'normal' ones clipped at a bound could coincide
    a = make_model("QLearning+novel", start="random", n_starts=2, random_state=1).fit(
        learning, transfer)
    b = make_model("QLearning+novel", start="random", n_starts=2, random_state=2).fit(
        learning, transfer)
    assert not np.any(start_columns(a)[:8] == start_columns(b)[:8])


def test_refit_forgets_previous_fit(sim_ql):
    learning, transfer = sim_ql
    model = make_model("QLearning+novel", n_starts=2, random_state=0).fit(learning, transfer)
    keep = ["sim_0", "sim_2"]
    model.fit(*[f[f["participant_id"].isin(keep)] for f in sim_ql])
    assert list(model.params_.index) == keep
    assert len(model.fits_) == model.n_starts_used_.sum() == 2 * (2 + model.screen_starts)


@pytest.mark.parametrize("init", [None, {"factual_lr": 0.5, "temperature": 0.2}])
def test_fixed_start_is_one_start_at_init(sim_ql, init):
    learning, transfer = sim_ql
    model = make_model("QLearning+novel", start="fixed", n_starts=5, init=init,
                       random_state=0).fit(learning, transfer)
    assert model.n_starts_ == 1
    assert len(model.fits_) == 4
    expected = {"factual_lr": 0.28, "counterfactual_lr": 0.18, "temperature": 0.06,
                "novel_value": 0.0}
    expected.update(init or {})
    assert model.init_ == expected
    starts = model.fits_[[f"start_{n}" for n in expected]].to_numpy()
    assert np.array_equal(starts, np.tile(list(expected.values()), (4, 1)))
    # deterministic: the seed plays no role
    other = make_model("QLearning+novel", start="fixed", init=init,
                       random_state=123).fit(learning, transfer)
    assert np.array_equal(model.params_.to_numpy(), other.params_.to_numpy())


def test_random_starts_fill_the_bounds(sim_ql):
    learning, transfer = sim_ql
    bounds = {"temperature": (0.05, 0.5), "novel_value": (-0.5, 0.25)}
    model = make_model("QLearning+novel", start="random", n_starts=50, bounds=bounds,
                       random_state=0).fit(learning, transfer)
    for name in model.parameter_names:
        low, high = model.bounds_[name]
        draws = model.fits_[f"start_{name}"].to_numpy()
        assert np.all((draws >= low) & (draws <= high)), name
        assert np.ptp(draws) > 0.9 * (high - low), name  # uniform over the whole box
        assert not np.any(draws == low) and not np.any(draws == high), name  # never clipped
        assert abs(draws.mean() - (low + high) / 2) < 0.1 * (high - low), name
    assert model.bounds_["temperature"] == (0.05, 0.5)
    assert model.bounds_["factual_lr"] == (0.01, 0.99)


def test_normal_starts_are_clipped_to_the_bounds(sim_ql):
    learning, transfer = sim_ql
    # factual_lr is centred on its lower bound: about half the draws are clipped to it
    model = make_model("QLearning+novel", start="normal", n_starts=50,
                       init={"factual_lr": 0.01}, random_state=0).fit(learning, transfer)
    for name in model.parameter_names:
        low, high = model.bounds_[name]
        draws = model.fits_[f"start_{name}"].to_numpy()
        assert np.all((draws >= low) & (draws <= high)), name
    normal = model.fits_[model.fits_["kind"] == "normal"]  # not the screened starts
    at_low = np.mean(normal["start_factual_lr"] == 0.01)
    assert 0.35 < at_low < 0.65
    # far from the bounds: N(init, (high - low) / 15)
    novel = normal["start_novel_value"].to_numpy()
    assert abs(novel.mean()) < 0.05
    assert novel.std() == pytest.approx(2.0 / 15.0, rel=0.2)


# ------------------------------------------------------------------------ validation


@pytest.mark.parametrize("kwargs, culprit", [
    ({"bounds": {"factual_rl": (0.1, 0.9)}}, "factual_rl"),
    ({"init": {"temprature": 0.1}}, "temprature"),
    ({"bounds": {"novel_value": (0.0, 1.0)}}, "novel_value"),  # novel is off
    ({"bounds": {"factual_lr": (0.5, 0.5)}}, "factual_lr"),
    ({"bounds": {"factual_lr": (0.6, 0.5)}}, "factual_lr"),
    ({"bounds": {"factual_lr": (0.1, np.inf)}}, "factual_lr"),
    ({"bounds": {"factual_lr": 0.5}}, "factual_lr"),
    ({"bounds": [("factual_lr", (0.1, 0.9))]}, "bounds"),
    ({"init": {"factual_lr": 1.5}}, "factual_lr"),
    ({"init": {"factual_lr": 0.05}, "bounds": {"factual_lr": (0.1, 0.9)}}, "factual_lr"),
    ({"init": {"factual_lr": "0.3"}}, "factual_lr"),
    ({"bounds": {"temperature": (0.0, 1.0)}}, "temperature"),
    ({"start": "uniform"}, "start"),
    ({"n_starts": 0}, "n_starts"),
    ({"n_starts": 2.5}, "n_starts"),
    ({"n_starts": True}, "n_starts"),
    ({"optimizer_options": {"max_iter": 10}}, "max_iter"),
])
def test_invalid_settings_raise_naming_the_culprit(sim_ql, kwargs, culprit):
    model = avoidrl.QLearning(**kwargs)
    with pytest.raises(ValueError, match=re.escape(culprit)):
        model.fit(*sim_ql)
    assert not hasattr(model, "params_")


@pytest.mark.parametrize("name, culprit", [
    ("QLearnin+novel", "QLearnin"),
    ("QLearning+novle", "novle"),
    ("QLearning+bias", "bias"),
    ("Relative+bias", "bias"),
    ("Advantage+bias+novel", "bias"),
    ("ActorCritic+decay", "decay"),
    ("QLearning+novel+novel", "novel"),
    ("", "name"),
])
def test_make_model_rejects_bad_names(name, culprit):
    with pytest.raises(ValueError, match=re.escape(culprit)):
        make_model(name)


def test_make_model_rejects_bad_keywords():
    with pytest.raises(ValueError, match="novel"):
        make_model("QLearning+novel", novel=True)  # option given twice
    with pytest.raises(ValueError, match="n_start"):
        make_model("QLearning", n_start=3)
    with pytest.raises(ValueError, match="bias"):
        make_model("QLearning", bias=True)
    with pytest.raises(ValueError, match="decay"):
        make_model("ActorCritic", decay=True)


def test_make_model_builds_the_right_estimator():
    model = make_model("Hybrid2012+novel+bias", n_starts=5)  # option order is free
    assert type(model) is avoidrl.Hybrid2012
    assert model.get_params()["bias"] and model.get_params()["novel"]
    assert not model.get_params()["decay"]
    assert model.n_starts == 5
    assert model.model_name == "Hybrid2012+bias+novel"
    for base, cls in ESTIMATORS.items():
        assert type(make_model(base)) is cls


# ------------------------------------------------------------------------ convergence


def test_non_convergence_warns_naming_participants(sim_ql):
    model = make_model("QLearning+novel", n_starts=2, random_state=0,
                       optimizer_options={"maxiter": 1})
    with pytest.warns(ConvergenceWarning) as record:
        model.fit(*sim_ql)
    messages = " ".join(str(w.message) for w in record if w.category is ConvergenceWarning)
    for pid in ("sim_0", "sim_1", "sim_2", "sim_3"):
        assert pid in messages
    assert not model.converged_.any()
    assert not model.fits_["converged"].any()
    assert model.fits_["message"].str.contains("ITERATIONS", case=False).all()
    assert (model.fits_["n_iter"] == 1).all()


def test_converged_fit_emits_no_warnings(sim_ql):
    # e.g. numpy >= 2.4 deprecates np.maximum(x, 0.0, out) with a positional out
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        make_model("QLearning+novel", n_starts=2, random_state=0).fit(*sim_ql)
    assert not record, sorted({f"{w.category.__name__}: {w.message}" for w in record})


def test_no_convergence_warning_when_converged(fitted_ql, sim_ql):
    assert fitted_ql.converged_.all()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        make_model("QLearning+novel", n_starts=4, random_state=0).fit(*sim_ql)


# ---------------------------------------------------------------------------- scoring


def test_score_is_minus_mean_bic(fitted_ql, sim_ql):
    score = fitted_ql.score(*sim_ql)
    assert score == pytest.approx(-fitted_ql.bic_.mean(), rel=1e-12)
    one = [f[f["participant_id"] == "sim_2"] for f in sim_ql]
    assert fitted_ql.score(*one) == pytest.approx(-fitted_ql.bic_["sim_2"], rel=1e-12)


def test_score_unfitted_participants_raises(fitted_ql):
    learning, transfer = simulate("QLearning+novel", n=6, seed=2)
    with pytest.raises(ValueError, match=r"sim_4.*sim_5|sim_5.*sim_4"):
        fitted_ql.score(learning, transfer)
    renamed = [f.replace({"participant_id": {"sim_0": "newcomer"}}) for f in (learning, transfer)]
    with pytest.raises(ValueError, match="newcomer"):
        fitted_ql.score(*renamed)


def test_unfitted_estimator_cannot_score(sim_ql):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        make_model("QLearning+novel").score(*sim_ql)


def test_negative_log_likelihood_at_params_reproduces_nll(fitted_ql, sim_ql):
    table = fitted_ql.negative_log_likelihood(*sim_ql)
    assert list(table.columns) == ["learning", "transfer", "total"]
    assert table.index.name == "participant_id"
    assert list(table.index) == list(fitted_ql.nll_.index)
    assert np.allclose(table["total"], fitted_ql.nll_, rtol=1e-12, atol=0)
    assert np.allclose(table["learning"] + table["transfer"], table["total"], rtol=1e-15)
    assert (table[["learning", "transfer"]] > 0).all().all()


def test_negative_log_likelihood_with_explicit_params(fitted_ql, sim_ql):
    learning, transfer = sim_ql
    params = pd.DataFrame([QL_TRUE] * 4, index=pd.Index(
        ["sim_3", "sim_2", "sim_1", "sim_0"], name="participant_id"))  # any row order
    params["extra column"] = 1.0  # ignored
    table = fitted_ql.negative_log_likelihood(learning, transfer, params=params)
    variant = fitted_ql._variant()
    data = load_task_data(learning, transfer)
    matrix = np.tile([QL_TRUE[n] for n in fitted_ql.parameter_names], (4, 1))
    lrn, trn = negative_log_likelihood(variant, data, matrix)
    assert list(table.index) == ["sim_0", "sim_1", "sim_2", "sim_3"]
    assert np.array_equal(table["learning"].to_numpy(), lrn)
    assert np.array_equal(table["transfer"].to_numpy(), trn)
    # an unfitted estimator works too when params are given
    fresh = make_model("QLearning+novel").negative_log_likelihood(learning, transfer, params)
    pd.testing.assert_frame_equal(fresh, table)
    # the fitted optimum is better than the generating parameters in-sample
    assert (fitted_ql.nll_ <= table["total"] + 1e-9).all()


def test_negative_log_likelihood_bad_params(fitted_ql, sim_ql):
    params = fitted_ql.params_.drop(columns="novel_value")
    with pytest.raises(ValueError, match="novel_value"):
        fitted_ql.negative_log_likelihood(*sim_ql, params=params)
    with pytest.raises(ValueError, match="sim_3"):
        fitted_ql.negative_log_likelihood(*sim_ql, params=fitted_ql.params_.drop(index="sim_3"))
    with pytest.raises(ValueError, match="DataFrame"):
        fitted_ql.negative_log_likelihood(*sim_ql, params=fitted_ql.params_.to_numpy())
    nan = fitted_ql.params_.copy()
    nan.iloc[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fitted_ql.negative_log_likelihood(*sim_ql, params=nan)


# ----------------------------------------------------------------------- trial values


@pytest.mark.parametrize("name", ["QLearning+novel", "Hybrid2021+bias+novel+decay",
                                  "Relative", "ActorCritic+bias"])
def test_trial_values(name, sim_ql):
    learning, transfer = sim_ql
    model = make_model(name)
    params = pd.DataFrame([model._resolve_bounds_init(model._variant())[1]] * 4,
                          index=pd.Index([f"sim_{i}" for i in range(4)], name="participant_id"))
    full = model.trial_values(learning, transfer, params=params)
    assert len(full) == len(learning) + len(transfer)
    assert list(pd.unique(full["participant_id"])) == [f"sim_{i}" for i in range(4)]
    # each participant's learning rows, then transfer rows, each in trial order
    for pid, rows in full.groupby("participant_id"):
        assert list(rows["phase"]) == ["learning"] * 96 + ["transfer"] * 384, pid
        assert list(rows["trial"]) == list(range(96)) + list(range(384)), pid
    p = full["p_choice"].to_numpy()
    assert np.all((p > 0) & (p <= 1))
    nll = model.negative_log_likelihood(learning, transfer, params=params)
    by_phase = -np.log(full["p_choice"]).groupby([full["participant_id"], full["phase"]]).sum()
    by_phase = by_phase.unstack()
    assert np.allclose(by_phase.loc[nll.index, "learning"], nll["learning"], rtol=1e-10, atol=0)
    assert np.allclose(by_phase.loc[nll.index, "transfer"], nll["transfer"], rtol=1e-10, atol=0)
    table = full[full["phase"] == "learning"].reset_index(drop=True)
    # transfer rows: the shown symbols (higher-valued first) and the choice of the data
    probes = full[full["phase"] == "transfer"].reset_index(drop=True)
    letter = dict(zip(["75R1", "25R1", "75R2", "25R2", "25P1", "75P1", "25P2", "75P2", "Zero"],
                      "ABCDEFGHN"))
    left_higher = (transfer["symbol_L_value"] > transfer["symbol_R_value"]).to_numpy()
    names_l, names_r = transfer["symbol_L_name"].map(letter), transfer["symbol_R_name"].map(letter)
    expected_pair = np.where(left_higher, names_l + names_r, names_r + names_l)
    assert list(probes["pair"]) == list(expected_pair)
    lower_chosen = np.where(left_higher, transfer["choice_made"], 1 - transfer["choice_made"])
    assert np.array_equal(probes["choice"].to_numpy(), lower_chosen)
    # pair and choice are those of the data, in row order
    pair_of = {"Reward1": "AB", "Reward2": "CD", "Punish1": "EF", "Punish2": "GH"}
    assert list(table["pair"]) == [pair_of[s] for s in learning["symbol_names"]]
    better_left = learning["symbol_L_value"] > learning["symbol_R_value"]
    worse_chosen = np.where(better_left, learning["choice_made"], 1 - learning["choice_made"])
    assert np.array_equal(table["choice"].to_numpy(), worse_chosen)


def test_trial_values_q_learning_probabilities(fitted_ql, sim_ql):
    full = fitted_ql.trial_values(*sim_ql)
    table = full[full["phase"] == "learning"]
    params = fitted_ql.params_.loc[table["participant_id"]]
    temperature = params["temperature"].to_numpy()
    q0, q1 = table["q0"].to_numpy(), table["q1"].to_numpy()
    chosen = np.where(table["choice"] == 1, q1, q0)
    unchosen = np.where(table["choice"] == 1, q0, q1)
    expected = 1.0 / (1.0 + np.exp((unchosen - chosen) / temperature))
    assert np.allclose(table["p_choice"], expected, rtol=1e-12, atol=0)
    # first visit of each pair: Q = 0, p = 0.5
    first = table.groupby(["participant_id", "pair"]).head(1)
    assert (first[["q0", "q1"]] == 0).all().all()
    assert np.allclose(first["p_choice"], 0.5)
    # transfer: softmax of the two shown symbols' values
    probes = full[full["phase"] == "transfer"]
    t = fitted_ql.params_.loc[probes["participant_id"], "temperature"].to_numpy()
    v0, v1 = probes["value0"].to_numpy(), probes["value1"].to_numpy()
    lower = probes["choice"].to_numpy() == 1
    expected = 1.0 / (1.0 + np.exp(np.where(lower, v0 - v1, v1 - v0) / t))
    assert np.allclose(probes["p_choice"], expected, rtol=1e-12, atol=0)
    novel = probes[probes["pair"].str.endswith("N")]
    assert np.allclose(novel["value1"], fitted_ql.params_.loc[novel["participant_id"],
                                                              "novel_value"])


# ---------------------------------------------------------------------------- sampling


def check_template_copy(sampled, template):
    """Same rows and outcomes as the template; only the choice and its derivatives differ."""
    # only task columns are kept: nothing of the template participant (rt, age, ...)
    task_columns = [c for c in template.columns if c in TASK_COLUMNS]
    assert list(sampled.columns) == task_columns
    assert len(sampled) == len(template)
    for column in task_columns:
        if column in DERIVED_COLUMNS:
            continue
        pd.testing.assert_series_equal(sampled[column].reset_index(drop=True),
                                       template[column].reset_index(drop=True),
                                       check_dtype=False, obj=column)
    assert sampled["choice_made"].isin([0, 1]).all()
    chose_right = sampled["choice_made"].to_numpy() == 1
    high_left = sampled["symbol_L_value"] > sampled["symbol_R_value"]
    if "accuracy" in sampled:
        assert np.array_equal(sampled["accuracy"] == 100, high_left != chose_right)
    if "symbol_chosen" in sampled:
        chosen = np.where(chose_right, sampled["symbol_R_value"], sampled["symbol_L_value"])
        assert np.array_equal(sampled["symbol_chosen"], chosen)


def test_sample_template_mode_simulated(fitted_ql, sim_ql):
    learning, transfer = sim_ql
    new_l, new_t = fitted_ql.sample(learning, transfer, random_state=0)
    check_template_copy(new_l, learning)
    check_template_copy(new_t, transfer)
    assert (new_l["choice_made"] != learning["choice_made"]).any()
    # a long-frame template gives the same simulation (columns of one phase only
    # are NaN in the other phase's rows of a long frame, hence check_dtype=False)
    long_l, long_t = fitted_ql.sample(pd.concat([learning, transfer]), random_state=0)
    for got, expected in ((long_l, new_l), (long_t, new_t)):
        pd.testing.assert_frame_equal(got[expected.columns].reset_index(drop=True),
                                      expected.reset_index(drop=True), check_dtype=False)


@ignore_convergence
def test_sample_template_mode_tutorial(tutorial_frames):
    learning, transfer = tutorial_frames
    model = make_model("Hybrid2012+bias+novel", start="fixed").fit(learning, transfer)
    new_l, new_t = model.sample(learning, transfer, random_state=0)
    check_template_copy(new_l, learning)
    check_template_copy(new_t, transfer)
    # raw outcomes, untouched by the valence bias, so the data can be refitted
    assert set(new_l["feedback_L"]) | set(new_l["feedback_R"]) <= {-10, 0, 10}
    # a subset of template participants, chosen by the params' index
    two = model.params_.iloc[[3, 0]]
    sub_l, sub_t = model.sample(learning, transfer, params=two, random_state=0)
    assert list(pd.unique(sub_l["participant_id"])) == list(two.index)
    assert len(sub_l) == 2 * 96 and len(sub_t) == 2 * 384


def test_sample_params_must_name_template_participants(fitted_ql, sim_ql):
    params = fitted_ql.params_.rename(index={"sim_0": "ghost"})
    with pytest.raises(ValueError, match="ghost"):
        fitted_ql.sample(*sim_ql, params=params)


def test_sample_default_design():
    model = make_model("QLearning+novel")
    learning, transfer = model.sample(n_participants=3, random_state=0)
    assert list(pd.unique(learning["participant_id"])) == ["sim_0", "sim_1", "sim_2"]
    for pid, rows in learning.groupby("participant_id"):
        assert len(rows) == 96
        assert (rows.groupby("symbol_names").size() == 24).all()
        assert set(rows["symbol_names"]) == {"Reward1", "Reward2", "Punish1", "Punish2"}
        # left/right placement balanced within each pair
        better_left = rows["symbol_L_value"] > rows["symbol_R_value"]
        assert (better_left.groupby(rows["symbol_names"]).sum() == 12).all()
    for pid, rows in transfer.groupby("participant_id"):
        assert len(rows) == 384
        pairs = [tuple(sorted(p)) for p in zip(rows["symbol_L_name"], rows["symbol_R_name"])]
        counts = pd.Series(pairs).value_counts()
        assert len(counts) == 32 and (counts == 12).all()
        assert (rows["symbol_L_value"] != rows["symbol_R_value"]).all()
    # trial order is valid and the frames can be fitted as they are
    data = load_task_data(learning, transfer)
    assert data.n_learning.tolist() == [96] * 3 and data.n_transfer.tolist() == [384] * 3


def test_sample_default_design_outcome_frequencies():
    learning, _ = make_model("QLearning+novel").sample(n_participants=60, random_state=4)
    better_left = learning["symbol_L_value"] > learning["symbol_R_value"]
    better = np.where(better_left, learning["feedback_L"], learning["feedback_R"])
    worse = np.where(better_left, learning["feedback_R"], learning["feedback_L"])
    reward = learning["symbol_names"].str.startswith("Reward").to_numpy()
    assert set(better[reward]) | set(worse[reward]) == {0, 10}
    assert set(better[~reward]) | set(worse[~reward]) == {-10, 0}
    # 60 x 48 = 2880 outcomes per cell: standard error ~0.008
    assert np.mean(better[reward] != 0) == pytest.approx(0.75, abs=0.03)   # A, C win 75 %
    assert np.mean(worse[reward] != 0) == pytest.approx(0.25, abs=0.03)    # B, D win 25 %
    assert np.mean(better[~reward] != 0) == pytest.approx(0.25, abs=0.03)  # E, G lose 25 %
    assert np.mean(worse[~reward] != 0) == pytest.approx(0.75, abs=0.03)   # F, H lose 75 %


def test_sample_reproducible():
    model = make_model("Hybrid2021+novel")
    a = model.sample(n_participants=2, random_state=5)
    b = model.sample(n_participants=2, random_state=5)
    c = model.sample(n_participants=2, random_state=6)
    for x, y in zip(a, b):
        pd.testing.assert_frame_equal(x, y)
    assert not a[0]["choice_made"].equals(c[0]["choice_made"])


def test_sample_choices_follow_the_model():
    ids = pd.Index([f"p{i}" for i in range(20)], name="participant_id")
    sharp = pd.DataFrame({"factual_lr": 0.5, "counterfactual_lr": 0.5, "temperature": 0.02,
                          "novel_value": 0.0}, index=ids)
    flat = sharp.assign(temperature=1.0, factual_lr=0.01, counterfactual_lr=0.01)
    model = make_model("QLearning+novel")
    sharp_l, sharp_t = model.sample(params=sharp, random_state=0)
    flat_l, _ = model.sample(params=flat, random_state=0)
    assert sharp_l["accuracy"].mean() > 75
    assert abs(flat_l["accuracy"].mean() - 50) < 5
    # with a high novel value the novel symbol wins against everything in transfer
    eager = sharp.assign(novel_value=1.0)
    _, eager_t = model.sample(params=eager, random_state=0)
    novel = (eager_t["symbol_L_name"] == "Zero") | (eager_t["symbol_R_name"] == "Zero")
    chose_novel = np.where(eager_t["choice_made"] == 1, eager_t["symbol_R_name"],
                           eager_t["symbol_L_name"]) == "Zero"
    assert chose_novel[novel.to_numpy()].mean() > 0.9


def test_sample_params_index_names_simulated_participants():
    model = make_model("QLearning+novel")
    params = pd.DataFrame([QL_TRUE] * 2, index=pd.Index(["a", "b"], name="participant_id"))
    learning, transfer = model.sample(params=params, random_state=0)
    assert list(pd.unique(learning["participant_id"])) == ["a", "b"]
    assert list(pd.unique(transfer["participant_id"])) == ["a", "b"]
    with pytest.raises(ValueError, match="n_participants"):
        model.sample(random_state=0)  # nothing says how many participants


def test_sample_bias_model_stores_raw_outcomes():
    model = make_model("Hybrid2012+bias+novel")
    learning, _ = model.sample(n_participants=3, random_state=0)
    outcomes = set(learning["feedback_L"]) | set(learning["feedback_R"])
    assert outcomes == {-10, 0, 10}
    # and such data refit without complaint
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fitted = make_model("Hybrid2012+bias+novel", start="fixed").fit(
            *model.sample(n_participants=2, random_state=0))
    assert np.isfinite(fitted.nll_).all()


def test_simulated_data_recover_parameters():
    rng = np.random.RandomState(0)
    n = 30
    true = pd.DataFrame({
        "factual_lr": rng.uniform(0.1, 0.9, n),
        "counterfactual_lr": rng.uniform(0.1, 0.9, n),
        "temperature": rng.uniform(0.03, 0.3, n),
        "novel_value": rng.uniform(-0.8, 0.8, n),
    }, index=pd.Index([f"s{i}" for i in range(n)], name="participant_id"))
    model = make_model("QLearning+novel", random_state=0)
    learning, transfer = model.sample(params=true, random_state=0)
    model.fit(learning, transfer)
    fitted = model.params_.loc[true.index]
    for name in ("factual_lr", "temperature", "novel_value"):
        r = np.corrcoef(true[name], fitted[name])[0, 1]
        assert r > 0.8, (name, r)


# ------------------------------------------------------------------- long-frame input


def test_long_frame_fit_equals_two_frame_fit(fitted_ql, sim_ql):
    learning, transfer = sim_ql
    long = make_model("QLearning+novel", n_starts=4, random_state=0).fit(
        pd.concat([learning, transfer], ignore_index=True))
    assert np.array_equal(long.params_.to_numpy(), fitted_ql.params_.to_numpy())
    assert list(long.params_.index) == list(fitted_ql.params_.index)
    assert long.score(pd.concat([learning, transfer])) == fitted_ql.score(learning, transfer)


@ignore_convergence
def test_long_frame_fit_equals_two_frame_fit_tutorial(tutorial_frames):
    learning, transfer = tutorial_frames
    two = make_model("QLearning+novel", n_starts=2, random_state=0).fit(learning, transfer)
    long = make_model("QLearning+novel", n_starts=2, random_state=0).fit(
        pd.concat([learning, transfer], ignore_index=True))
    assert np.array_equal(long.params_.to_numpy(), two.params_.to_numpy())


def test_fit_accepts_csv_paths(fitted_ql, sim_ql, tmp_path):
    learning, transfer = sim_ql
    learning.to_csv(tmp_path / "learning.csv", index=False)
    transfer.to_csv(tmp_path / "transfer.csv", index=False)
    model = make_model("QLearning+novel", n_starts=4, random_state=0).fit(
        tmp_path / "learning.csv", str(tmp_path / "transfer.csv"))
    assert np.array_equal(model.params_.to_numpy(), fitted_ql.params_.to_numpy())


def test_fit_does_not_modify_its_input(sim_ql):
    learning, transfer = sim_ql
    before = learning.copy(), transfer.copy()
    make_model("QLearning+novel", n_starts=1, random_state=0).fit(learning, transfer)
    pd.testing.assert_frame_equal(learning, before[0])
    pd.testing.assert_frame_equal(transfer, before[1])


def test_fits_use_threads_only_for_two_workers_with_compiled_kernels(monkeypatch):
    """A third of a fit holds the GIL: threads beyond two would queue for it."""
    from avoidrl._core import compiled

    monkeypatch.setattr(compiled, "ENABLED", True)
    assert compiled.preferred_workers(2) == "threads"
    assert compiled.preferred_workers(4) == "processes"
    monkeypatch.setattr(compiled, "ENABLED", False)
    assert compiled.preferred_workers(2) == "processes"
