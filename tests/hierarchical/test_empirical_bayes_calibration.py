"""EmpiricalBayes that cannot collapse silently and whose intervals are calibrated (issue 18)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize_scalar
from sklearn.exceptions import ConvergenceWarning

from avoidrl import QLearning
from avoidrl._core.transform import to_bounded
from avoidrl.hierarchical import EmpiricalBayes
from avoidrl.hierarchical._laplace import _importance_moments, _Population


def gaussian_population(n, mean, sd, seed):
    """Participants whose parameters are Gaussian in z: the EB model holds exactly."""
    model = QLearning(novel=True)
    settings = model._fit_settings()
    names = list(settings.variant.parameter_names)
    low, high = settings.low, settings.high
    z = np.asarray(mean) + np.asarray(sd) * np.random.default_rng(seed).standard_normal(
        (n, len(names)))
    truth = pd.DataFrame(to_bounded(z, low, high), columns=names,
                         index=pd.Index([f"p{i:03d}" for i in range(n)], name="participant_id"))
    learning, transfer = model.sample(params=truth, random_state=seed)
    return truth, learning, transfer


@pytest.mark.slow
def test_collapse_warning_fires_on_a_constructed_collapse():
    # every participant has the same parameters: the population sd of z truly is 0, and a
    # Laplace EM without a hyperprior shrinks the prior onto one value
    names = ["factual_lr", "counterfactual_lr", "temperature", "novel_value"]
    truth = pd.DataFrame([[0.3, 0.2, 0.1, 0.0]] * 30, columns=names,
                         index=pd.Index([f"p{i:03d}" for i in range(30)], name="participant_id"))
    learning, transfer = QLearning(novel=True).sample(params=truth, random_state=3)
    eb = EmpiricalBayes(QLearning(novel=True), m_step="laplace", scale_prior=None,
                        random_state=0)
    with pytest.warns(ConvergenceWarning, match="shrank toward 0"):
        eb.fit(learning, transfer)
    assert eb.collapsed_ and not eb.converged_
    assert set(eb.collapsed_) <= set(names)


@pytest.mark.slow
def test_no_collapse_warning_on_a_spread_population():
    truth, learning, transfer = gaussian_population(40, [-1.0, -1.5, -2.5, 0.0],
                                                    [0.8, 0.8, 0.3, 0.8], seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        eb = EmpiricalBayes(QLearning(novel=True), random_state=0).fit(learning, transfer)
    assert eb.collapsed_ == [] and eb.converged_
    assert (eb.n_effective_samples_ > 20).all()


@pytest.mark.parametrize("covariance", ["diagonal", "full"])
def test_hyperprior_m_step_matches_its_closed_form(covariance):
    rng = np.random.default_rng(0)
    n, k = 25, 3
    post_mean = rng.normal(size=(n, k))
    a = rng.normal(size=(n, k, k)) * 0.3
    post_cov = a @ np.swapaxes(a, 1, 2) + 0.05 * np.eye(k)
    shape, rate = 2.0, 0.7
    eb = EmpiricalBayes(QLearning(novel=True), covariance=covariance,
                        scale_prior=(shape, rate))
    population = eb._m_step({"post_mean": post_mean, "post_cov": post_cov})
    np.testing.assert_allclose(population.mean, post_mean.mean(axis=0))
    deviation = post_mean - post_mean.mean(axis=0)
    second = deviation.T @ deviation + post_cov.sum(axis=0)
    expected = (second + 2 * rate * np.eye(k)) / (n + 2 * shape - 2)
    if covariance == "diagonal":
        expected = np.diag(np.diag(expected))
    np.testing.assert_allclose(population.cov, expected + 1e-4 * np.eye(k), rtol=1e-12)
    # and it maximises the expected complete-data log posterior of each variance:
    # -N/2 log s2 - S/(2 s2) + log Gamma(1/s2; shape, rate) + log |d(1/s2)/d s2|... in
    # the precision tau = 1/s2, where the Gamma prior is placed
    for j in range(k):
        def negative(log_tau, j=j):
            tau = np.exp(log_tau)
            return -(0.5 * n * log_tau - 0.5 * tau * second[j, j]
                     + (shape - 1) * log_tau - rate * tau)
        best = minimize_scalar(negative, bounds=(-10, 10), method="bounded",
                               options={"xatol": 1e-10})
        assert 1 / np.exp(best.x) == pytest.approx(expected[j, j], rel=1e-6)
    # without the hyperprior: the plain EM update
    eb.set_params(scale_prior=None)
    plain = eb._m_step({"post_mean": post_mean, "post_cov": post_cov})
    np.testing.assert_allclose(np.diag(plain.cov), np.diag(second) / n + 1e-4)


def test_importance_moments_of_a_gaussian_posterior_are_exact():
    # a Gaussian likelihood times a Gaussian prior: the reweighted draws give the
    # conjugate posterior (weights of draws from the posterior itself are flat)
    rng = np.random.default_rng(1)
    prior = _Population(np.zeros(2), np.diag([4.0, 1.0]))
    posterior_cov = np.linalg.inv(np.linalg.inv(prior.cov) + np.eye(2))
    posterior_mean = posterior_cov @ np.array([1.0, -2.0])
    samples = rng.multivariate_normal(posterior_mean, posterior_cov, size=(1, 20000))
    # log_weight = -NLL - log q, with NLL = |z - y|^2 / 2, q the posterior density
    nll = 0.5 * np.sum((samples - [1.0, -2.0]) ** 2, axis=-1)
    deviation = samples - posterior_mean
    log_q = -0.5 * np.einsum("nsi,ij,nsj->ns", deviation, np.linalg.inv(posterior_cov),
                             deviation)
    mean, cov, _, ess = _importance_moments(samples, -nll - log_q, prior)
    np.testing.assert_allclose(mean[0], posterior_mean, atol=0.03)
    np.testing.assert_allclose(cov[0], posterior_cov, atol=0.03)
    assert ess[0] == pytest.approx(20000, rel=1e-6)


@pytest.mark.slow
def test_intervals_cover_a_gaussian_population():
    # the EB model holds, so its 95 % intervals should cover about 95 % of the truths;
    # 4 x 50 participant-parameters: 95 % coverage gives 183-197 of 200 with p ~ .99
    truth, learning, transfer = gaussian_population(50, [-1.0, -1.5, -2.5, 0.0],
                                                    [0.8, 0.8, 0.3, 0.8], seed=5)
    eb = EmpiricalBayes(QLearning(novel=True), random_state=0).fit(learning, transfer)
    ci = eb.params_ci_.reset_index()
    ci["true"] = [truth.loc[p, q] for p, q in zip(ci["participant_id"], ci["parameter"])]
    inside = (ci["true"] >= ci["lower"]) & (ci["true"] <= ci["upper"])
    assert 0.91 <= inside.mean() <= 0.99, inside.groupby(ci["parameter"]).mean()
    assert (ci["lower"] <= ci["estimate"]).all() and (ci["estimate"] <= ci["upper"]).all()


@pytest.mark.parametrize("params, match", [
    ({"m_step": "sampled"}, "m_step"),
    ({"scale_prior": (0.5, 1.0)}, "scale_prior"),
    ({"scale_prior": (1.0, 0.0)}, "scale_prior"),
    ({"scale_prior": 1.0}, "scale_prior"),
    ({"n_importance": 0}, "n_importance"),
])
def test_bad_calibration_settings(params, match):
    with pytest.raises(ValueError, match=match):
        EmpiricalBayes(QLearning(novel=True), **params)._settings()


def test_proposal_with_mode_centres_is_a_normalised_mixture():
    # draws from centres (n, C, k): log_q is the log density of the fixed-share mixture
    # of t's (and the defensive prior) that made them; checked by importance sampling
    # E_q[p / q] = 1 for a normalised target p, the t's own independent density
    from scipy.stats import multivariate_normal, multivariate_t

    from avoidrl.hierarchical._laplace import (DEFENSIVE_SHARE, IMPORTANCE_DF,
                                               _proposal_draws)
    rng = np.random.default_rng(0)
    n, s_count, k = 2, 4000, 2
    centres = np.array([[[0.0, 0.0], [3.0, -2.0], [0.0, 0.0]],
                        [[1.0, 1.0], [1.0, 1.0], [-2.0, 2.0]]])
    scale = np.broadcast_to(0.3 * np.eye(k), (n, k, k)).copy()
    prior_cov = 4.0 * np.eye(k)
    samples, log_q = _proposal_draws(centres, scale, np.zeros(k), prior_cov,
                                     rng.standard_normal((n, s_count, k)),
                                     rng.chisquare(IMPORTANCE_DF, (n, s_count)))
    head = s_count - int(round(DEFENSIVE_SHARE * s_count))
    for i in range(n):
        # every draw of the t part belongs to its centre s mod 3: its own t density there
        own = centres[i, np.arange(head) % 3]
        t_at = np.array([multivariate_t(c, scale[i], df=IMPORTANCE_DF).logpdf(x)
                         for c, x in zip(own[:50], samples[i, :50])])
        assert np.all(t_at > -20)
        density = sum((np.arange(head) % 3 == c).sum() / s_count
                      * np.exp(multivariate_t(centres[i, c], scale[i],
                                              df=IMPORTANCE_DF).logpdf(samples[i]))
                      for c in range(3))
        density = density + (s_count - head) / s_count * np.exp(
            multivariate_normal(np.zeros(k), prior_cov).logpdf(samples[i]))
        np.testing.assert_allclose(log_q[i], np.log(density), rtol=1e-6, atol=1e-6)
    # one centre: the single t (as before the centres)
    single, log_single = _proposal_draws(centres[:, :1], scale, np.zeros(k), prior_cov,
                                         rng.standard_normal((n, 100, k)),
                                         rng.chisquare(IMPORTANCE_DF, (n, 100)))
    assert single.shape == (n, 100, k) and np.isfinite(log_single).all()


def test_mode_centres_take_distinct_good_optima_only():
    from avoidrl.hierarchical._laplace import MODE_WINDOW, _mode_centers
    centre = np.zeros((1, 2))
    ends = [[(10.0, np.array([0.05, 0.0])),            # the centre's own basin: skipped
             (11.0, np.array([2.0, 1.0])),             # a second mode: taken
             (11.5, np.array([2.1, 1.05])),            # the same mode again: skipped
             (10.0 + MODE_WINDOW + 1.0, np.array([-3.0, 0.0]))]]  # too poor: skipped
    out = _mode_centers(centre, ends, np.array([10.0]), 3)
    np.testing.assert_array_equal(out[0], [[0.0, 0.0], [2.0, 1.0], [0.0, 0.0], [0.0, 0.0]])


def test_mode_centres_find_a_second_basin_that_a_single_t_misses():
    # a posterior with two separated modes: the MAP's t alone estimates the
    # normalising constant far too low; with the other optimum as a centre the
    # importance estimate is right (the E-step's intervals and evidences use it)
    from avoidrl.hierarchical._laplace import IMPORTANCE_DF, _mode_centers, _proposal_draws
    rng = np.random.default_rng(3)
    k, s_count = 2, 3000
    modes = np.array([[0.0, 0.0], [8.0, 8.0]])

    def log_target(z):  # an equal mixture of two unit Gaussians: integral 1
        parts = [-0.5 * np.sum((z - m) ** 2, axis=-1) - np.log(2 * np.pi) for m in modes]
        return np.logaddexp(*parts) + np.log(0.5)

    estimates = {}
    normals = rng.standard_normal((1, s_count, k))
    chi = rng.chisquare(IMPORTANCE_DF, (1, s_count))
    scale = 0.5 * np.eye(k)[None]
    for label, n_modes in (("single", 0), ("modes", 2)):
        centre = modes[:1]
        ends = [[(0.0, modes[0]), (0.0, modes[1])]]
        centres = _mode_centers(centre, ends, np.array([0.0]), n_modes) if n_modes \
            else centre[:, None, :]
        samples, log_q = _proposal_draws(centres, scale, np.zeros(k), 0.01 * np.eye(k),
                                         normals, chi)
        log_w = log_target(samples[0]) - log_q[0]
        estimates[label] = np.exp(log_w).mean()
    assert estimates["single"] < 0.7
    assert estimates["modes"] == pytest.approx(1.0, abs=0.1)
