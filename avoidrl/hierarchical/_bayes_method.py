"""Full hierarchical Bayes's answers to the fitted-model protocol (:mod:`avoidrl._utils.fitted`).

A mixin of :class:`~avoidrl.hierarchical.HierarchicalBayes`, beside the
estimator (``_bayes.py``) as maximum likelihood's answers sit in
``estimators/_method.py``: what the method is called, how its fits are
compared (PSIS-LOO), what its intervals are, which settings the front ends
may pass, and the sentences of the report's README and methods.md.
"""

from __future__ import annotations

import pandas as pd

from ._wrapped import WrappedModel


class FullBayes(WrappedModel):
    """The fitted-model protocol for full hierarchical Bayes (posterior draws)."""

    fit_method = "bayes"
    fit_method_name = "full-Bayes"
    evidence_label = "PSIS-LOO"
    comparison_criteria = {"LOO": "loo"}
    recovery_criterion_label = "-2 elpd (PSIS-LOO)"
    recovery_criterion = "loo"
    uses_starts = False
    unused_starts_reason = "full Bayes starts its chains from over-dispersed random points"
    #: the sampler needs no gradient (the models' ``gradient`` setting does not apply)
    uses_gradient = False
    fits_jointly = True
    maximizes_likelihood = False
    group_criteria = {}
    summary_suffix = " by full hierarchical Bayes"
    summary_evidence_label = "-2 x PSIS-LOO elpd"
    #: the settings ``avoidrl fit --method bayes`` and ``Pipeline(method='bayes')`` pass on
    front_end_settings = ("n_chains", "n_warmup", "n_samples")
    #: its population is fitted to both phases: a learning-only refit is no out-of-sample test
    predicts_transfer = False
    fit_method_description = (
        "Fitting method: full hierarchical Bayes (`avoidrl.hierarchical.HierarchicalBayes`: a "
        "Gaussian population in the logit space of the bounds whose mean and sd have "
        "weakly-informative hyperpriors and are integrated over, sampled by "
        "Metropolis-within-Gibbs on the batched likelihood). Parameters are posterior means "
        "(the group statistics and figures use them). Models are compared per participant by "
        "-2 x the PSIS-LOO log predictive density (`elpd_loo_`, computed by ArviZ; files "
        "named `LOO`, lower is better) and by random-effects BMS on the elpd; the PSIS-LOO "
        "estimate of a participant is unreliable when its Pareto k exceeds 0.7 "
        "(bayes_diagnostics.csv). The models' start values and starts are not used: chains "
        "start from over-dispersed random points. Check R-hat and ESS "
        "(bayes_diagnostics.csv, bayes_trace_rank.png) before reading the estimates.")
    interval_description = (
        "equal-tailed 95 % credible intervals of the full hierarchical posterior (posterior "
        "draws in natural units); every estimate is 'interior'")
    evidence_description = (
        "`PSIS-LOO`: each participant's Pareto-smoothed importance-sampling leave-one-out "
        "log predictive density (`elpd_loo_`, ArviZ), from its likelihood integrated over "
        "the population at each posterior draw (integrated importance sampling, so leaving "
        "a participant out moves only the population; check `pareto_k_`)")
    methods_criteria_text = (
        "-2 x the PSIS-LOO expected log predictive density of each participant (Vehtari et "
        "al., 2017; computed with ArviZ) from its likelihood integrated over the population "
        "(integrated importance sampling, Vehtari et al., 2016), and its mean over participants")
    methods_citations = ("vehtari2016", "vehtari2017", "vehtari2021")

    @staticmethod
    def methods_fitting_text(estimators, first):
        """methods.md's sentence on the estimation, from the summary's estimator settings."""
        return ("Parameters were estimated by full hierarchical Bayes: a "
                f"{first.get('prior')} Gaussian population in the logit space of the bounds "
                "(population means ~ Normal(" f"{first.get('mu_prior_mean')}, "
                f"{first.get('mu_prior_sd')}), population sds ~ HalfNormal("
                f"{first.get('sigma_prior_scale')})), sampled by Metropolis-within-Gibbs "
                f"({first.get('n_chains')} chains, {first.get('n_warmup')} warm-up sweeps, "
                f"{first.get('n_samples')} draws thinned by {first.get('thin')}); estimates "
                "are posterior means with equal-tailed 95 % credible intervals, and "
                "convergence was checked by rank-normalised split R-hat and effective sample "
                "sizes (Vehtari et al., 2021).")

    @property
    def evidence_(self) -> pd.Series:
        """Per-participant log evidence: the PSIS-LOO log predictive density (``elpd_loo_``)."""
        return self.elpd_loo_.rename("log_evidence")
