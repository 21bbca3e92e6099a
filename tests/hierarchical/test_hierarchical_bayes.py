"""HierarchicalBayes: the Gibbs steps against closed forms, one participant against a grid of
the exact posterior, simulation-based calibration, and scikit-learn conventions."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.integrate import quad
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from avoidrl import QLearning
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective
from avoidrl._core.transform import to_bounded
from avoidrl.hierarchical import HierarchicalBayes
from avoidrl.hierarchical._mcmc import Hyperpriors, draw_group_means, update_scales
from avoidrl.models import (BaseModel, by_choice, decayed, delta_rule, learning_rate,
                            make_estimator, stimulus_table, temperature)

az = pytest.importorskip("arviz")


class OneRateQ(BaseModel):
    """Q-learning with one learning rate: the two-parameter model of the grid test."""

    parameters = (learning_rate("lr", 0.3, "learning rate of both options"), temperature(0.1))
    state_names = ("q",)
    value_systems = ("q",)

    def prepare(self, theta, chose1, outcome):
        return {"lr": by_choice(chose1, theta["lr"], theta["lr"]), "target": outcome}

    def update(self, state, step, t, theta, scratch, guard=True):
        return {"pe": delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)}

    def transfer_values(self, state, theta, novel, decay):
        return decayed(stimulus_table(state["q"], novel), decay)


def _hyper(k, mean=0.0, sd=2.0, scale=1.5):
    return Hyperpriors(np.full(k, mean), np.full(k, sd), np.full(k, scale))


def _small_population(n, seed, trials_per_pair=6, transfer_repeats=2):
    model = QLearning(novel=False)
    rng = np.random.RandomState(seed)
    truth = pd.DataFrame({"factual_lr": rng.uniform(0.1, 0.9, n),
                          "counterfactual_lr": rng.uniform(0.1, 0.9, n),
                          "temperature": rng.uniform(0.1, 0.3, n)},
                         index=pd.Index([f"s{i}" for i in range(n)], name="participant_id"))
    learning, transfer = model.sample(params=truth, random_state=rng,
                                      trials_per_pair=trials_per_pair,
                                      transfer_repeats=transfer_repeats)
    return truth, learning, transfer


# ------------------------------------------------------------- Gibbs steps
def test_group_mean_draw_is_the_conjugate_posterior():
    rng = np.random.default_rng(0)
    n, k = 7, 3
    z = rng.normal(1.0, 1.3, (n, k))
    sigma = np.array([0.5, 1.0, 2.0])
    hyper = Hyperpriors(np.array([0.0, 1.0, -1.0]), np.array([2.0, 0.5, 1.0]),
                        np.full(k, 1.5))
    membership = np.ones((1, n))
    draws = draw_group_means(z, membership, sigma, hyper,
                             rng.standard_normal((200_000, 1, k)))[:, 0]
    # closed form: precision-weighted mean of the prior and the data
    precision = n / sigma ** 2 + 1 / hyper.mu_sd ** 2
    mean = (z.sum(axis=0) / sigma ** 2 + hyper.mu_mean / hyper.mu_sd ** 2) / precision
    np.testing.assert_allclose(draws.mean(axis=0), mean, atol=5 * np.sqrt((1 / precision).max() / 2e5))
    np.testing.assert_allclose(draws.var(axis=0), 1 / precision, rtol=0.02)


def test_group_means_are_per_group():
    z = np.array([[0.0], [2.0], [10.0], [12.0]])
    membership = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]])
    hyper = _hyper(1, sd=1e6)  # a flat prior: the posterior mean is the group's mean
    out = draw_group_means(z, membership, np.array([1.0]), hyper, np.zeros((2, 1)))
    np.testing.assert_allclose(out[:, 0], [1.0, 11.0], atol=1e-9)


@pytest.mark.parametrize("n, squares", [(1, 0.3), (20, 25.0)])
def test_sigma_step_leaves_its_full_conditional_invariant(n, squares):
    """The MH chain of sigma against the exact conditional density, by quadrature."""
    hyper = _hyper(1, scale=1.5)
    rng = np.random.default_rng(1)
    steps = 30_000
    gamma = rng.standard_gamma(0.5 * n, (steps, 1))
    uniform = rng.random((steps, 1))
    sigma, chain = np.array([1.0]), np.empty(steps)
    for t in range(steps):
        sigma, _ = update_scales(sigma, np.array([squares]), n, hyper, gamma[t], uniform[t])
        chain[t] = sigma[0]

    def density(s):
        return s ** -n * np.exp(-squares / (2 * s * s) - s * s / (2 * 1.5 ** 2))

    norm = quad(density, 0, np.inf)[0]
    exact_mean = quad(lambda s: s * density(s), 0, np.inf)[0] / norm
    exact_sd = np.sqrt(quad(lambda s: s * s * density(s), 0, np.inf)[0] / norm - exact_mean ** 2)
    ess = az.ess(chain[None, :])
    assert abs(chain.mean() - exact_mean) < 4 * exact_sd / np.sqrt(ess)
    assert abs(chain.std() - exact_sd) < 0.05 * exact_sd
    median = np.median(chain)
    exact_below = quad(density, 0, median)[0] / norm
    assert abs(exact_below - 0.5) < 0.02


# ------------------------------------------------- one participant vs a grid
def _marginal_prior(z, hyper):
    """p(z) with mu ~ N(m, s) and sigma ~ HalfNormal(c) integrated out (one coordinate)."""
    m, s, c = hyper.mu_mean[0], hyper.mu_sd[0], hyper.sigma_scale[0]

    def integrand(sigma, value):
        return stats.norm.pdf(value, m, np.sqrt(s * s + sigma * sigma)) \
            * 2 * stats.norm.pdf(sigma, 0, c)

    return np.array([quad(integrand, 0, np.inf, args=(v,))[0] for v in z])


@pytest.mark.slow
def test_one_participant_matches_the_exact_posterior_on_a_grid():
    estimator = make_estimator(OneRateQ, novel=False)
    truth = pd.DataFrame({"lr": [0.35], "temperature": [0.15]},
                         index=pd.Index(["solo"], name="participant_id"))
    learning, transfer = estimator.sample(params=truth, random_state=3, trials_per_pair=10,
                                          transfer_repeats=2)
    fit = HierarchicalBayes(estimator, n_warmup=1500, n_samples=2000, thin=3, random_state=0)
    fit.fit(learning, transfer)
    # the exact posterior of (z_lr, z_temperature) on a fine grid
    settings = estimator._fit_settings()
    low = np.array([settings["bounds"][p][0] for p in ("lr", "temperature")])
    high = np.array([settings["bounds"][p][1] for p in ("lr", "temperature")])
    grid = np.linspace(-9, 9, 361)
    z1, z2 = np.meshgrid(grid, grid, indexing="ij")
    points = np.column_stack([z1.ravel(), z2.ravel()])
    objective = Objective(settings["variant"], load_task_data(learning, transfer))
    nll = objective(to_bounded(points, low, high), np.zeros(len(points), dtype=int))
    prior = np.log(_marginal_prior(grid, _hyper(1)))
    log_post = -nll.reshape(z1.shape) + prior[:, None] + prior[None, :]
    weight = np.exp(log_post - log_post.max())
    weight /= weight.sum()
    x = to_bounded(points, low, high).reshape(*z1.shape, 2)
    exact_mean = np.einsum("ij,ijk->k", weight, x)
    exact_sd = np.sqrt(np.einsum("ij,ijk->k", weight, (x - exact_mean) ** 2))
    sampled = fit.params_.loc["solo"].to_numpy()
    error = exact_sd / np.sqrt(fit.ess_bulk_.loc["solo"].to_numpy())
    assert np.all(np.abs(sampled - exact_mean) < 4 * error), (sampled, exact_mean, error)
    sampled_sd = fit.draws_[:, :, 0].reshape(-1, 2).std(axis=0)
    np.testing.assert_allclose(sampled_sd, exact_sd, rtol=0.1)


# ------------------------------------------------ simulation-based calibration
@pytest.mark.slow
def test_simulation_based_calibration_ranks_are_uniform():
    """Ranks of the true mu and of a participant's parameters among thinned posterior draws."""
    n_replicates, n, n_kept, bins = 120, 4, 19, 5
    rng = np.random.RandomState(2024)
    model = QLearning(novel=False)
    names = model.parameter_names
    settings = model._fit_settings()
    low = np.array([settings["bounds"][p][0] for p in names])
    high = np.array([settings["bounds"][p][1] for p in names])
    ranks = {"mu": [], "theta": []}
    for replicate in range(n_replicates):
        mu = rng.normal(0.0, 2.0, 3)
        sigma = np.abs(rng.normal(0.0, 1.5, 3))
        z = mu + sigma * rng.standard_normal((n, 3))
        truth = pd.DataFrame(to_bounded(z, low, high), columns=names,
                             index=pd.Index([f"s{i}" for i in range(n)], name="participant_id"))
        learning, transfer = model.sample(params=truth, random_state=rng, trials_per_pair=4,
                                          transfer_repeats=1)
        fit = HierarchicalBayes(model, n_chains=2, n_warmup=400, n_samples=n_kept * 10, thin=2,
                                random_state=replicate)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            fit.fit(learning, transfer)
        mu_draws = fit.mu_draws_[:, ::10, 0].reshape(-1, 3)[: 2 * n_kept]
        theta = fit.draws_[:, ::10, 0].reshape(-1, 3)[: 2 * n_kept]
        ranks["mu"].append((mu_draws < mu).sum(axis=0))
        ranks["theta"].append((theta < truth.iloc[0].to_numpy()).sum(axis=0))
    for quantity, values in ranks.items():
        values = np.asarray(values)          # (replicates, 3), in 0..2 * n_kept
        for j in range(3):
            counts = np.bincount(values[:, j] * bins // (2 * n_kept + 1), minlength=bins)
            p = stats.chisquare(counts).pvalue
            assert p > 0.001, (quantity, names[j], counts)


# ------------------------------------------------- scikit-learn conventions
FAST = dict(n_chains=2, n_warmup=200, n_samples=100, thin=1)


@pytest.fixture(scope="module")
def small():
    return _small_population(8, seed=5)


def test_init_only_stores_and_clone_round_trips():
    fit = HierarchicalBayes(QLearning(), n_chains=3, prior="group", mu_prior_sd={"temperature": 1.0},
                            random_state=4)
    params = fit.get_params()
    assert params["n_chains"] == 3 and params["prior"] == "group"
    assert params["mu_prior_sd"] == {"temperature": 1.0}
    twin = clone(fit)
    assert twin.get_params()["estimator__novel"] == fit.get_params()["estimator__novel"]
    assert not hasattr(twin, "params_")


@pytest.mark.slow
def test_same_seed_same_draws_whatever_n_jobs(small):
    _, learning, transfer = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = HierarchicalBayes(QLearning(), random_state=7, n_jobs=1, **FAST).fit(learning,
                                                                                    transfer)
        two = HierarchicalBayes(QLearning(), random_state=7, n_jobs=2, **FAST).fit(learning,
                                                                                    transfer)
    np.testing.assert_array_equal(one.draws_, two.draws_)
    np.testing.assert_array_equal(one.sigma_draws_, two.sigma_draws_)
    pd.testing.assert_frame_equal(one.params_, two.params_)


def test_fitted_attributes_and_inference_data(small):
    truth, learning, transfer = small
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = HierarchicalBayes(QLearning(), random_state=0, **FAST).fit(learning, transfer)
    names = QLearning().parameter_names
    assert list(fit.params_.columns) == names and list(fit.params_.index) == list(truth.index)
    assert fit.draws_.shape == (2, 100, 8, 3)
    ci = fit.params_ci_
    assert list(ci.columns) == ["estimate", "lower", "upper", "status"]
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()
    narrow = fit.credible_intervals(0.5)
    assert ((narrow["upper"] - narrow["lower"]) <= (ci["upper"] - ci["lower"]) + 1e-12).all()
    assert fit.rhat_.shape == (8, 3) and fit.ess_bulk_.shape == (8, 3)
    assert set(fit.population_diagnostics_.index.get_level_values("quantity")) == {"mu",
                                                                                   "sigma"}
    idata = fit.to_inference_data()
    summary = az.summary(idata, var_names=["mu", "sigma"])
    assert len(summary) == 6
    assert idata.posterior["theta"].sizes == {"chain": 2, "draw": 100, "participant": 8,
                                              "parameter": 3}
    assert idata.log_likelihood["y"].sizes["participant"] == 8
    assert fit.evidence_.index.equals(fit.params_.index) and fit.fit_method == "bayes"
    assert fit.bounds_ == QLearning()._fit_settings()["bounds"]
    assert np.isfinite(fit.score(learning, transfer))
    simulated, _ = fit.sample(learning, transfer, random_state=0)
    assert set(simulated["participant_id"]) == set(truth.index)
    new, _ = fit.sample(random_state=0, n_participants=2)
    assert new["participant_id"].nunique() == 2


def test_group_prior_gives_group_differences():
    truth, learning, transfer = _small_population(8, seed=6)
    groups = {pid: ("a" if i < 4 else "b") for i, pid in enumerate(truth.index)}
    learning = learning.assign(group_code=learning["participant_id"].map(groups))
    transfer = transfer.assign(group_code=transfer["participant_id"].map(groups))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        fit = HierarchicalBayes(QLearning(), prior="group", random_state=0, **FAST).fit(
            learning, transfer)
    assert set(fit.group_mean_) == {"a", "b"}
    table = fit.group_differences_
    assert table.index.names == ["parameter", "group_a", "group_b"] and len(table) == 3
    assert ((table["p_direction"] >= 0.5) & (table["p_direction"] <= 1)).all()
    assert (table["lower"] <= table["upper"]).all()
    assert fit.to_inference_data().posterior["mu"].sizes["group"] == 2


def test_short_chains_warn_naming_the_parameters(small):
    _, learning, transfer = small
    fit = HierarchicalBayes(QLearning(), n_chains=2, n_warmup=0, n_samples=20, thin=1,
                            random_state=0)
    with pytest.warns(ConvergenceWarning, match=r"R-hat > 1.05 for .*(factual_lr|temperature)"):
        fit.fit(learning, transfer)
    assert not fit.converged_


@pytest.mark.parametrize("setting, value, match", [
    ("prior", "nested", "prior must be one of"),
    ("n_chains", 0, "n_chains must be an integer >= 1"),
    ("thin", 1.5, "thin must be an integer"),
    ("mu_prior_sd", -1.0, "mu_prior_sd must be a positive number"),
    ("sigma_prior_scale", {"nope": 1.0}, "sigma_prior_scale: unknown parameter"),
    ("n_jobs", 0, "n_jobs must be None or a non-zero integer"),
])
def test_invalid_settings_name_the_setting(small, setting, value, match):
    _, learning, transfer = small
    fit = HierarchicalBayes(QLearning(), **{setting: value})
    with pytest.raises(ValueError, match=match):
        fit.fit(learning, transfer)
