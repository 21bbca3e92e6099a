"""Maximum likelihood's answers to the fitted-model protocol (:mod:`avoidrl._utils.fitted`).

What this inference method is, said by the estimators themselves so that tables,
figures, writers, recoveries and front ends never ask for a fit's type: a mixin
of :class:`~avoidrl.estimators.RLModelBase`. Another method (empirical Bayes in
:mod:`avoidrl.hierarchical`) answers the same questions in its own folder.
"""

from __future__ import annotations

import pandas as pd

#: methods.md's sentences on the 95 % intervals, by the ``intervals`` setting (summaries
#: written before the setting existed had Wald intervals)
_PROFILE_TEXT = ("95 % intervals were profile-likelihood intervals: every value whose negative "
                 "log-likelihood, minimised over the other parameters, stays within a cut of the "
                 "minimum")
_INTERVALS_TEXT = {
    "wald": "95 % intervals were Wald intervals from the Hessian of the negative "
            "log-likelihood at the estimate, in the logit space of the bounds.",
    "profile": _PROFILE_TEXT + ", chi2_1(0.95)/2 = 1.92.",
    "calibrated-profile": _PROFILE_TEXT + ". Each parameter's cut was calibrated by a "
                          "parametric bootstrap of the group (simulated again at its estimates "
                          "and refitted as it was fitted): the 95 % prediction bound of the "
                          "likelihood ratios at the generating values, the ceil(0.95 (m + 1))-th "
                          "smallest of the m ratios (Davison & Hinkley, 1997), and never below "
                          "chi2_1(0.95)/2 = 1.92.",
}


class MaximumLikelihood:
    """The fitted-model protocol for per-participant maximum likelihood."""

    fit_method = "ml"
    fit_method_name = "maximum-likelihood"
    evidence_label = "-BIC/2"
    comparison_criteria = {"AIC": "aic", "BIC": "bic"}
    recovery_criterion_label = "BIC"
    recovery_criterion = "bic"
    uses_starts = True
    #: the estimators' ``intervals`` applies (Wald or profile intervals)
    takes_interval_method = True
    unused_starts_reason = None
    fits_jointly = False
    maximizes_likelihood = True
    group_criteria = {}
    summary_suffix = ""
    summary_evidence_label = "BIC"
    fit_method_description = (
        "Fitting method: maximum likelihood per participant (multi-start bounded "
          "quasi-Newton descents of the L-BFGS-B family). Models "
          "are compared by AIC and BIC per participant; the Bayesian model selection uses "
          "-BIC/2 as each participant's log evidence (the BIC approximation).")
    interval_description = (
        "Wald intervals from the NLL's Hessian in the logit space of the bounds, mapped back (so within the bounds, possibly asymmetric); status 'at lower bound' / 'at upper bound' (the estimate sits on a bound) or 'not identified' (a flat direction of the likelihood, or an interval spanning nearly the whole range) have no interval (NaN). Measured coverage of the 95 % intervals (simulated populations of 60, 10 replicates, `benchmarks/bench_hierarchical.py --report coverage`): .91-.94 on QLearning+novel, but on Hybrid2012+novel .43-.51 for the actor and critic learning rates and .79-.89 for the others, because the estimate can sit in another basin of a likelihood with several. The estimators' `intervals='profile'` gives profile-likelihood intervals instead (every estimate gets one; the same benchmark: .93-.95 on QLearning+novel but temperature .925, .89-.94 on Hybrid2012+novel), and `intervals='calibrated-profile'` intervals whose cut a parametric bootstrap of the group calibrates (.933-.960 on both; over 20 replicates .948-.957 on QLearning+novel and .932-.956 on Hybrid2012+novel); for the actor models, empirical or full Bayes (--method eb or bayes) give posterior intervals, with their own measured coverage")
    profile_interval_description = (
        "profile-likelihood intervals (the models' intervals='profile' or 'calibrated-profile', see the run summary): every value whose NLL, minimised over the other parameters (from the estimate and from the fit's other local optima), stays within a cut of the minimum: chi2_1(0.95)/2 = 1.92, or with 'calibrated-profile' the 95 % prediction bound (the ceil(0.95 (m + 1))-th smallest of m) of the likelihood ratios of a parametric bootstrap of the group (each simulated copy refitted as the fit was, profile search included), per parameter and never below 1.92; every estimate has one, on a bound too (its status says so). Where the profile met a lower NLL than the fit's optimum, the participant was refitted from there (a 'profile' start in the fits). Measured coverage of the 95 % intervals (simulated populations of 60, 10 replicates, `benchmarks/bench_hierarchical.py --report coverage`): 'profile' .925-.950 on QLearning+novel, .892-.940 on Hybrid2012+novel (Wald intervals there: .43-.51 for the actor and critic learning rates); 'calibrated-profile' .945-.957 on QLearning+novel and .933-.960 on Hybrid2012+novel (over 20 replicates .948-.957 and .932-.956: factual_actor_lr and mixing_factor .932)")

    @property
    def fitted_interval_description(self) -> str:
        """What this fit's ``params_ci_`` holds: its ``intervals`` setting's description."""
        if getattr(self, "intervals", "wald") == "wald":
            return self.interval_description
        return self.profile_interval_description

    evidence_description = (
        "`-BIC/2`: minus half each participant's BIC, the BIC approximation of the log evidence of the maximum-likelihood fit")

    #: refitting the learning phase alone predicts the transfer phase out of sample
    #: (avoidrl.report.transfer_prediction)
    predicts_transfer = True
    #: methods.md (avoidrl.report): the comparison criteria and the references they need
    methods_criteria_text = "AIC and BIC (per participant, and their means over participants)"
    methods_citations = ("byrd1995",)

    @staticmethod
    def methods_fitting_text(estimators, first):
        """methods.md's sentence on the estimation, from the summary's estimator settings."""
        starts = sorted({(e.get("start"), e.get("n_starts"), e.get("max_starts"))
                         for e in estimators.values()}, key=str)
        said = "; ".join(f"'{start}' starts, {n} per participant and up to {most} for "
                         "participants whose best optimum was reached only once"
                         for start, n, most in starts)
        # estimators saved before the setting existed descended by forward differences
        gradients = {e.get("gradient", "finite-difference") for e in estimators.values()}
        how = " and ".join(
            "a bounded quasi-Newton method of the L-BFGS-B family (Byrd et al., 1995) with the "
            "likelihood's exact gradient" if g == "exact" else
            "L-BFGS-B (Byrd et al., 1995; SciPy) with forward-difference gradients"
            for g in sorted(gradients))
        return ("Each participant's parameters were estimated by maximum likelihood within "
                f"the bounds, by {how} ({said}; optimizer options: "
                f"{first.get('optimizer_options') or 'defaults'}). "
                + _INTERVALS_TEXT.get(first.get("intervals") or "wald", ""))

    @classmethod
    def methods_citations_of(cls, first):
        """methods.md's references for these settings: Davison & Hinkley with calibrated cuts."""
        return cls.methods_citations + (("davison1997",)
                                        if first.get("intervals") == "calibrated-profile"
                                        else ())

    @property
    def evidence_(self) -> pd.Series:
        """Per-participant log evidence of the fit: -BIC/2 (the BIC approximation)."""
        return (-self.bic_ / 2).rename("log_evidence")

    @property
    def simulator(self):
        """The estimator that simulates and replays this fit: itself."""
        return self

    @classmethod
    def from_model(cls, estimator, random_state=None, n_jobs=None):
        """The maximum-likelihood estimator of a model estimator: the estimator itself."""
        return estimator
