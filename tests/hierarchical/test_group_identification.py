"""The integrated BIC's Monte-Carlo integral: importance sampling and its standard error.

Issue 18 (nesting at the group level): with plain prior samples the iBIC of a
group of 30 scattered by 18-38 between seeds, more than the penalty that
separates ActorCritic from Hybrid2012 (which nests it at mixing_factor = 0).
These tests pin the importance-sampled estimate to a brute-force one and check
that the standard error it reports is the scatter between seeds.
"""

import numpy as np
import pandas as pd
import pytest

from avoidrl import QLearning
from avoidrl._core.data import load_task_data
from avoidrl._core.transform import to_unbounded
from avoidrl.hierarchical import EmpiricalBayes
from avoidrl.hierarchical._laplace import (
    _importance_draws,
    _log_mean_exp,
    _Population,
    integrated_bic,
)

RANGES = {"factual_lr": (0.05, 0.6), "counterfactual_lr": (0.05, 0.5), "temperature": (0.05, 0.2)}


@pytest.fixture(scope="module")
def small_fit():
    """EmpiricalBayes of plain QLearning (3 parameters) on 6 participants: cheap to integrate."""
    rng = np.random.RandomState(5)
    truth = pd.DataFrame({p: rng.uniform(lo, hi, 6) for p, (lo, hi) in RANGES.items()},
                         index=pd.Index([f"p{i}" for i in range(6)], name="participant_id"))
    learning, transfer = QLearning().sample(params=truth, random_state=6)
    eb = EmpiricalBayes(QLearning(), n_ibic_samples=500, random_state=0).fit(learning, transfer)
    settings = eb._settings()
    z = to_unbounded(eb.params_.to_numpy(), settings["low"], settings["high"])
    return {"eb": eb, "data": load_task_data(learning, transfer), "settings": settings,
            "population": eb.populations_[None], "z": z, "cov": eb.posterior_cov_}


def _ibic(fit, n_samples, seed, importance=True):
    s = fit["settings"]
    posterior = {"posterior_mean": fit["z"], "posterior_cov": fit["cov"]} if importance else {}
    return integrated_bic(s["variant"], fit["data"], fit["population"], s["low"], s["high"],
                          n_samples, np.random.default_rng(seed), "diagonal",
                          return_se=True, **posterior)


def test_log_mean_exp_and_its_standard_error():
    value, se = _log_mean_exp(np.log(np.array([[1.0, 3.0], [2.0, 2.0]])) + 700.0)
    np.testing.assert_allclose(value, np.log(2.0) + 700.0)
    # sd of (1, 3) is sqrt(2), mean 2, two samples: sqrt(2) / (2 sqrt(2)); equal weights: 0
    np.testing.assert_allclose(se, [0.5, 0.0])
    # NaN (a failed likelihood) is a zero weight, not a NaN estimate
    np.testing.assert_allclose(_log_mean_exp(np.array([0.0, np.nan]))[0], np.log(0.5))
    with pytest.raises(ValueError, match="zero likelihood"):
        _log_mean_exp(np.full(3, -np.inf))


def test_proposal_weights_integrate_the_prior_to_one():
    # E_q[prior / q] = 1 exactly: checks the mixture density, both components included
    population = _Population([0.5, -1.0, 2.0], np.diag([1.0, 2.0, 0.3]))
    location, scale = np.array([1.5, 0.0, 2.2]), np.diag([0.01, 0.02, 0.005])
    _, log_ratio = _importance_draws(population, location, scale, 200_000,
                                     np.random.default_rng(0))
    value, se = _log_mean_exp(log_ratio)
    assert abs(value) < 4 * se
    assert se < 0.02


def test_importance_sampled_ibic_agrees_with_brute_force(small_fit):
    brute, brute_se = _ibic(small_fit, 60_000, seed=1, importance=False)
    estimate, se = _ibic(small_fit, 2000, seed=2)
    assert se < 1.0
    assert abs(estimate - brute) < 4 * np.hypot(se, brute_se)


def test_reported_standard_error_is_the_scatter_between_seeds(small_fit):
    results = np.array([_ibic(small_fit, 300, seed) for seed in range(40)])
    scatter, reported = results[:, 0].std(ddof=1), results[:, 1].mean()
    # 40 repeats: the sample sd is within about +-25 % of the truth
    assert 0.6 < reported / scatter < 1.5


def test_importance_sampling_beats_prior_samples_at_equal_cost(small_fit):
    plain = np.array([_ibic(small_fit, 300, seed, importance=False)[0] for seed in range(20)])
    sampled = np.array([_ibic(small_fit, 300, seed)[0] for seed in range(20)])
    assert sampled.std(ddof=1) < plain.std(ddof=1) / 3


def test_fit_reports_ibic_and_its_standard_error(small_fit):
    eb = small_fit["eb"]
    assert np.isfinite(eb.ibic_)
    assert 0 < eb.ibic_se_ < 1.0


def test_posterior_arguments_are_checked(small_fit):
    s = small_fit["settings"]
    args = (s["variant"], small_fit["data"], small_fit["population"], s["low"], s["high"], 10,
            np.random.default_rng(0), "diagonal")
    with pytest.raises(ValueError, match="together"):
        integrated_bic(*args, posterior_mean=small_fit["z"])
    with pytest.raises(ValueError, match="shape"):
        integrated_bic(*args, posterior_mean=small_fit["z"][:2], posterior_cov=small_fit["cov"])
