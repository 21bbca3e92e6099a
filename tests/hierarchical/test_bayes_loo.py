"""Integrated PSIS-LOO of full Bayes: each participant's likelihood integrated over the
population, checked against plain Monte Carlo, and stable where the conditional one is not."""

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import logsumexp
from sklearn.exceptions import ConvergenceWarning

from avoidrl import load_example, make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective
from avoidrl._core.transform import to_bounded
from avoidrl.hierarchical import HierarchicalBayes
from avoidrl.hierarchical._posterior import integrated_log_likelihood

pytest.importorskip("arviz")


@pytest.fixture(scope="module")
def fitted():
    learning, transfer = load_example()
    keep = learning["participant_id"].drop_duplicates().iloc[:12]
    learning = learning[learning["participant_id"].isin(keep)].reset_index(drop=True)
    transfer = transfer[transfer["participant_id"].isin(keep)].reset_index(drop=True)
    model = make_model("QLearning+novel")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        fit = HierarchicalBayes(model, n_chains=2, n_warmup=400, n_samples=200, thin=2,
                                random_state=0).fit(learning, transfer)
    return fit, model, learning, transfer


def test_integrated_likelihood_matches_plain_monte_carlo(fitted):
    fit, model, learning, transfer = fitted
    settings = model._fit_settings()
    low, high, variant = settings.low, settings.high, settings.variant
    data = load_task_data(learning, transfer)
    values = integrated_log_likelihood(fit, variant, data, low, high,
                                       np.zeros(data.n_participants, dtype=np.intp),
                                       np.random.default_rng(1), n_inner=8000, max_draws=40)
    assert values.shape == (2, 20, 12)
    objective = Objective(variant, data)
    rng = np.random.default_rng(2)
    # draw (chain 1, kept draw 7) is posterior draw 7 * step of chain 1
    step = fit.draws_.shape[1] // values.shape[1]
    mu, sigma = fit.mu_draws_[1, 7 * step, 0], fit.sigma_draws_[1, 7 * step]
    for i in (0, 5, 11):
        z = mu + sigma * rng.standard_normal((40_000, len(mu)))
        log_lik = -objective(to_bounded(z, low, high), np.full(len(z), i))
        w = np.exp(log_lik - log_lik.max())
        plain = np.log(w.mean()) + log_lik.max()
        se = w.std() / (w.mean() * np.sqrt(len(w)))
        # the importance-sampled value (8000 inner draws) agrees within 4 standard errors
        # of the plain estimate, plus 0.05 for the importance estimate's own error
        assert abs(values[1, 7, i] - plain) < 4 * se + 0.05, (i, values[1, 7, i], plain, se)


def test_integrated_loo_is_stable_where_the_conditional_is_not(fitted):
    fit = fitted[0]
    # leaving a participant out moves its own parameters in the conditional LOO (Pareto k
    # far above 0.7 with ~500 trials), only the population in the integrated one
    assert (fit.pareto_k_ <= 0.7).mean() >= 0.9, fit.pareto_k_
    assert (fit.pareto_k_conditional_ > 0.7).mean() >= 0.5
    assert fit.evidence_.equals(fit.elpd_loo_.rename("log_evidence"))
    # leaving a participant out predicts its data no better than fitting to it does
    in_sample = fit.log_predictive(*fitted[2:])
    assert (fit.elpd_loo_ <= in_sample + 0.5).mean() >= 0.9


def test_unreliable_loo_is_said(fitted, monkeypatch):
    fit, model, learning, transfer = fitted
    import avoidrl.hierarchical._bayes as bayes
    monkeypatch.setattr(bayes, "PARETO_K_LIMIT", -1.0)
    with pytest.warns(UserWarning, match=r"unreliable for 12 of 12 participants"):
        fit._check_loo()
