"""The sampler's per-sweep arithmetic: numpy against scipy's densities, numba against numpy."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import logsumexp

from avoidrl._core import compiled
from avoidrl._core.transform import Z_LIMIT
from avoidrl.hierarchical._mcmc_steps import NUMPY, compiled_steps, steps_for

C, N, K, G, M = 3, 7, 4, 2, 3


@pytest.fixture
def arrays():
    rng = np.random.default_rng(11)
    a = rng.standard_normal((C, N, K, K))
    chol = np.linalg.cholesky(a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(K))
    covs = np.linalg.cholesky(np.eye(K) + 0.3 * np.ones((K, K)))
    means = rng.normal(0.0, 1.0, (M, N, K))
    factor = np.broadcast_to(covs * rng.uniform(0.5, 2.0, (M, N, 1, 1)), (M, N, K, K)).copy()
    return {
        "z": rng.normal(0.0, 1.5, (C, N, K)),
        "proposal": rng.normal(0.0, 1.5, (C, N, K)),
        "chol": chol, "log_scale": rng.normal(0.0, 0.5, (C, N)),
        "normal": rng.standard_normal((C, N, K)),
        "nll": rng.uniform(100.0, 110.0, (C, N)),
        "proposal_nll": rng.uniform(100.0, 110.0, (C, N)),
        "mu": rng.normal(0.0, 1.0, (C, G, K)),
        "group_index": rng.integers(G, size=N),
        "sigma": rng.uniform(0.3, 2.0, (C, K)),
        "log_u": np.log(rng.random((C, N))),
        "extra": rng.normal(0.0, 1.0, (C, N)),
        "means": means, "factor": factor,
    }


def _mixture_arguments(arrays, df=5.0):
    inverse = np.linalg.inv(arrays["factor"])
    log_det = np.log(np.diagonal(arrays["factor"], axis1=-2, axis2=-1)).sum(axis=-1)
    # each component's log normaliser (the standard t's density at 0, over |factor|) and weight
    standard = stats.multivariate_t(np.zeros(K), np.eye(K), df=df).logpdf(np.zeros(K))
    return inverse, standard - log_det - np.log(M)


def test_walk_proposal_is_the_scaled_correlated_step(arrays):
    a = arrays
    got = NUMPY.walk_proposal(a["z"], a["chol"], a["log_scale"], a["normal"])
    for c in range(C):
        for i in range(N):
            step = a["chol"][c, i] @ a["normal"][c, i]
            expected = np.clip(a["z"][c, i] + np.exp(a["log_scale"][c, i]) * step,
                               -Z_LIMIT, Z_LIMIT)
            np.testing.assert_allclose(got[c, i], expected, rtol=1e-13)


@pytest.mark.parametrize("with_prior", [True, False])
def test_metropolis_accepts_by_the_posterior_ratio(arrays, with_prior):
    a = {k: v.copy() for k, v in arrays.items()}
    a["proposal_nll"][0, 0] = np.inf          # no likelihood there: always rejected
    a["log_u"][0, 0] = -np.inf
    z, nll = a["z"].copy(), a["nll"].copy()
    accepted = NUMPY.metropolis(a["z"], a["nll"], a["proposal"], a["proposal_nll"], a["mu"],
                                a["group_index"], a["sigma"], a["log_u"], a["extra"], with_prior)
    for c in range(C):
        for i in range(N):
            mean, sd = a["mu"][c, a["group_index"][i]], a["sigma"][c]
            ratio = nll[c, i] - a["proposal_nll"][c, i] + a["extra"][c, i]
            if with_prior:
                ratio += (stats.norm.logpdf(a["proposal"][c, i], mean, sd).sum()
                          - stats.norm.logpdf(z[c, i], mean, sd).sum())
            expected = bool(a["log_u"][c, i] < ratio) and np.isfinite(a["proposal_nll"][c, i])
            assert accepted[c, i] == expected
            new = a["proposal"][c, i] if expected else z[c, i]
            np.testing.assert_array_equal(a["z"][c, i], new)
            assert a["nll"][c, i] == (a["proposal_nll"][c, i] if expected else nll[c, i])
    assert 0 < accepted.sum() < C * N
    assert not accepted[0, 0]


def test_mixture_density_is_scipys_multivariate_t_mixture(arrays):
    df = 5.0
    a = arrays
    inverse, constant = _mixture_arguments(a, df)
    got = NUMPY.mixture_log_density(a["z"], a["means"], inverse, constant, df)
    for c in range(C):
        for i in range(N):
            logs = [stats.multivariate_t(a["means"][j, i], a["factor"][j, i] @ a["factor"][j, i].T,
                                         df=df).logpdf(a["z"][c, i]) for j in range(M)]
            np.testing.assert_allclose(got[c, i], logsumexp(logs) - np.log(M), rtol=1e-12)


@pytest.mark.skipif(not compiled.ENABLED, reason="numba is not installed (or disabled)")
def test_compiled_steps_agree_with_numpy(arrays):
    fast = compiled_steps()
    a = arrays
    np.testing.assert_allclose(fast.walk_proposal(a["z"], a["chol"], a["log_scale"], a["normal"]),
                               NUMPY.walk_proposal(a["z"], a["chol"], a["log_scale"], a["normal"]),
                               rtol=1e-13, atol=1e-14)
    inverse, constant = _mixture_arguments(a)
    np.testing.assert_allclose(
        fast.mixture_log_density(a["z"], a["means"], inverse, constant, 5.0),
        NUMPY.mixture_log_density(a["z"], a["means"], inverse, constant, 5.0), rtol=1e-13)
    for with_prior in (True, False):
        results = []
        for steps in (fast, NUMPY):
            b = {k: v.copy() for k, v in arrays.items()}
            b["proposal_nll"][1, 2] = np.inf
            accepted = steps.metropolis(b["z"], b["nll"], b["proposal"], b["proposal_nll"],
                                        b["mu"], b["group_index"], b["sigma"], b["log_u"],
                                        b["extra"], with_prior)
            results.append((accepted, b["z"], b["nll"]))
        for got, expected in zip(*results):
            np.testing.assert_array_equal(got, expected)


def test_short_chains_use_numpy_long_ones_compile_when_numba_is_there():
    assert steps_for(100) is NUMPY
    assert (steps_for(10**7) is not NUMPY) == compiled.ENABLED


# ------------------------------------------------------- within the sampler
def _small_data():
    from avoidrl import QLearning
    from avoidrl._core.data import load_task_data

    model = QLearning(novel=False)
    rng = np.random.RandomState(3)
    truth = pd.DataFrame({"factual_lr": rng.uniform(0.1, 0.9, 6),
                          "counterfactual_lr": rng.uniform(0.1, 0.9, 6),
                          "temperature": rng.uniform(0.1, 0.3, 6)},
                         index=pd.Index([f"s{i}" for i in range(6)], name="participant_id"))
    learning, transfer = model.sample(params=truth, random_state=rng, trials_per_pair=6,
                                      transfer_repeats=2)
    return model, learning, transfer, load_task_data(learning, transfer)


@pytest.mark.skipif(not compiled.ENABLED, reason="numba is not installed (or disabled)")
def test_compiled_sweeps_follow_the_numpy_sweeps():
    """Same seeds, every move (walk, population and multiple-try jumps, mixture steps): the
    two implementations' chains stay together (they differ by rounding only)."""
    from avoidrl._core.likelihood import Objective
    from avoidrl.hierarchical import _mcmc

    model, _, _, data = _small_data()
    settings = model._fit_settings()
    names = list(settings["variant"].parameter_names)
    low = np.array([settings["bounds"][p][0] for p in names])
    high = np.array([settings["bounds"][p][1] for p in names])
    hyper = _mcmc.Hyperpriors(np.zeros(3), np.full(3, 2.0), np.full(3, 1.5))
    seeds = [np.random.SeedSequence(5, spawn_key=(0, c)) for c in range(2)]
    blocks = [_mcmc.ChainBlock(Objective(settings["variant"], data), low, high,
                               np.zeros(6, dtype=np.intp), 1, hyper, seeds, compiled=flag)
              for flag in (False, True)]
    moves = _mcmc.Moves(population_every=3, jump_every=4, n_tries=8)
    mixture = None
    for sweep in range(1, 61):
        if sweep == 31:
            mixture = _mcmc.MixtureProposal(np.concatenate([blocks[0].z, blocks[0].z + 0.3]),
                                            np.broadcast_to(0.2 * np.eye(3), (4, 6, 3, 3)))
        for block in blocks:
            accepted, _ = _mcmc._sweep(block, sweep, moves, 10, mixture)
            block.adapt(accepted, accumulate=False)
    np.testing.assert_allclose(blocks[1].z, blocks[0].z, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(blocks[1].sigma, blocks[0].sigma, rtol=1e-9)
    assert not np.array_equal(blocks[0].z, _mcmc.ChainBlock(
        Objective(settings["variant"], data), low, high, np.zeros(6, dtype=np.intp), 1, hyper,
        seeds).z)  # the chains moved


@pytest.mark.slow
@pytest.mark.skipif(not compiled.ENABLED, reason="numba is not installed (or disabled)")
def test_compiled_fit_is_the_same_whatever_n_jobs():
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from avoidrl.hierarchical import HierarchicalBayes

    model, learning, transfer, data = _small_data()
    settings = {"n_chains": 2, "n_warmup": 4000, "n_samples": 100, "thin": 3, "random_state": 2}
    assert steps_for((4000 + 300) * data.n_participants) is not NUMPY  # long enough to compile
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = HierarchicalBayes(model, n_jobs=1, **settings).fit(learning, transfer)
        two = HierarchicalBayes(model, n_jobs=2, **settings).fit(learning, transfer)
    np.testing.assert_array_equal(one.draws_, two.draws_)
    np.testing.assert_array_equal(one.mu_draws_, two.mu_draws_)
