"""``methods.md`` of a FIT: a methods paragraph written from ``summary_FIT.json``.

Everything it states (models, parameters and bounds, starts, method,
comparison criteria, seed, software) is read from the summary dict the same
run writes, so the paragraph and the summary cannot disagree; the references
are those of the models' declarations and of the methods used.
"""

from __future__ import annotations

import platform

from .._utils.fitted import fit_methods

#: The references methods.md can cite, by key.
CITATIONS = {
    "palminteri2015": "Palminteri, S., Khamassi, M., Joffily, M., & Coricelli, G. (2015). "
                      "Contextual modulation of value signals in reward and punishment "
                      "learning. *Nature Communications*, 6, 8096.",
    "gold2012": "Gold, J. M., Waltz, J. A., Matveeva, T. M., Kasanova, Z., Strauss, G. P., "
                "Herbener, E. S., Collins, A. G. E., & Frank, M. J. (2012). Negative symptoms "
                "and the failure to represent the expected reward value of actions. *Archives "
                "of General Psychiatry*, 69(2), 129-138.",
    "geana2021": "Geana, A., Barch, D. M., Gold, J. M., Carter, C. S., MacDonald, A. W., "
                 "Ragland, J. D., Silverstein, S. M., & Frank, M. J. (2021). Using "
                 "computational modeling to capture schizophrenia-specific reinforcement "
                 "learning differences and their implications on patient classification. "
                 "*Biological Psychiatry: Cognitive Neuroscience and Neuroimaging*, 7(10), "
                 "1035-1046.",
    "huys2011": "Huys, Q. J. M., Cools, R., Gölzer, M., Friedel, E., Heinz, A., Dolan, R. J., "
                "& Dayan, P. (2011). Disentangling the roles of approach, activation and "
                "valence in instrumental and Pavlovian responding. *PLoS Computational "
                "Biology*, 7(4), e1002028.",
    "carlin1990": "Carlin, B. P., & Gelfand, A. E. (1990). Approaches for empirical Bayes "
                  "confidence intervals. *Journal of the American Statistical Association*, "
                  "85(409), 105-114.",
    "stephan2009": "Stephan, K. E., Penny, W. D., Daunizeau, J., Moran, R. J., & Friston, "
                   "K. J. (2009). Bayesian model selection for group studies. *NeuroImage*, "
                   "46(4), 1004-1017.",
    "rigoux2014": "Rigoux, L., Stephan, K. E., Friston, K. J., & Daunizeau, J. (2014). "
                  "Bayesian model selection for group studies - revisited. *NeuroImage*, 84, "
                  "971-985.",
    "davison1997": "Davison, A. C., & Hinkley, D. V. (1997). *Bootstrap methods and their "
                   "application*. Cambridge University Press.",
    "byrd1995": "Byrd, R. H., Lu, P., Nocedal, J., & Zhu, C. (1995). A limited memory "
                "algorithm for bound constrained optimization. *SIAM Journal on Scientific "
                "Computing*, 16(5), 1190-1208.",
    "holm1979": "Holm, S. (1979). A simple sequentially rejective multiple test procedure. "
                "*Scandinavian Journal of Statistics*, 6(2), 65-70.",
    "vehtari2017": "Vehtari, A., Gelman, A., & Gabry, J. (2017). Practical Bayesian model "
                   "evaluation using leave-one-out cross-validation and WAIC. *Statistics and "
                   "Computing*, 27(5), 1413-1432.",
    "vehtari2016": "Vehtari, A., Mononen, T., Tolvanen, V., Sivula, T., & Winther, O. (2016). "
                   "Bayesian leave-one-out cross-validation approximations for Gaussian latent "
                   "variable models. *Journal of Machine Learning Research*, 17(103), 1-38.",
    "vehtari2021": "Vehtari, A., Gelman, A., Simpson, D., Carpenter, B., & Bürkner, P.-C. "
                   "(2021). Rank-normalization, folding, and localization: An improved R-hat "
                   "for assessing convergence of MCMC. *Bayesian Analysis*, 16(2), 667-718.",
    "avoidrl": "avoidrl {version}: scikit-learn-style reinforcement-learning models of "
               "avoidance learning (reimplementing the pipeline petzschnerlab/"
               "avoid_learning_rl_models).",
}
#: The references of each built-in model (by base name); the task's design is
#: Palminteri et al.'s, so every model cites it.
MODEL_CITATIONS = {
    "QLearning": ("palminteri2015",), "Advantage": ("palminteri2015",),
    "Relative": ("palminteri2015",), "ActorCritic": ("gold2012",),
    "Hybrid2012": ("gold2012",), "StandardHybrid2012": ("gold2012",),
    "Hybrid2021": ("geana2021",), "StandardHybrid2021": ("geana2021",),
}
_AUTHORS = {"palminteri2015": "Palminteri et al., 2015", "gold2012": "Gold et al., 2012",
            "geana2021": "Geana et al., 2021", "huys2011": "Huys et al., 2011",
            "carlin1990": "Carlin & Gelfand, 1990",
            "stephan2009": "Stephan et al., 2009", "rigoux2014": "Rigoux et al., 2014",
            "holm1979": "Holm, 1979", "vehtari2016": "Vehtari et al., 2016",
            "vehtari2017": "Vehtari et al., 2017",
            "vehtari2021": "Vehtari et al., 2021"}


def _base(name):
    return str(name).split("+")[0]


def _number(value):
    return f"{value:g}" if isinstance(value, (int, float)) else str(value)


def _model_sentence(name, settings, k, cited):
    """One model: its free parameters with their bounds, and its references."""
    bounds = settings.get("estimator", settings).get("bounds") or {}
    parts = ", ".join(f"{p} [{_number(lo)}, {_number(hi)}]" for p, (lo, hi) in bounds.items())
    keys = MODEL_CITATIONS.get(_base(name), ())
    cited.update(dict.fromkeys(keys))
    source = "; ".join(_AUTHORS[key] for key in keys) or "a user-declared model"
    return f"{name} ({source}; k = {k}: {parts})"


def _fitting_sentences(summary, estimators):
    """How the parameters were estimated, from the estimators' recorded settings."""
    first = next(iter(estimators.values()))
    seed = summary["settings"].get("random_state")
    seed = f"Seed: {seed}." if isinstance(seed, int) else \
        "The run was not seeded, so it cannot be repeated exactly."
    method = fit_methods()[summary["method"]]
    return f"{method.methods_fitting_text(estimators, first)} {seed}"


def methods_text(summary):
    """The Markdown of methods.md from the FIT's ``summary`` (summary_FIT.json's dict)."""
    estimators = summary["settings"]["estimators"]
    cited = {}
    groups = ", ".join(f"{g} (n = {n})" for g, n in summary["groups"].items())
    models = "; ".join(_model_sentence(name, estimators[name], summary["per_model"][name]["k"],
                                       cited) for name in summary["models"])
    method = fit_methods()[summary["method"]]
    comparison = f"Models were compared by {method.methods_criteria_text}"
    if summary.get("bms") is not None:
        comparison += (" and by random-effects Bayesian model selection (Stephan et al., 2009; "
                       f"Rigoux et al., 2014) on each participant's {summary['evidence']} log "
                       "evidence, reporting protected exceedance probabilities and the Bayesian "
                       "omnibus risk")
        cited.update(dict.fromkeys(("stephan2009", "rigoux2014")))
    comparison += "."
    cited["holm1979"] = None
    # a method may cite more for some settings (calibrated intervals)
    citations_of = getattr(method, "methods_citations_of", None)
    first = next(iter(estimators.values()))
    cited.update(dict.fromkeys(citations_of(first) if citations_of is not None
                               else method.methods_citations))
    statistics = ("Groups were compared on each parameter (log-transformed, except novel_value, "
                  "mixing_factor, valence_factor and weighting_factor) by a one-way ANOVA, "
                  "t-tests against the reference group "
                  f"({summary['settings'].get('reference_group')}; Student's or Welch's by "
                  "Levene's test) and Tukey HSD tests, with Holm's correction over each model's "
                  "tests (Holm, 1979). Posterior predictive checks simulated each participant "
                  f"{summary['settings'].get('n_simulations')} time(s) per model at the fitted "
                  "parameters.")
    software = (f"Analyses used avoidrl {summary['avoidrl_version']} (Python "
                f"{platform.python_version()}).")
    paragraph = " ".join([
        f"We fitted {len(summary['models'])} reinforcement-learning model(s) to the choices of "
        f"{summary['n_participants']} participants in {len(summary['groups'])} group(s): "
        f"{groups}. The models, with their free parameters and bounds: {models}.",
        _fitting_sentences(summary, estimators), comparison, statistics, software])
    references = [CITATIONS[key] for key in cited] + \
        [CITATIONS["avoidrl"].format(version=summary["avoidrl_version"])]
    return ("# Methods\n\nWritten by avoidrl from summary_FIT.json (the settings every "
            "number here comes from); edit it into your paper's methods.\n\n"
            + paragraph + "\n\n## References\n\n"
            + "\n".join(f"- {ref}" for ref in references) + "\n")
