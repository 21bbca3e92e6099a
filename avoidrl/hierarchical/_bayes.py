"""Full hierarchical Bayes: the estimator (settings, parallel chains, posterior summaries).

Sits beside :class:`~avoidrl.hierarchical.EmpiricalBayes` in
:mod:`avoidrl.hierarchical`; the sampler's moves are in ``_mcmc.py``, the
posterior tables (intervals, population, group differences, diagnostics) in
``_posterior.py``. ArviZ (the ``bayes`` extra) computes R-hat, ESS and PSIS-LOO.

The model is EmpiricalBayes's population model with the population's mean and
sd integrated over instead of fitted: in the logit space of the bounds,
``z[i, k] ~ Normal(mu[g(i), k], sigma[k])``, ``mu ~ Normal(mu_prior_mean,
mu_prior_sd)``, ``sigma ~ HalfNormal(sigma_prior_scale)``. It is sampled by
Metropolis-within-Gibbs on the batched likelihood kernel: no gradient is
needed (the actor models' likelihood has kinks on which NUTS fails).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._core.data import load_task_data
from .._core.likelihood import Objective
from .._core.transform import to_bounded
from .._utils.fitted import register_fit_method
from .._utils.progress import ProgressBar
from .._utils.warnings import warn
from .._utils.validation import check_n_jobs, check_rng, is_number
from .._utils.validation import effective_n_jobs as _effective_n_jobs
from ..estimators._base import RLModelBase
from ..estimators._multistart import base_entropy
from . import _posterior
from ._bayes_method import FullBayes
from ._posterior import PARETO_K_LIMIT
from ._mcmc import Hyperpriors, Moves, draw_samples, mixture_of, warm_up

if TYPE_CHECKING:
    from .._utils.typing import FrameLike, RandomStateLike

PRIORS = ("pooled", "group")
#: R-hat above which a quantity is reported as not converged
RHAT_THRESHOLD = 1.05
#: spawn key of the chains' streams (chain c: SeedSequence(base, (CHAIN_KEY, c)))
CHAIN_KEY = 0xBA7E5
#: spawn key of :meth:`HierarchicalBayes.log_predictive`'s stream
SCORE_KEY = 0x5C0E
#: spawn key of the integrated PSIS-LOO's inner importance draws
LOO_KEY = 0x100
#: most posterior draws used by :meth:`HierarchicalBayes.score`
SCORE_DRAWS = 4000


@register_fit_method
class HierarchicalBayes(FullBayes, BaseEstimator):
    """Full hierarchical Bayesian fit of an avoidrl model by Metropolis-within-Gibbs.

    A fit method like maximum likelihood and :class:`EmpiricalBayes`:
    ``avoidrl fit --method bayes``, ``Pipeline(method='bayes')``, the report
    folder and the recoveries offer it (see ``docs/bayes.rst``).

    Participants' parameters, mapped to an unbounded space through their
    bounds (``z = logit((x - low) / (high - low))``), are drawn from a
    Gaussian population ``z[i, k] ~ N(mu[k], sigma[k])`` (one ``mu`` per
    ``group_code`` with ``prior='group'``); the population's mean and sd get
    proper weakly-informative hyperpriors and are integrated over, so every
    participant's posterior carries the population's uncertainty (where
    :class:`EmpiricalBayes` plugs in a point estimate of it).

    One sweep of a chain: an adaptive Gaussian random-walk Metropolis step of
    every participant's k parameters (all participants of all the worker's
    chains in one call of the batched likelihood); every ``population_every``
    sweeps a proposal of one coordinate from the population; in sampling, an
    independence step from a mixture of the warm-up's modes (one component
    per chain), so that chains move between the modes any chain found; an
    exact Gibbs draw of ``mu`` and an independence Metropolis-Hastings step of
    ``sigma``. During warm-up, multiple-try jumps from the population move
    chains out of poor local modes, and the random walk's covariance (in
    doubling windows) and scale (toward 0.234 acceptance) adapt; everything
    is frozen after warm-up. Chains start over-dispersed (z uniform in ±2).

    Parameters
    ----------
    estimator : avoidrl estimator
        The model to fit (with its options and bounds), e.g.
        ``Hybrid2012(novel=True)``; its bounds define the transformation.
    prior : {'pooled', 'group'}, default='pooled'
        One population over all participants, or a population mean per
        ``group_code`` (with a shared sd), which gives the posterior of every
        group difference (``group_differences_``).
    n_chains : int, default=4
        Independent chains (R-hat needs at least 2).
    n_warmup : int, default=2500
        Warm-up sweeps per chain (discarded).
    n_samples : int, default=500
        Kept draws per chain.
    thin : int, default=8
        Sweeps between kept draws (``n_samples * thin`` sampling sweeps).
    mu_prior_mean, mu_prior_sd : float or dict, default=0.0, 2.0
        ``mu[k] ~ Normal(mu_prior_mean, mu_prior_sd)`` in z: 0 is mid-range,
        and sd 2 puts 95 % of the prior on population means between 2 % and
        98 % of the range. A dict gives values by parameter (others default).
    sigma_prior_scale : float or dict, default=1.5
        ``sigma[k] ~ HalfNormal(sigma_prior_scale)`` in z: allows populations
        from nearly identical participants to spread over the whole range.
    population_every : int, default=5
        Sweeps between single-coordinate proposals from the population (0: none).
    random_state : int, RandomState instance or None, default=None
        Seeds the chains; chain ``c`` draws from its own stream, so the fit is
        the same whatever ``n_jobs``.
    n_jobs : int, default=None
        Parallel workers over chains (joblib); each runs its chains in lock-step.
    verbose : int, default=0
        When > 0, show a progress bar over the sweeps.

    Attributes
    ----------
    params_ : DataFrame
        Posterior means in natural units, indexed by participant_id.
    params_median_ : DataFrame
        Posterior medians.
    params_ci_ : DataFrame
        Indexed by (participant_id, parameter): ``estimate`` (the posterior
        mean), ``lower``, ``upper`` (equal-tailed 95 % credible interval) and
        ``status`` ('interior'); :meth:`credible_intervals` gives other levels.
    draws_ : ndarray of shape (n_chains, n_samples, n_participants, k)
        Posterior draws in natural units (``params_`` order).
    mu_draws_ : ndarray (n_chains, n_samples, n_groups, k)
        Draws of the population mean(s), in z.
    sigma_draws_ : ndarray (n_chains, n_samples, k)
        Draws of the population sd, in z.
    log_likelihood_ : ndarray (n_chains, n_samples, n_participants)
        Each participant's log-likelihood at each draw.
    nll_ : Series
        The negative log-likelihood at the posterior means (``params_``), per
        participant (the report's ``fit`` column).
    group_mean_, group_sd_ : Series (dict of Series by group for ``group_mean_``
        with ``prior='group'``)
        Posterior means of the population mean(s) and sd, in z.
    group_cov_ : DataFrame
        ``diag(E[sigma^2])``, in z (as EmpiricalBayes's ``group_cov_``).
    group_params_ : DataFrame
        Per parameter (per group and parameter with ``prior='group'``): the
        population's median and central 95 % range in natural units at the
        posterior means of mu and sigma (as EmpiricalBayes's), ``mean_z`` and
        ``sd_z`` with their 95 % credible bounds.
    group_differences_ : DataFrame
        Only with ``prior='group'``: per parameter and pair of groups, the
        posterior of ``mu[a] - mu[b]`` in z (``mean``, ``lower``, ``upper``: 95 %
        credible interval), ``p_direction`` (the posterior probability of its
        more probable sign) and the difference of the population medians in
        natural units (``difference``, ``difference_lower``, ``difference_upper``).
    rhat_, ess_bulk_, ess_tail_ : DataFrame
        Per participant and parameter, computed by ArviZ (rank-normalised
        split R-hat; bulk and tail effective sample sizes).
    population_diagnostics_ : DataFrame
        R-hat, bulk and tail ESS of every population mean and sd.
    acceptance_ : DataFrame
        Per participant (rows) and chain (columns): the random walk's
        acceptance rate during sampling; ``independence_acceptance_`` the same
        for the mixture's independence step.
    elpd_loo_ : Series
        Per participant, the integrated PSIS-LOO estimate of the log
        predictive density of its data left out: ArviZ ``loo`` on the
        participant's log-likelihood with its parameters integrated over the
        population at each posterior draw (importance-sampled, see
        ``_posterior.integrated_log_likelihood``; Vehtari et al. 2016), so
        that leaving it out moves only the population. ``pareto_k_``: its
        Pareto k diagnostics (above 0.7 the estimate is unreliable).
    elpd_loo_conditional_, pareto_k_conditional_ : Series
        The same from the conditional log-likelihood (``log_likelihood_``, at
        the participant's own draws), as ``az.loo(fit.to_inference_data())``
        gives it: with ~500 trials per participant its Pareto k is about 1
        for most participants (leaving a participant out moves its own
        parameters from its posterior to the population), so it is not used
        for comparison.
    converged_ : bool
        Whether every R-hat is at most 1.05.
    groups_, n_trials_ : Series
    model_name_ : str

    Warns
    -----
    ConvergenceWarning
        When any participant's parameter or population quantity has R-hat
        above 1.05, naming the parameters (and how many participants).
    UserWarning
        When any participant's integrated PSIS-LOO has Pareto k above 0.7.

    Notes
    -----
    Measured (``benchmarks/bench_bayes.py``): on Hybrid2012+novel, N = 60, the
    defaults (4 chains, 2500 warm-up sweeps, 500 draws thinned by 8)
    recovered the learning rates better than EmpiricalBayes; see the
    benchmark for the numbers and the time.
    """

    def __init__(self, estimator: RLModelBase, *, prior: str = "pooled", n_chains: int = 4,
                 n_warmup: int = 2500, n_samples: int = 500, thin: int = 8,
                 mu_prior_mean: float | dict = 0.0, mu_prior_sd: float | dict = 2.0,
                 sigma_prior_scale: float | dict = 1.5, population_every: int = 5,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0) -> None:
        self.estimator = estimator
        self.prior = prior
        self.n_chains = n_chains
        self.n_warmup = n_warmup
        self.n_samples = n_samples
        self.thin = thin
        self.mu_prior_mean = mu_prior_mean
        self.mu_prior_sd = mu_prior_sd
        self.sigma_prior_scale = sigma_prior_scale
        self.population_every = population_every
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    # the fitted-model protocol: FullBayes (_bayes_method.py)

    # ------------------------------------------------------------ settings
    def _settings(self):
        model = self._check_estimator()
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {list(PRIORS)}, got {self.prior!r}")
        for name, least in (("n_chains", 1), ("n_warmup", 0), ("n_samples", 1), ("thin", 1),
                            ("population_every", 0)):
            value = getattr(self, name)
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral) \
                    or value < least:
                raise ValueError(f"{name} must be an integer >= {least}, got {value!r}")
        check_n_jobs(self.n_jobs)
        # the model's settings, plus the sampler's own entries
        settings = {"variant": model.variant, "bounds": model.bounds, "init": model.init,
                    "options": model.options}
        names = list(settings["variant"].parameter_names)
        settings["low"] = np.array([settings["bounds"][n][0] for n in names])
        settings["high"] = np.array([settings["bounds"][n][1] for n in names])
        settings["hyper"] = Hyperpriors(
            self._per_parameter("mu_prior_mean", names, positive=False),
            self._per_parameter("mu_prior_sd", names),
            self._per_parameter("sigma_prior_scale", names))
        return settings

    def _per_parameter(self, name, names, positive=True):
        """A hyperprior setting as an array over parameters (a number, or a dict by name)."""
        value = getattr(self, name)
        default = {"mu_prior_mean": 0.0, "mu_prior_sd": 2.0, "sigma_prior_scale": 1.5}[name]
        if hasattr(value, "items"):
            unknown = sorted(set(value) - set(names), key=str)
            if unknown:
                raise ValueError(f"{name}: unknown parameter(s) {unknown}; the parameters are "
                                 f"{names}")
            values = [value.get(n, default) for n in names]
        else:
            values = [value] * len(names)
        for v in values:
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real) \
                    or not np.isfinite(v) or (positive and v <= 0):
                kind = "a positive number" if positive else "a finite number"
                raise ValueError(f"{name} must be {kind} (or a dict of them by parameter), "
                                 f"got {value!r}")
        return np.asarray(values, dtype=float)

    # ----------------------------------------------------------------- fit
    def fit(self, X_learning: FrameLike, X_transfer: FrameLike | None = None
            ) -> HierarchicalBayes:
        """Sample the joint posterior of every participant's parameters and the population.

        Parameters
        ----------
        X_learning : DataFrame or path
            Learning-phase trials, or both phases in one long frame (as the
            model estimators' ``fit`` takes them).
        X_transfer : DataFrame or path, optional
            Transfer-phase trials.

        Returns
        -------
        self : HierarchicalBayes
            With the draws, their summaries and diagnostics (see Attributes).

        Warns
        -----
        ConvergenceWarning
            When any R-hat exceeds 1.05.
        UserWarning
            When any participant's integrated PSIS-LOO has Pareto k above 0.7.
        """
        az = _posterior.import_arviz()
        settings = self._settings()
        data = load_task_data(X_learning, X_transfer)
        base = base_entropy(self.random_state)
        if self.prior == "pooled":
            group_names = [None]
            group_index = np.zeros(data.n_participants, dtype=np.intp)
        else:
            group_names = list(pd.unique(pd.Series(data.groups, dtype=object)))
            group_index = np.array([group_names.index(g) for g in data.groups], dtype=np.intp)
        seeds = [np.random.SeedSequence(base, spawn_key=(CHAIN_KEY, c))
                 for c in range(self.n_chains)]
        out = self._run(data, settings, group_index, len(group_names), seeds)
        variant = settings["variant"]
        names = list(variant.parameter_names)
        ids = pd.Index(data.participants, name="participant_id")
        self.model_name_ = variant.name
        self.groups_ = pd.Series(data.groups, index=ids, name="group_code")
        self.n_trials_ = pd.Series(data.n_trials, index=ids, name="n_trials")
        self.draws_ = to_bounded(out["z"], settings["low"], settings["high"])
        self.mu_draws_, self.sigma_draws_ = out["mu"], out["sigma"]
        self.log_likelihood_ = out["log_likelihood"]
        self.group_names_ = group_names
        chains = pd.Index(range(self.n_chains), name="chain")
        self.acceptance_ = pd.DataFrame(out["acceptance"].T, index=ids, columns=chains)
        self.independence_acceptance_ = pd.DataFrame(out["independence_acceptance"].T,
                                                     index=ids, columns=chains)
        _posterior.summarise(self, ids, names, settings["low"], settings["high"])
        self.nll_ = _posterior.nll_at(self.params_, variant, data)
        loo_rng = np.random.default_rng(np.random.SeedSequence(base, spawn_key=(LOO_KEY,)))
        with threadpool_limits(1):  # small matrix products: threads only contend
            integrated = _posterior.integrated_log_likelihood(
                self, variant, data, settings["low"], settings["high"], group_index, loo_rng)
        _posterior.diagnose(self, az, ids, names, integrated)
        self._check_convergence(names)
        self._check_loo()
        return self

    def _run(self, data, settings, group_index, n_groups, seeds):
        """Warm up, build the mixture proposal, sample; chains over joblib workers."""
        moves = Moves(population_every=self.population_every)
        n_jobs = min(_effective_n_jobs(self.n_jobs), len(seeds))
        chunks = [list(c) for c in np.array_split(np.arange(len(seeds)), n_jobs) if c.size]
        args = (settings["variant"], data)
        head = (settings["low"], settings["high"], group_index, n_groups, settings["hyper"])
        planned = self.n_samples * self.thin
        total = len(seeds) * (self.n_warmup + planned)
        with threadpool_limits(1), ProgressBar(total, f"sampling {settings['variant'].name}",
                                               "sweep", self.verbose) as bar:
            def step(done, size):
                bar.update(done * size)

            if len(chunks) == 1:
                blocks = [warm_up(*args, *head, seeds, self.n_warmup, moves, planned,
                                  lambda d: step(d, len(seeds)))]
                mixture = mixture_of(blocks)
                parts = [draw_samples(*args, blocks[0], mixture, self.n_samples, self.thin,
                                      moves, lambda d: step(d, len(seeds)))]
            else:
                with Parallel(n_jobs=len(chunks)) as parallel:
                    blocks = parallel(delayed(warm_up)(*args, *head, [seeds[i] for i in c],
                                                       self.n_warmup, moves, planned)
                                      for c in chunks)
                    bar.update(len(seeds) * self.n_warmup)
                    mixture = mixture_of(blocks)
                    parts = parallel(delayed(draw_samples)(*args, b, mixture, self.n_samples,
                                                           self.thin, moves) for b in blocks)
        return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}

    def _check_loo(self):
        high = self.pareto_k_[self.pareto_k_ > PARETO_K_LIMIT]
        if len(high):
            shown = ", ".join(str(p) for p in high.index[:5]) + (", ..." if len(high) > 5 else "")
            warn(f"{self.model_name_}: the PSIS-LOO estimate (elpd_loo_) is unreliable for "
                 f"{len(high)} of {len(self.pareto_k_)} participants (Pareto k > "
                 f"{PARETO_K_LIMIT}: {shown}); model comparisons by LOO that rest on them are "
                 "uncertain (see pareto_k_)", UserWarning)

    def _check_convergence(self, names):
        bad = {}
        for name in names:
            count = int((self.rhat_[name] > RHAT_THRESHOLD).sum())
            if count:
                bad[name] = f"{name} ({count} participant{'s' if count > 1 else ''})"
        population = self.population_diagnostics_
        for (quantity, group, name), row in population.iterrows():
            if row["r_hat"] > RHAT_THRESHOLD:
                label = f"{quantity}[{name}]" if self.prior == "pooled" or quantity == "sigma" \
                    else f"{quantity}[{group}, {name}]"
                bad[label] = label
        values = np.concatenate([self.rhat_.to_numpy().ravel(),
                                 population["r_hat"].to_numpy()])
        self.converged_ = bool(np.all(values[np.isfinite(values)] <= RHAT_THRESHOLD))
        if bad:
            warn(f"{self.model_name_}: R-hat > {RHAT_THRESHOLD} for {', '.join(bad.values())}; "
                 "the chains disagree there: run longer (n_warmup, n_samples, thin) and see "
                 "rhat_ and population_diagnostics_", ConvergenceWarning)

    # --------------------------------------------------------------- outputs
    def credible_intervals(self, level: float = 0.95) -> pd.DataFrame:
        """Equal-tailed credible intervals at ``level``, laid out as ``params_ci_``."""
        check_is_fitted(self, "draws_")
        if not is_number(level) or not 0 < level < 1:
            raise ValueError(f"level must be a number in (0, 1), got {level!r}")
        return _posterior.interval_table(self.draws_, self.params_, level)

    def to_inference_data(self):
        """The posterior as an ``arviz.InferenceData``.

        ``posterior``: ``theta`` (participant, parameter; natural units),
        ``mu`` (parameter, or group and parameter; z) and ``sigma`` (parameter;
        z); ``log_likelihood``: ``y`` (participant), each participant's total
        log-likelihood, so ``az.loo`` leaves one participant out. Use it for
        ``az.summary``, ``az.plot_trace``, ``az.plot_rank``, ``az.compare``.
        """
        check_is_fitted(self, "draws_")
        return _posterior.inference_data(self, _posterior.import_arviz())

    def log_predictive(self, X_learning: FrameLike,
                       X_transfer: FrameLike | None = None) -> pd.Series:
        """Each participant's log predictive density under the posterior population.

        ``log (1/S) sum_s p(y | z_s)`` with one ``z_s ~ N(mu_s, sigma_s)`` per
        posterior draw of the population (at most 4000; each participant's
        own group's mean with ``prior='group'``): how well the population
        model predicts a new participant's data (a Monte-Carlo estimate,
        biased low in proportion to its variance). The draws are seeded by
        ``random_state``, so repeated calls agree.

        Returns
        -------
        Series indexed by participant_id
        """
        check_is_fitted(self, "draws_")
        settings = self._settings()
        if settings["variant"].name != self.model_name_:
            raise ValueError(f"this estimator was fitted as {self.model_name_}, but its "
                             f"estimator now describes {settings['variant'].name}; call fit "
                             "again")
        data = load_task_data(X_learning, X_transfer)
        rng = np.random.default_rng(np.random.SeedSequence(
            base_entropy(self.random_state), spawn_key=(SCORE_KEY,)))
        mu = self.mu_draws_.reshape(-1, *self.mu_draws_.shape[2:])
        sigma = self.sigma_draws_.reshape(-1, self.sigma_draws_.shape[-1])
        pick = rng.permutation(len(mu))[:SCORE_DRAWS]
        objective = Objective(settings["variant"], data)
        out = np.empty(data.n_participants)
        for i, group in enumerate(data.groups):
            g = self._group_position(group)
            z = mu[pick, g] + sigma[pick] * rng.standard_normal((len(pick), sigma.shape[1]))
            nll = objective(to_bounded(z, settings["low"], settings["high"]),
                            np.full(len(pick), i))
            out[i] = logsumexp(-nll) - np.log(len(pick))
        return pd.Series(out, index=pd.Index(data.participants, name="participant_id"),
                         name="log_predictive")

    def _group_position(self, group):
        if self.prior == "pooled":
            return 0
        if group not in self.group_names_:
            raise ValueError(f"group_code {group!r} has no population (prior='group' was "
                             f"fitted to groups {self.group_names_})")
        return self.group_names_.index(group)

    def score(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> float:
        """Mean log predictive density per participant under the posterior population.

        The mean of :meth:`log_predictive`: higher is better. It scores the
        population model on the participants given (fitted or new), not the
        fitted participants' own posteriors, so ``GroupKFold`` over
        participants is a meaningful cross-validation of the population
        model (as with EmpiricalBayes's ``score``).
        """
        return float(self.log_predictive(X_learning, X_transfer).mean())

    def sample(self, X_learning: FrameLike | None = None, X_transfer: FrameLike | None = None,
               random_state: RandomStateLike = None, *, n_participants: int | None = None,
               **design: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Simulate from the posterior predictive distribution.

        With template data, every template participant is simulated at one
        draw of its own posterior, chosen at random (one posterior predictive
        replicate; call again for more). Without templates,
        ``n_participants`` new participants are simulated on the default
        design, each at ``z ~ N(mu, sigma)`` for a random posterior draw of the
        population (pooled prior only); ``design`` goes to the estimator's
        ``sample``.

        Returns
        -------
        learning, transfer : DataFrame
        """
        check_is_fitted(self, "draws_")
        rng = check_rng(random_state)
        draws = self.draws_.reshape(-1, *self.draws_.shape[2:])
        if X_learning is not None or X_transfer is not None:
            pick = rng.randint(len(draws), size=draws.shape[1])
            params = pd.DataFrame(draws[pick, np.arange(draws.shape[1])],
                                  index=self.params_.index, columns=self.params_.columns)
            return self.estimator.sample(X_learning, X_transfer, params=params,
                                         random_state=rng, **design)
        if self.prior != "pooled":
            raise ValueError("drawing new participants needs prior='pooled' (with "
                             "prior='group', sample each group's participants from templates)")
        if isinstance(n_participants, (bool, np.bool_)) \
                or not isinstance(n_participants, numbers.Integral) or n_participants < 1:
            raise ValueError(f"n_participants must be a positive integer, got {n_participants!r}")
        mu = self.mu_draws_.reshape(-1, self.mu_draws_.shape[-1])
        sigma = self.sigma_draws_.reshape(-1, self.sigma_draws_.shape[-1])
        pick = rng.randint(len(mu), size=int(n_participants))
        z = mu[pick] + sigma[pick] * rng.standard_normal((len(pick), mu.shape[1]))
        settings = self._settings()
        params = pd.DataFrame(to_bounded(z, settings["low"], settings["high"]),
                              columns=self.params_.columns,
                              index=pd.Index([f"sim_{i}" for i in range(n_participants)],
                                             name="participant_id"))
        return self.estimator.sample(params=params, random_state=rng, **design)
