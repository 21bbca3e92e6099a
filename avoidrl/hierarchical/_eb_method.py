"""Empirical Bayes's answers to the fitted-model protocol (:mod:`avoidrl._utils.fitted`).

A mixin of :class:`~avoidrl.hierarchical.EmpiricalBayes`, beside the estimator
(``_empirical_bayes.py``) as full Bayes's answers sit in ``_bayes_method.py``:
what the method is called, how its fits are compared (Laplace evidence, iBIC),
what its intervals are (and at which levels, when calibrated), which settings
the front ends may pass, and the sentences of the report's README and methods.md.
"""

from __future__ import annotations

from ._wrapped import WrappedModel


class EmpiricalBayesMethod(WrappedModel):
    """The fitted-model protocol for empirical Bayes (a fitted population prior)."""

    fit_method = "eb"
    fit_method_name = "empirical-Bayes"
    evidence_label = "Laplace"
    comparison_criteria = {"Laplace": "laplace"}
    recovery_criterion_label = "-2 log evidence (Laplace)"
    recovery_criterion = "laplace"
    uses_starts = False
    unused_starts_reason = "empirical Bayes starts its MAP searches from the population prior"
    fits_jointly = True
    maximizes_likelihood = False
    #: the settings ``avoidrl fit --method eb`` and ``Pipeline(method='eb')`` pass on
    front_end_settings = ("interval_calibration",)
    group_criteria = {"iBIC": "ibic_"}
    summary_suffix = " by empirical Bayes"
    summary_evidence_label = "-2 x Laplace log evidence"
    fit_method_description = (
        "Fitting method: empirical Bayes (`avoidrl.hierarchical.EmpiricalBayes`, EM with a "
          "Gaussian population prior in the logit space of the bounds, Huys et al. 2011; the "
          "M-step uses importance-sampled posterior moments and a weak Gamma hyperprior on the "
          "population precisions, so a population's scale cannot collapse unnoticed). "
          "Parameters are posterior means under the fitted prior (from the importance draws; "
          "they track the truth better than the MAPs, which are in `map_params_`). EB fits have "
          "no AIC/BIC: models are compared per participant by -2 x the Laplace log evidence "
          "(files named `Laplace`; on the scale of BIC, lower is better, but not a BIC), at "
          "the group level by the integrated BIC (ibic.csv, the recommended criterion: it "
          "identified the generator in 10/10 groups of 30 for each of five nested models), "
          "and by random-effects BMS on the Laplace log evidence. The models' start values, start mode and number of starts are "
          "not used: each E-step's MAP search starts from the previous MAP, the prior mean and "
          "two screened prior draws (the first E-step also from 3 x k draws of the broad "
          "initial prior, so that rarely reached basins are found). The group statistics (pain_fits_*) and figures use these posterior means; with "
          "a pooled prior (the default) shrinkage pulls every group toward the same mean, so "
          "it does not make group differences (with prior='group' it may).")

    @property
    def fitted_interval_description(self) -> str:
        """What this fit's ``params_ci_`` holds: calibrated levels said when used."""
        levels = getattr(self, "interval_level_", None)
        if getattr(self, "interval_calibration_", None) is None or levels is None:
            return self.interval_description
        said = ", ".join(f"{name} {level:.3f}" for name, level in levels.items())
        return (f"Posterior intervals under the fitted population prior at credible levels "
                f"calibrated on {self.interval_calibration} groups simulated from the fit "
                f"(interval_calibration; each level raised until the simulated groups' "
                f"intervals covered their generating values 95 % of the time): {said}. "
                "Measured coverage (20 replicates of 60): .915-.947 on Hybrid2012+novel, "
                ".873-.917 on QLearning+novel, whose misses are a few extreme participants")

    interval_description = (
        "95 % posterior intervals under the fitted population prior (importance-sampled, averaged over the population's estimation uncertainty), in the logit space of the bounds, mapped back; every EB estimate is 'interior'. Nominal coverage when the population is Gaussian in that space, lower when it is far from it (EmpiricalBayes's interval_calibration calibrates each parameter's level on groups simulated from the fit)")
    evidence_description = (
        "`Laplace`: the Laplace approximation of each participant's log marginal likelihood under the fitted population prior (`log_evidence_`)")

    #: its prior is fitted to both phases: a learning-only refit is no out-of-sample test
    predicts_transfer = False
    #: methods.md (avoidrl.report): the comparison criteria and the references they need
    methods_criteria_text = ("-2 x the Laplace log evidence (per participant, and its mean) "
                             "and the integrated BIC (iBIC; Huys et al., 2011)")
    methods_citations = ("huys2011",)

    @staticmethod
    def methods_fitting_text(estimators, first):
        """methods.md's sentence on the estimation, from the summary's estimator settings."""
        inner = first.get("estimator", {})
        return (f"Parameters were estimated by empirical Bayes (Huys et al., 2011): "
                f"expectation-maximisation of a {first.get('prior')} Gaussian prior "
                f"({first.get('covariance')} covariance) in the logit space of the bounds, with "
                f"Laplace approximations of each participant's posterior (at most "
                f"{first.get('max_iter')} EM iterations, tolerance {first.get('tol'):g}; "
                f"MAP searches from {inner.get('n_starts')} starts)."
                + (f" Each parameter's credible level was calibrated on "
                   f"{first['interval_calibration']} groups simulated from the fit, raised "
                   "until their intervals covered the generating values 95 % of the time "
                   "(Carlin & Gelfand, 1990)." if first.get("interval_calibration") else ""))

    @classmethod
    def methods_citations_of(cls, first):
        """methods.md's references for these settings: Carlin & Gelfand with calibration."""
        return cls.methods_citations + (("carlin1990",) if first.get("interval_calibration")
                                        else ())
