"""A fit belongs to its participant, never ends worse than a cheap reference point,
reports the NLL of the parameters it reports, and refuses bad settings clearly."""

import os
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

import avoidrl
from avoidrl import ActorCritic, Advantage, Hybrid2012, QLearning, Relative, load_example, make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective


@pytest.fixture(scope="module")
def example():
    learning, transfer = load_example()
    ids = list(pd.unique(learning["participant_id"]))[:8]
    return (learning[learning["participant_id"].isin(ids)].reset_index(drop=True),
            transfer[transfer["participant_id"].isin(ids)].reset_index(drop=True), ids)


def subset(learning, transfer, ids):
    return (learning[learning["participant_id"].isin(ids)],
            transfer[transfer["participant_id"].isin(ids)])


def reorder(frame, ids):
    """The participants' rows in the order of ``ids`` (each one's trials kept in order)."""
    return pd.concat([frame[frame["participant_id"] == pid] for pid in ids], ignore_index=True)


# ------------------------------------------------------------ fits belong to the participant


@pytest.mark.parametrize("name, settings", [
    ("QLearning+novel", {}),
    pytest.param("ActorCritic+novel", {"n_starts": 4},  # random starts, extra rounds
                 marks=pytest.mark.slow),
    ("Advantage+novel", {"n_starts": 3}),            # a nested-model start
])
def test_participant_fit_is_the_same_alone_in_any_batch_order_and_n_jobs(example, name,
                                                                         settings):
    learning, transfer, ids = example
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        together = make_model(name, random_state=3, **settings).fit(learning, transfer)
        target = ids[2]
        alone = make_model(name, random_state=3, **settings).fit(
            *subset(learning, transfer, [target]))
        shuffled_ids = ids[::-1][:6]
        shuffled = make_model(name, random_state=3, n_jobs=2, **settings).fit(
            reorder(learning, shuffled_ids), reorder(transfer, shuffled_ids))
    for other in (alone, shuffled):
        assert np.array_equal(other.params_.loc[target].to_numpy(),
                              together.params_.loc[target].to_numpy())
        assert other.nll_[target] == together.nll_[target]
        mine = other.fits_[other.fits_["participant_id"] == target].drop(columns="message")
        theirs = together.fits_[together.fits_["participant_id"] == target].drop(
            columns="message")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), theirs.reset_index(drop=True))


def test_int_ids_and_text_ids_get_the_same_stream(example):
    learning, transfer, ids = example
    one = subset(learning, transfer, ids[:2])
    renamed = [frame.assign(participant_id=frame["participant_id"].map(
        {ids[0]: 101, ids[1]: 202})) for frame in one]
    as_text = [frame.assign(participant_id=frame["participant_id"].astype(str))
               for frame in renamed]
    a = QLearning(novel=True, random_state=5).fit(*renamed)
    b = QLearning(novel=True, random_state=5).fit(*as_text)
    assert np.array_equal(a.params_.to_numpy(), b.params_.to_numpy())


def test_random_state_controls_the_starts(example):
    learning, transfer, ids = example
    one = subset(learning, transfer, ids[:2])
    a = QLearning(novel=True, start="random", random_state=1).fit(*one)
    b = QLearning(novel=True, start="random", random_state=1).fit(*one)
    c = QLearning(novel=True, start="random", random_state=2).fit(*one)
    pd.testing.assert_frame_equal(a.fits_, b.fits_)
    assert not np.array_equal(a.fits_["start_factual_lr"], c.fits_["start_factual_lr"])
    # one RandomState instance: successive fits differ, as in scikit-learn
    rng = np.random.RandomState(0)
    d = QLearning(novel=True, start="random", random_state=rng).fit(*one)
    e = QLearning(novel=True, start="random", random_state=rng).fit(*one)
    assert not np.array_equal(d.fits_["start_factual_lr"], e.fits_["start_factual_lr"])


# -------------------------------------------------- the reported NLL and reference points


def test_nll_is_the_nll_at_params_and_no_start_ends_above_its_start(example):
    learning, transfer, _ = example
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        # maxiter=2 stops most starts early (ABNORMAL/limit exits included)
        model = Hybrid2012(novel=True, n_starts=3, max_starts=3, random_state=0,
                           optimizer_options={"maxiter": 2}).fit(learning, transfer)
    at_params = model.negative_log_likelihood(learning, transfer)["total"]
    assert np.array_equal(at_params.to_numpy(), model.nll_.to_numpy())
    fits = model.fits_
    data = load_task_data(learning, transfer)
    owner = pd.Index(data.participants).get_indexer(fits["participant_id"])
    names = model.parameter_names
    objective = Objective(model._variant(), data)
    at_ends = objective(fits[names].to_numpy(), owner)
    at_starts = objective(fits[[f"start_{n}" for n in names]].to_numpy(), owner)
    np.testing.assert_allclose(fits["nll"], at_ends, rtol=1e-13, atol=0)
    assert (fits["nll"].to_numpy() <= at_starts * (1 + 1e-13)).all()
    # the best start is the argmin of the re-evaluated NLLs
    best = fits.loc[fits.groupby("participant_id", sort=False)["nll"].idxmin()]
    assert best["best"].all()


@pytest.mark.parametrize("larger", ["Advantage+novel", "Hybrid2012+novel", "Hybrid2021+novel",
                                    "Advantage+decay", "Hybrid2012+novel+decay"])
def test_nesting_models_never_end_worse_than_their_nested_fit(example, larger):
    """Even with one start per participant, the nested model's optimum is a start."""
    learning, transfer, _ = example
    options = {o: True for o in larger.split("+")[1:]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        nested = QLearning(random_state=0, **options).fit(learning, transfer)
        model = make_model(larger, n_starts=1, max_starts=1, random_state=0).fit(
            learning, transfer)
    assert (model.fits_["kind"] == "nested").sum() == len(model.params_)
    assert (model.nll_ <= nested.nll_ + 1e-6).all()


def test_nested_start_is_skipped_when_bounds_exclude_the_reducing_value(example):
    learning, transfer, ids = example
    model = Hybrid2012(novel=True, bounds={"mixing_factor": (0.0, 0.9)}, n_starts=1,
                       max_starts=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(*subset(learning, transfer, ids[:2]))
    assert "nested" not in set(model.fits_["kind"])
    # bias has no counterpart in QLearning
    biased = Hybrid2012(bias=True, n_starts=1, max_starts=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        biased.fit(*subset(learning, transfer, ids[:1]))
    assert "nested" not in set(biased.fits_["kind"])


def test_unconfirmed_optima_get_more_starts_and_a_warning(example):
    learning, transfer, _ = example
    with pytest.warns(ConvergenceWarning, match="reached by only one") as caught:
        # the rounds on their own (screened starts would confirm most optima at once)
        model = ActorCritic(novel=True, n_starts=1, max_starts=2, screen_starts=0,
                            random_state=0).fit(
            learning, transfer)
    # the warning points at the caller, not into the package
    package = os.path.dirname(avoidrl.__file__)
    assert all(not w.filename.startswith(package) for w in caught)
    hits, used = model.optimum_hits_, model.n_starts_used_
    once = hits.index[hits < 2]
    assert len(once) > 0
    assert (used.loc[once] == 2).all()  # n_starts_used_ counts every start descended
    message = " ".join(str(w.message) for w in caught)
    for pid in once[:10]:
        assert str(pid) in message
    # participants confirmed after one round stop there
    confirmed_early = model.fits_.groupby("participant_id")["round"].max() == 0
    assert (used[confirmed_early[confirmed_early].index] == 1).all()


@pytest.mark.slow
def test_more_starts_never_fit_worse(example):
    learning, transfer, _ = example
    few = ActorCritic(novel=True, n_starts=5, max_starts=5, random_state=4)
    many = clone(few).set_params(max_starts=15)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        few.fit(learning, transfer)
        many.fit(learning, transfer)
    # the first round is the same draw, so extra rounds can only improve
    assert (many.nll_ <= few.nll_).all()


def test_fixed_start_runs_once(example):
    learning, transfer, ids = example
    model = QLearning(novel=True, start="fixed").fit(*subset(learning, transfer, ids[:3]))
    assert (model.n_starts_used_ == 1).all()


# ----------------------------------------------------------------- settings and values


@pytest.mark.parametrize("params, match", [
    ({"novel": "no"}, "novel must be True or False"),
    ({"n_jobs": "2"}, "n_jobs must be"),
    ({"n_jobs": 1.5}, "n_jobs must be"),
    ({"n_jobs": 0}, "n_jobs must be"),
    ({"random_state": -1}, "random_state must be"),
    ({"random_state": "seed"}, "random_state must be"),
    ({"optimizer_options": "junk"}, "optimizer_options must be"),
    ({"optimizer_options": {"maxiter": "x"}}, r"optimizer_options\['maxiter'\] must be"),
    ({"optimizer_options": {"ftol": -1.0}}, r"optimizer_options\['ftol'\]"),
    ({"optimizer_options": {"backend": "fast"}}, r"optimizer_options\['backend'\]"),
    ({"optimizer_options": {"eps": 0}}, r"optimizer_options\['eps'\]"),
    ({"max_starts": 3, "n_starts": 5}, "max_starts must be"),
    ({"bounds": {"factual_lr": (0.0, 5.0)}}, "valid domain of factual_lr"),
    ({"bounds": {"temperature": (0.0, 1.0)}}, "valid domain of temperature"),
    ({"bounds": {"novel_value": (-2.0, 1.0)}}, "valid domain of novel_value"),
])
def test_bad_settings_name_the_setting(example, params, match):
    learning, transfer, ids = example
    model = QLearning(novel=True).set_params(**params)
    with pytest.raises(ValueError, match=match):
        model.fit(*subset(learning, transfer, ids[:1]))


@pytest.mark.parametrize("cls, option", [(QLearning, "bias"), (Relative, "bias"),
                                         (Advantage, "bias"), (ActorCritic, "decay")])
def test_an_option_the_model_lacks_is_named(cls, option):
    with pytest.raises(ValueError, match=f"{cls.__name__} does not take the '{option}' option"):
        cls(**{option: True})


@pytest.mark.parametrize("column, value, match", [
    ("temperature", 0.0, r"temperature of participant .* outside its valid domain \(0, inf\)"),
    ("temperature", -1.0, "temperature"),
    ("factual_lr", 5.0, r"factual_lr of participant .* outside its valid domain \[0, 1\]"),
    ("counterfactual_lr", -0.1, "counterfactual_lr"),
    ("novel_value", 1.5, r"novel_value .* \[-1, 1\]"),
    ("factual_lr", np.inf, "NaN or infinite"),
])
@pytest.mark.parametrize("method", ["negative_log_likelihood", "trial_values", "sample"])
def test_parameter_values_are_checked_against_their_domain(example, column, value, match,
                                                           method):
    learning, transfer, ids = example
    one = subset(learning, transfer, ids[:2])
    model = QLearning(novel=True)
    params = pd.DataFrame([model._resolve_bounds_init(model._variant())[1]] * 2,
                          index=pd.Index(ids[:2], name="participant_id"))
    params.loc[ids[1], column] = value
    with pytest.raises(ValueError, match=match) as info:
        getattr(model, method)(*one, params=params)
    assert str(ids[1]) in str(info.value)


def test_sample_needs_a_positive_number_of_participants():
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="n_participants must be a positive integer"):
            QLearning().sample(n_participants=bad, random_state=0)
    with pytest.raises(ValueError, match="random_state must be"):
        QLearning().sample(n_participants=1, random_state=-1)


def test_changing_the_model_after_fit_asks_to_refit(example):
    learning, transfer, ids = example
    one = subset(learning, transfer, ids[:2])
    model = QLearning(novel=True, n_starts=2, random_state=0).fit(*one)
    model.set_params(novel=False)
    for call in (lambda: model.score(*one), lambda: model.negative_log_likelihood(*one),
                 lambda: model.trial_values(*one), lambda: model.sample(*one, random_state=0)):
        with pytest.raises(ValueError, match="fitted as QLearning\\+novel.*call fit again"):
            call()
    model.set_params(novel=True)
    assert np.isfinite(model.score(*one))  # back to the fitted model: usable again
    model.set_params(novel=False).fit(*one)
    assert model.model_name_ == "QLearning"


def test_parameter_recovery_flags_fits_worse_than_the_generating_parameters():
    from avoidrl.recovery import ParameterRecovery

    healthy = ParameterRecovery(QLearning(novel=True, bounds={"temperature": (0.01, 0.2)}),
                                n_datasets=12, random_state=0).fit()
    assert (healthy.fits_["nll"] <= healthy.fits_["nll_at_true"] + 1e-6).all()
    # one iteration from one fixed start cannot reach the optimum
    crippled = QLearning(novel=True, start="fixed", bounds={"temperature": (0.01, 0.2)},
                         optimizer_options={"maxiter": 1})
    with pytest.warns(ConvergenceWarning, match="above the NLL of their own generating"):
        recovery = ParameterRecovery(crippled, n_datasets=12, random_state=0).fit()
    assert (recovery.fits_["nll"] > recovery.fits_["nll_at_true"] + 1e-6).any()
    # nll_at_true is the likelihood at the generating parameters, computed independently
    dataset = recovery.datasets_[0]
    direct = QLearning(novel=True).negative_log_likelihood(
        dataset.learning, dataset.transfer,
        params=dataset.true_params.to_frame().T.rename_axis("participant_id"))
    assert recovery.fits_.loc[dataset.id, "nll_at_true"] == pytest.approx(
        direct["total"].iloc[0], rel=1e-12)
