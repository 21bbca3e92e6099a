"""Empirical-Bayes (hierarchical) fitting by expectation-maximisation.

The population model: each participant's parameters, mapped to the unbounded
space ``z`` (:mod:`avoidrl._core.transform`), are drawn from a Gaussian prior
``N(mu, Sigma)``. EM alternates

* an E-step: every participant's maximum a posteriori (MAP) estimate under the
  current prior, found by the lock-step batched descent (exact gradients,
  avoidrl's batched BFGS-B; the estimator's ``gradient`` setting), and a Laplace
  approximation of its posterior: ``A = H + Sigma^-1`` with ``H`` the
  central-difference Hessian of the NLL in z at the MAP (symmetrised, negative
  eigenvalues clamped at 0), posterior covariance ``A^-1``;
* an M-step: ``mu`` the mean of the posterior means, ``Sigma`` the mean of
  ``E[(z - mu)(z - mu)^T]`` (its diagonal only with ``covariance='diagonal'``),
  with a weak Gamma hyperprior on the population precisions (MAP-EM)

(Huys et al. 2011, PLoS Comput Biol 7:e1002028). The posterior moments of the
M-step are importance-sampled by default (``m_step='importance'``): on the
hybrids' kinked, skewed posteriors the Laplace variances are 2-4 x too small in
the actor and critic learning rates, and EM built on them shrank a population's
scale a little every iteration until every estimate sat on the population mean
(Hybrid2012+novel, N = 60: all critic_lr estimates within 0.62-0.64). Between
rounds of draws EM reweights the same draws to each new prior; EM stops when
the prior's quantiles stop moving (see ``tol``) and a fresh round of draws does
not move them either. A last E-step under the final prior gives the reported
MAPs, intervals and evidences.

This module holds the estimator (settings, outputs, scoring, sampling); the EM
loop is in :mod:`avoidrl.hierarchical._em`, the numbers of each step in
:mod:`avoidrl.hierarchical._laplace`.
"""

from __future__ import annotations

from numbers import Real
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._core.likelihood import Objective
from .._core.transform import interval_table, to_bounded, to_unbounded
from .._utils.fitted import register_fit_method
from .._utils.validation import check_n_jobs, check_number, check_rng
from .._utils.warnings import warn
from ..estimators._base import RLModelBase
from ..estimators._multistart import base_entropy, participant_seeds
from ._laplace import (  # noqa: F401  (integrated_bic, population_table: importable here as before)
    COLLAPSE_FRACTION, IMPORTANCE_DF, _collapsed, _importance_evidence, _importance_moments, _map_and_laplace, _Population,
    _posterior_mean_x, _prior_change, _sampled_intervals, integrated_bic, population_table,
)
from ._level_calibration import calibrate_levels
from ._quantiles import QuantileIntervals, gaussian_quantiles, quantile_table
from ._eb_method import EmpiricalBayesMethod
from ._em import (  # noqa: F401  (the EM settings: importable here as before)
    FINAL_ROUNDS, FINAL_SAMPLE_FACTOR, FIRST_MAXITER, FIRST_STARTS_PER_PARAMETER, INITIAL_VARIANCE,
    INTERMEDIATE_MAXITER, MIN_VARIANCE, SCREEN_PER_PARAMETER, SCREEN_STARTS, ExpectationMaximisation,
)

if TYPE_CHECKING:
    from .._utils.typing import FrameLike, RandomStateLike

COVARIANCES = ("diagonal", "full")
PRIORS = ("pooled", "group")
M_STEPS = ("importance", "laplace")
POINT_ESTIMATES = ("posterior_mean", "map")
#: the central credible level of params_ci_ (interval_calibration raises it per parameter
#: until simulated groups' intervals cover this often)
NOMINAL_LEVEL = 0.95


@register_fit_method
class EmpiricalBayes(EmpiricalBayesMethod, ExpectationMaximisation, QuantileIntervals,
                     BaseEstimator):
    """Hierarchical fitting of an avoidrl model by empirical-Bayes EM.

    Participants' parameters, mapped to an unbounded space through their
    bounds (``z = logit((x - low) / (high - low))``), are modelled as draws
    from a Gaussian population prior whose mean and covariance are learnt by
    expectation-maximisation with Laplace approximations (Huys et al. 2011).
    Poorly informed parameters are pulled toward the population instead of
    piling up on a bound, every estimate gets an interval, and each
    participant gets a model evidence for group-level model comparison.

    Parameters
    ----------
    estimator : avoidrl estimator
        The model (with its options and bounds) to fit, e.g.
        ``Hybrid2012(novel=True)``. Its bounds define the transformation; its
        ``optimizer_options`` are used by every MAP search.
    covariance : {'diagonal', 'full'}, default='diagonal'
        Shape of the prior covariance. 'diagonal' recovered parameters better
        at N = 60-150 in a prototype on this kernel (a full covariance learnt
        spurious correlations); 'full' estimates correlations between
        parameters.
    prior : {'pooled', 'group'}, default='pooled'
        One prior over all participants (conservative for group comparisons:
        shrinkage pulls every group toward the same mean, so differences that
        survive are not made by the prior), or one prior per ``group_code``
        (each group shrinks toward its own mean: better estimates when groups
        truly differ, but group differences are then partly the prior's).
    max_iter : int, default=50
        Most EM iterations.
    tol : float, default=0.01
        EM stops when no parameter's population quantiles (2.5, 50 and
        97.5 %) move by more than ``tol / 4`` of the parameter's range between
        iterations: at mid-range a move of about ``tol`` in z, while a
        population settling onto a bound counts as settled.
    n_ibic_samples : int, default=2000
        Monte-Carlo samples per participant of the integrated BIC's integral
        (importance-sampled around the participant's Laplace posterior; see
        ``ibic_``).
    m_step : {'importance', 'laplace'}, default='importance'
        Where the M-step's posterior means and covariances come from.
        'importance': self-normalised importance sampling from a heavy-tailed
        proposal around each participant's posterior (a multivariate t on the
        previous round's moments, the same t at up to 3 other local optima
        that the E-step's descents found within 10 nats of the best, and the
        prior, in fixed shares): the actor models' posteriors have several
        basins, which one t misses; rounds of draws
        accumulate, and EM reweights them to every new prior without
        evaluating the likelihood again. 'laplace': the MAP and the inverse of
        the finite-difference Hessian plus prior precision (Huys et al. 2011);
        cheaper, and fine for smooth models such as QLearning, but its variances
        are too small on the actor models and it can collapse a population's
        scale (see ``collapsed_``).
    n_importance : int, default=200
        Draws per participant and round (m_step='importance'); the final
        E-step draws 4 x as many for the intervals. On models whose posteriors
        have several basins (the actor models) more draws give a less
        shrunken population and better-calibrated intervals, at a cost;
        measured on Hybrid2012+novel, 10 replicates of 60 (``benchmarks/
        bench_hierarchical.py --report coverage``'s populations), 95 %
        coverage by parameter .84-.95 (200), .87-.95 (1000), .88-.95 (3000),
        critic_lr the lowest; r unchanged (learning rates .740, .744, .745);
        wall time with n_jobs=2 2.0-7.7, 5.1-10.0 and 13-21 s on a CPU without
        AVX-512. Most of the gain comes from the final E-step's draws (with
        only those raised to 4,000 per participant, .85-.95). No change on
        QLearning+novel.
    point_estimate : {'posterior_mean', 'map'}, default='posterior_mean'
        What ``params_`` (and ``params_ci_``'s ``estimate``) report.
        'posterior_mean': each parameter's posterior mean in natural units
        under the fitted prior, from the importance draws (the estimate with
        the smallest expected squared error; with m_step='laplace', which has
        no draws, the MAP). 'map': the posterior mode in z, mapped back.
        Measured on Hybrid2012+novel, N = 60, populations 1000-1015 (true
        parameters uniform within the bounds): Pearson r with the truth of
        critic_lr .512 (MAP) against .582 (posterior mean), mean r of the four
        learning rates .684 against .715; on QLearning+novel equal or better
        for every parameter (``benchmarks/bench_hierarchical.py --report
        collapse``). With the proposal's local optima (above) the posterior
        means reach .610 (critic_lr) and .730 (four learning rates) on the
        same populations. ``map_params_`` always holds the MAPs.
    scale_prior : (shape, rate) or None, default=(1.0, 0.1)
        Gamma(shape, rate) hyperprior on each population precision
        ``1 / sigma_k^2`` (as CBM's Normal-Gamma, on the scale only): the
        M-step's variance becomes ``(S_k + 2 rate) / (N + 2 shape - 2)`` with
        ``S_k`` the summed second moment (with ``covariance='full'``,
        ``(S + 2 rate I) / (N + 2 shape - 2)``). The default (an exponential
        prior on the precision) does not change the divisor and adds 0.2 to
        ``S_k``: it keeps the prior proper (sd at least ``sqrt(0.2 / N)``,
        0.06 in z at N = 60) and moves an sd of 0.3 by 2 % at N = 60. None
        is plain maximum-likelihood EM.
    interval_calibration : int, default=0
        Number of groups simulated from the fit to calibrate the intervals'
        credible level per parameter (0: none, every interval is a 95 %
        posterior interval). Each simulated group keeps every participant's
        trials; its parameters are one draw from the participant's posterior
        and its choices are drawn anew; EM is refitted to it, and each
        parameter's level is raised (up to 0.999) until the simulated
        intervals cover their generating values 95 % of the time (the
        bootstrap calibration of empirical-Bayes intervals, Laird & Louis
        1987; Carlin & Gelfand 1990). Costs one EM fit per simulated group.
        Measured with ``benchmarks/bench_hierarchical.py --report coverage
        --calibration 10`` (20 replicates of 60, 95 %): Hybrid2012+novel
        .852-.929 -> .915-.947 (critic_lr .852 -> .915), wall time 2-8 -> 21-37
        s with n_jobs=2 on a CPU without AVX-512; QLearning+novel .861-.913 ->
        .873-.917 (its misses are a few extreme participants whom the
        simulated groups, drawn through the Gaussian prior, do not
        reproduce). Needs ``m_step='importance'``.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the E-step's prior draws (per participant and iteration, so a
        participant's MAP search does not depend on who else is fitted given
        the prior) and the iBIC samples.
    n_jobs : int, default=None
        Parallel workers over participants in each E-step (joblib).
    verbose : int, default=0
        When > 0, show a progress bar of the EM iterations (in a terminal or
        a notebook), with the current change of the prior and the summed log
        evidence.

    Attributes
    ----------
    params_ : DataFrame
        Point estimates in natural units (see ``point_estimate``), indexed by
        participant_id.
    map_params_ : DataFrame
        MAP estimates in natural units (the mode in z, mapped back), in
        ``params_``'s layout; the Laplace ``log_evidence_`` is taken there.
    params_ci_ : DataFrame
        Indexed by (participant_id, parameter): ``estimate`` (``params_``), ``lower``,
        ``upper`` (a 95 % posterior interval, computed in z and mapped back,
        so it lies within the bounds and may be asymmetric) and ``status``
        ('interior' for every EB estimate). With m_step='importance' the
        interval is the equal-tailed interval of the importance draws,
        averaged over populations drawn from the fitted one's approximate
        sampling distribution (so it carries the population's own
        uncertainty), widened to contain ``estimate`` if needed; with 'laplace', the
        Laplace interval under the plug-in prior. Calibration, measured with
        ``benchmarks/bench_hierarchical.py --report coverage`` (10 replicates
        of 60): .94-.96 on QLearning+novel when the population is Gaussian in
        z; .86-.92 when it is heavy-tailed and .83-.95 on Hybrid2012+novel
        (uniform true parameters); below it too when the population is a
        mixture of groups (use ``prior='group'``). The misses are the extreme
        participants, whom the prior pulls toward the population: the lowest
        and highest 10 % of the true learning rates are covered .48-.69
        (``ParameterRecovery.coverage_by_position_``). For per-participant
        intervals at the nominal level, fit by maximum likelihood with
        ``intervals='calibrated-profile'``. With ``interval_calibration``
        each parameter's interval is taken at its calibrated credible level
        (``interval_level_``): over 20 replicates of the same protocol
        .915-.947 on Hybrid2012+novel and .873-.917 on QLearning+novel.
        :meth:`credible_intervals` gives the intervals at other levels.
    interval_level_ : Series
        The central credible level of each parameter's interval: 0.95, or
        the level ``interval_calibration`` chose.
    interval_calibration_ : DataFrame or None
        With ``interval_calibration``, per parameter: ``n`` (intervals over
        the simulated groups), ``coverage_nominal`` (how often the 95 %
        intervals covered their generating values there), ``level`` (the
        calibrated level), ``coverage`` (how often the intervals at that
        level covered) and ``reached`` (False when even 0.999 covered less
        than 95 %: a UserWarning says so). None without calibration.
    posterior_quantiles_ : DataFrame
        Each participant's posterior quantiles in natural units, indexed as
        ``params_ci_`` by (participant_id, parameter), one column per
        probability (0.0005 to 0.9995: every 0.025, and 12 more on a log scale
        in each tail beyond 0.025): from the importance draws with the
        weights ``params_ci_`` uses (m_step='importance'), or from the
        Laplace posterior (Gaussian in z). :meth:`credible_intervals` reads
        intervals at other levels from it.
    posterior_cov_ : ndarray of shape (n_participants, k, k)
        Laplace posterior covariance in z, in ``params_`` order.
    n_effective_samples_ : Series
        Effective sample size of each participant's final importance draws
        (m_step='importance' only).
    posterior_mean_ : DataFrame
        Posterior means in natural units under the fitted prior, from the
        importance draws (m_step='importance' only), in ``params_``'s layout.
        The point estimate that minimises expected squared error: on
        Hybrid2012+novel it correlates better with the truth than the MAPs
        (see ``benchmarks/bench_hierarchical.py --report collapse``).
    collapsed_ : list of str
        Parameters whose population scale collapsed: its prior sd in z ended
        below 0.2 x the spread of the first E-step's (near maximum-likelihood)
        estimates, or was still sliding toward 0 (down by > 2 % in each of the
        last 3 iterations, below half that spread). A ConvergenceWarning names
        them and ``converged_`` is False.
    group_mean_, group_cov_ : Series / DataFrame (or dicts by group)
        The fitted prior in z (per group with ``prior='group'``).
    group_params_ : DataFrame
        Indexed by parameter (by group and parameter with ``prior='group'``):
        the population median and 2.5 % / 97.5 % quantiles in natural units
        (the prior's, mapped back), and the prior's mean and sd in z.
    nll_ : Series
        NLL at ``params_``.
    log_evidence_ : Series
        Laplace approximation of each participant's log marginal likelihood
        under the fitted prior, at the MAP ``m`` (``map_params_``, in z):
        ``-NLL(m) - (m - mu)' Sigma^-1 (m - mu) / 2
        - log|Sigma A| / 2``.
    ibic_ : float
        Integrated BIC (Huys et al. 2011): ``-2 sum_n log p(y_n | prior)``,
        plus the number of prior parameters times ln(total trials). Lower is
        better; compares population models fitted to the same participants.
        Each participant's integral of the likelihood over the fitted prior is
        importance-sampled (``n_ibic_samples`` draws, 90 % from a Student-t
        around the participant's Laplace posterior, widened, and 10 % from the
        prior).
    ibic_se_ : float
        Monte-Carlo standard error of ``ibic_`` (about 1-2 for a group of 30
        with the default samples): iBIC differences of a few times this are
        sampling noise.
    n_hessian_clamped_ : Series
        Negative eigenvalues clamped per participant's NLL Hessian (indefinite
        finite-difference Hessians at a kink or saddle).
    n_iter_ : int
    converged_ : bool
        Whether EM met ``tol`` within ``max_iter`` with no collapsed
        population scale.
    history_ : DataFrame
        Per iteration (and group): the largest change of the prior, the sum
        of NLLs at the latest MAPs and of the log evidences (importance-sampled
        with m_step='importance', else Laplace), and whether the iteration drew
        new importance samples (``new_draws``).
    groups_, n_trials_ : Series
    n_missed_ : Series
        Missed trials per participant (skipped or refused as the
        estimator's ``missed_trials`` says).
    model_name_ : str
    """

    def __init__(self, estimator: RLModelBase, *, covariance: str = "diagonal",
                 prior: str = "pooled", max_iter: int = 50, tol: float = 0.01,
                 n_ibic_samples: int = 2000, m_step: str = "importance",
                 n_importance: int = 200, point_estimate: str = "posterior_mean",
                 scale_prior: tuple[float, float] | None = (1.0, 0.1),
                 interval_calibration: int = 0,
                 random_state: RandomStateLike = None,
                 n_jobs: int | None = None, verbose: int = 0) -> None:
        self.estimator = estimator
        self.covariance = covariance
        self.prior = prior
        self.max_iter = max_iter
        self.tol = tol
        self.m_step = m_step
        self.n_importance = n_importance
        self.point_estimate = point_estimate
        self.scale_prior = scale_prior
        self.interval_calibration = interval_calibration
        self.n_ibic_samples = n_ibic_samples
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __setstate__(self, state):
        # a fit pickled before m_step, n_importance and scale_prior existed was
        # fitted by Laplace EM without a hyperprior: it keeps that method; one pickled
        # before point_estimate existed reported MAPs
        state = {"m_step": "laplace", "n_importance": 200, "scale_prior": None,
                 "point_estimate": "map", "interval_calibration": 0, **state}
        if "params_" in state and "interval_level_" not in state:
            # fitted before the levels could be calibrated: nominal 95 % intervals
            state["interval_level_"] = pd.Series(NOMINAL_LEVEL, index=state["params_"].columns,
                                                 name="level")
            state["interval_calibration_"] = None
        if "params_" in state and "posterior_quantiles_" not in state:
            # fitted before the quantiles were kept: credible_intervals asks for a refit
            state["posterior_quantiles_"] = None
        super().__setstate__(state)

    @property
    def evidence_(self) -> pd.Series:
        """Per-participant log evidence: the Laplace approximation (``log_evidence_``)."""
        return self.log_evidence_

    # ------------------------------------------------------------ settings
    def _settings(self):
        settings = self._check_estimator()
        if self.covariance not in COVARIANCES:
            raise ValueError(f"covariance must be one of {list(COVARIANCES)}, got "
                             f"{self.covariance!r}")
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {list(PRIORS)}, got {self.prior!r}")
        if self.m_step not in M_STEPS:
            raise ValueError(f"m_step must be one of {list(M_STEPS)}, got {self.m_step!r}")
        if self.point_estimate not in POINT_ESTIMATES:
            raise ValueError(f"point_estimate must be one of {list(POINT_ESTIMATES)}, got "
                             f"{self.point_estimate!r}")
        if self.scale_prior is not None:
            pair = self.scale_prior
            if not isinstance(pair, (tuple, list)) or len(pair) != 2 or not all(
                    isinstance(v, Real) and not isinstance(v, (bool, np.bool_))
                    for v in pair) or not pair[0] >= 1 or not pair[1] > 0:
                raise ValueError("scale_prior must be None or a pair (shape, rate) with "
                                 f"shape >= 1 and rate > 0, got {pair!r}")
        for name in ("max_iter", "n_ibic_samples", "n_importance"):
            check_number(getattr(self, name), name, integer=True, low=1)
        check_number(self.interval_calibration, "interval_calibration", integer=True, low=0)
        if self.interval_calibration and self.m_step != "importance":
            raise ValueError("interval_calibration needs m_step='importance' (the calibrated "
                             "intervals are quantiles of the importance draws), got "
                             f"m_step={self.m_step!r}")
        check_number(self.tol, "tol", low=0, open_low=True)
        check_n_jobs(self.n_jobs)
        return settings

    # ----------------------------------------------------------------- fit
    def fit(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> EmpiricalBayes:
        """Fit the population prior and every participant's MAP by EM.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in the estimators' ``fit``.

        Returns
        -------
        self
        """
        settings = self._settings()
        data = self.estimator._load(X_learning, X_transfer)  # its missed_trials
        base = base_entropy(self.random_state)
        seeds = participant_seeds(base, data.participants)
        if self.prior == "pooled":
            units = {None: np.arange(data.n_participants)}
        else:
            groups = pd.Series(data.groups)
            units = {g: np.flatnonzero((groups == g).to_numpy())
                     for g in pd.unique(groups.to_numpy())}
        results, history = {}, []
        for group, index in units.items():
            results[group] = self._em(data.subset(index), [seeds[i] for i in index], settings,
                                      group, history)
        order = np.concatenate(list(units.values()))
        inverse = np.empty_like(order)
        inverse[order] = np.arange(order.size)

        def stacked(key):
            return np.concatenate([results[g]["estep"][key] for g in units])[inverse]

        self._store_levels(data, seeds, settings, units, results, base)
        self._store_participants(data, settings, results, units, inverse, stacked, base)
        self._store_population(settings, results, history)
        self._store_ibic(data, settings, results, units, base)
        self._warn_fit_problems(settings.variant.name, results)
        return self

    def _store_participants(self, data, settings, results, units, inverse, stacked, base):
        """Each participant's estimates, intervals, evidence and counts."""
        names = list(settings.variant.parameter_names)
        ids = pd.Index(data.participants, name="participant_id")
        z, nll, log_ev = stacked("z"), stacked("nll"), stacked("log_evidence")
        low, high = settings.low, settings.high
        self.model_name_ = settings.variant.name
        self.map_params_ = pd.DataFrame(to_bounded(z, low, high), index=ids, columns=names)
        self.params_ = self.map_params_
        self.posterior_cov_ = stacked("cov")
        self.nll_ = pd.Series(nll, index=ids, name="nll")
        self.log_evidence_ = pd.Series(log_ev, index=ids, name="log_evidence")
        self.n_hessian_clamped_ = pd.Series(stacked("n_negative"), index=ids,
                                            name="n_hessian_clamped")
        self.n_trials_ = pd.Series(data.n_trials, index=ids, name="n_trials")
        self.n_missed_ = pd.Series(data.n_missed, index=ids, name="n_missed")
        self.groups_ = pd.Series(data.groups, index=ids, name="group_code")
        if self.m_step == "importance":
            self.n_effective_samples_ = pd.Series(stacked("ess"), index=ids,
                                                  name="n_effective_samples")
            self.posterior_mean_ = pd.DataFrame(np.concatenate([
                _posterior_mean_x(results[g]["estep"], results[g]["population"], low, high)
                for g in units])[inverse], index=ids, columns=names)
            if self.point_estimate == "posterior_mean":
                self.params_ = self.posterior_mean_
                # as for every estimator, nll_ is the NLL at the reported params_
                self.nll_ = pd.Series(Objective(settings.variant, data)(
                    self.params_.to_numpy()), index=ids, name="nll")
        self.params_ci_ = interval_table(z, self.posterior_cov_, low, high, ids, names,
                                         estimate=self.params_.to_numpy())
        estimate = to_unbounded(self.params_.to_numpy(), low, high)
        if self.m_step == "laplace":
            quantiles = gaussian_quantiles(z, self.posterior_cov_)
        else:
            # intervals from the importance draws, averaged over the population's
            # own uncertainty: the Laplace ones cover the truth too rarely
            hyper_rng = np.random.default_rng(np.random.SeedSequence([base, 0x1C1]))
            parts = [_sampled_intervals(results[g]["estep"], results[g]["population"],
                                        hyper_rng, self.interval_level_.to_numpy())
                     for g in units]
            lower = np.concatenate([p[0] for p in parts])[inverse]
            upper = np.concatenate([p[1] for p in parts])[inverse]
            quantiles = np.concatenate([p[2] for p in parts], axis=1)[:, inverse]
            self.params_ci_["lower"] = to_bounded(np.minimum(lower, estimate), low, high).ravel()
            self.params_ci_["upper"] = to_bounded(np.maximum(upper, estimate), low, high).ravel()
        self.posterior_quantiles_ = quantile_table(quantiles, low, high, self.params_ci_.index)

    def _store_levels(self, data, seeds, settings, units, results, base):
        """The intervals' credible level per parameter, calibrated if asked (see ``interval_calibration``)."""
        names = list(settings.variant.parameter_names)
        self.interval_level_ = pd.Series(NOMINAL_LEVEL, index=names, name="level")
        self.interval_calibration_ = None
        if self.interval_calibration:
            self.interval_calibration_ = calibrate_levels(
                self, data, seeds, settings, units, results, base, NOMINAL_LEVEL)
            self.interval_level_[:] = self.interval_calibration_["level"].to_numpy()

    def _store_population(self, settings, results, history):
        """The fitted prior(s), EM's iterations and its convergence."""
        names = list(settings.variant.parameter_names)
        populations = {g: r["population"] for g, r in results.items()}
        self.populations_ = populations
        if self.prior == "pooled":
            population = populations[None]
            self.group_mean_ = pd.Series(population.mean, index=names, name="mean")
            self.group_cov_ = pd.DataFrame(population.cov, index=names, columns=names)
        else:
            self.group_mean_ = {g: pd.Series(p.mean, index=names, name="mean")
                                for g, p in populations.items()}
            self.group_cov_ = {g: pd.DataFrame(p.cov, index=names, columns=names)
                               for g, p in populations.items()}
        self.group_params_ = pd.concat(
            [population_table(p, settings.low, settings.high, names).assign(group=g)
             for g, p in populations.items()])
        if self.prior == "pooled":
            self.group_params_ = self.group_params_.drop(columns="group")
        else:
            self.group_params_ = self.group_params_.set_index("group", append=True) \
                .reorder_levels(["group", "parameter"])
        self.n_iter_ = max(r["n_iter"] for r in results.values())
        collapsed = np.any([r["collapsed"] for r in results.values()], axis=0)
        self.collapsed_ = [name for name, flag in zip(names, collapsed) if flag]
        # a prior that shrank a parameter onto one value has not found the population
        self.converged_ = all(r["converged"] for r in results.values()) and not self.collapsed_
        self.history_ = pd.DataFrame(history)
        if self.prior == "pooled":
            self.history_ = self.history_.drop(columns="group")

    def _store_ibic(self, data, settings, results, units, base):
        """The integrated BIC and its Monte-Carlo standard error."""
        rng = np.random.default_rng(np.random.SeedSequence([base, 0x1B1C]))
        # importance-sampled around each participant's Laplace posterior: plain prior
        # samples made the iBIC too noisy to tell nested models apart
        terms = [integrated_bic(settings.variant, data.subset(index), results[g]["population"],
                                settings.low, settings.high, self.n_ibic_samples, rng,
                                self.covariance, posterior_mean=results[g]["estep"]["z"],
                                posterior_cov=results[g]["estep"]["cov"], return_se=True)
                 for g, index in units.items()]
        self.ibic_ = float(sum(t[0] for t in terms))
        self.ibic_se_ = float(np.sqrt(sum(t[1] ** 2 for t in terms)))

    def _warn_fit_problems(self, name, results):
        if not all(r["converged"] for r in results.values()):
            warn(f"{name}: EM did not converge within max_iter={self.max_iter} "
                 f"iterations (tol={self.tol}); see history_", ConvergenceWarning)
        if self.collapsed_:
            warn(f"{name}: the population scale of {', '.join(self.collapsed_)} "
                 f"shrank toward 0 (prior sd in z below {COLLAPSE_FRACTION:g} x the spread of "
                 "the first E-step's estimates): every participant's estimate is pulled onto "
                 "the population mean. See group_params_ and collapsed_; m_step='importance' "
                 "and a scale_prior guard against it", ConvergenceWarning)

    def log_evidence(self, X_learning: FrameLike,
                     X_transfer: FrameLike | None = None) -> pd.Series:
        """Laplace log marginal likelihood of each participant under the fitted prior.

        The participants need not have been fitted: their MAPs are found
        under the fitted population prior (for ``prior='group'``, their
        group's prior).

        Returns
        -------
        Series indexed by participant_id
        """
        check_is_fitted(self, "populations_")
        settings = self._settings()
        if settings.variant.name != self.model_name_:
            raise ValueError(f"this estimator was fitted as {self.model_name_}, but its "
                             f"estimator now describes {settings.variant.name}; call fit "
                             "again")
        data = self.estimator._load(X_learning, X_transfer)  # its missed_trials
        seeds = participant_seeds(base_entropy(self.random_state), data.participants)
        out = np.empty(data.n_participants)
        for g, index in self._population_of(np.asarray(data.groups, dtype=object)).items():
            estep = self._estep(data.subset(index), [seeds[i] for i in index], settings,
                                self.populations_[g], None, 0, sample=False)
            out[index] = estep["log_evidence"]
        return pd.Series(out, index=pd.Index(data.participants, name="participant_id"),
                         name="log_evidence")

    def score(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> float:
        """Mean Laplace log marginal likelihood per participant under the fitted prior.

        Higher is better. For participants not in the fit this scores the
        population model on new people, so ``GroupKFold`` over participants
        (both phases in one frame, ``groups`` = participant ids) is a
        meaningful cross-validation of the population model.
        """
        return float(self.log_evidence(X_learning, X_transfer).mean())

    def sample(self, X_learning: FrameLike | None = None, X_transfer: FrameLike | None = None,
               random_state: RandomStateLike = None, *, n_participants: int | None = None,
               **design: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Simulate choices: of the fitted participants (at their MAPs), or of new ones.

        With template data, each template participant is simulated at its MAP
        (as ``estimator.sample(..., params=params_)``). Without templates,
        ``n_participants`` new participants are drawn from the fitted
        population prior (pooled prior only) and simulated on the default
        design; ``design`` goes to the estimator's ``sample``.

        Returns
        -------
        learning, transfer : DataFrame
        """
        check_is_fitted(self, "populations_")
        if X_learning is not None or X_transfer is not None:
            return self.estimator.sample(X_learning, X_transfer, params=self.params_,
                                         random_state=random_state, **design)
        if self.prior != "pooled":
            raise ValueError("drawing new participants needs prior='pooled' (with "
                             "prior='group', sample each group's participants from templates)")
        check_number(n_participants, "n_participants", integer=True, low=1)
        rng = check_rng(random_state)
        population = self.populations_[None]
        z = rng.multivariate_normal(population.mean, population.cov, size=int(n_participants))
        settings = self._settings()
        params = pd.DataFrame(to_bounded(z, settings.low, settings.high),
                              columns=self.params_.columns,
                              index=pd.Index([f"sim_{i}" for i in range(n_participants)],
                                             name="participant_id"))
        return self.estimator.sample(params=params, random_state=rng, **design)
