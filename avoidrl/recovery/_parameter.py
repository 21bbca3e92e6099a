"""ParameterRecovery: can a model's parameters be recovered from data it generated?

The recovery step of the VALIDATION flow, per model: synthetic datasets
(:mod:`._common`) are fitted again and the fits compared with the truth.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from .._utils.progress import ProgressBar
from .._utils.warnings import warn
from ._calibration import (
    NOMINAL_LEVEL, TAIL_SHARE, coverage_by_position, coverage_table, cross_correlations,
    pearson, sbc_ranks,
)
from ._common import (
    MAX_SEED, SyntheticDataset, check_datasets, check_run_settings, dataset_count,
    estimator_name, fit_population, fit_unit, generate_datasets, generating_model,
    resolve_templates, units, warn_unconverged,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
    from typing import Self

    from .._utils.typing import FrameLike, RandomStateLike


class ParameterRecovery(BaseEstimator):
    """Check that a model's parameters can be recovered from data it generated.

    Built like a cross-validator: :meth:`split` yields synthetic datasets and
    :meth:`fit` fits a clone of ``estimator`` to each, in parallel;
    :meth:`score` rates how well the parameters were recovered, so that
    ``GridSearchCV`` over ``estimator__bounds`` (with
    :class:`~avoidrl.model_selection.InSampleSplit`) chooses the bounds under
    which they are recovered best.

    Parameters
    ----------
    estimator : avoidrl estimator, EmpiricalBayes or HierarchicalBayes
        The model that generates and fits; its bounds are the range of the
        generating parameters (unless ``generating_bounds`` is given) and of
        every recovery fit, its starts (``n_starts``, ``start``) are used by
        every recovery fit. An ``EmpiricalBayes`` or ``HierarchicalBayes``
        fits all synthetic participants jointly, as one population (its model
        generates).
    n_datasets : int, default=None
        Simulated participants. None means one per template participant (or
        15 on the default task design).
    sampler : {'random', 'normal'}, default='random'
        Generating parameters: uniform within the generating bounds, or
        N(init, (high - low) / 15) clipped to them.
    generating_bounds : dict, default=None
        ``{parameter: (low, high)}``: draw the named generating parameters
        within these bounds instead of the estimator's (the others keep the
        estimator's bounds; the 'normal' sampler then centres on the model's
        default start values). Set it when comparing bounds: the generating
        population must not move with the candidate, or each candidate is
        rated on a different population (a candidate whose bounds exclude
        where participants really are would never be tested there). With an
        integer ``random_state`` every candidate then recovers the very same
        datasets.
    random_state : int, RandomState instance or None, default=None
        Seeds generation and every fit; results do not depend on ``n_jobs``
        or the joblib backend.
    n_jobs : int, default=None
        joblib workers over work units (groups of datasets).
    verbose : int, default=0
        When > 0, show a progress bar of the datasets fitted (in a terminal
        or a notebook).

    Attributes
    ----------
    datasets_ : list of SyntheticDataset
    true_params_, fitted_params_ : DataFrame
        Indexed by dataset id, one column per parameter.
    fits_ : DataFrame
        Per dataset: fitted parameters, nll, aic, bic, n_trials, converged,
        optimum_hits and confirmed (the best optimum was reached by at least
        two starts), and nll_at_true, the NLL at the generating parameters (a
        maximum-likelihood fit above it is an optimizer failure and is warned
        about, unless ``generating_bounds`` put them outside the fitting
        bounds). With EmpiricalBayes: nll at the MAP, log_evidence, evidence,
        converged (EM's).
    ibic_ : float
        With EmpiricalBayes only: the integrated BIC of the population fit.
    correlations_ : Series
        Pearson r of true vs fitted values, per parameter.
    correlation_matrix_ : DataFrame
        Pearson r of every true parameter (rows, index ``true``) with every
        fitted one (columns, ``fitted``): the diagonal is ``correlations_``,
        an off-diagonal cell far from 0 a trade-off between two parameters.
    intervals_ : DataFrame
        The fits' ``params_ci_`` (estimate, lower, upper, status), indexed by
        (dataset, parameter).
    coverage_ : DataFrame
        Per parameter (index): ``nominal`` (the intervals' level, 0.95), ``n``
        (datasets whose estimate has a finite interval),
        ``n_inside`` (of them, intervals that contain the true value),
        ``coverage`` (= n_inside / n), ``lower``, ``upper`` (its 95 %
        Clopper-Pearson interval: is the nominal level plausible?) and
        ``n_without_interval`` (Wald intervals: estimates on a bound or not
        identified). Read through the fitted-model protocol, so it means the
        same for maximum-likelihood (Wald or profile, the model's
        ``intervals``), empirical-Bayes and full-Bayes (credible) intervals.
    coverage_by_position_ : DataFrame
        ``coverage_`` split by where the true value lies among the true
        values, indexed by (parameter, position): the lowest 10 % ('lower
        tail'), the highest 10 % ('upper tail') and the 'middle', with the
        range of true values in each (``min_true``, ``max_true``). Shrinkage
        methods can reach the nominal level overall while missing many of the
        extreme values: measured on Hybrid2012+novel (10 populations of 60),
        EmpiricalBayes's learning-rate intervals cover .92-.96 of the middle
        and .48-.69 of the tails (both tails together).
    sbc_ranks_ : DataFrame
        Only when the fits give posterior draws (``HierarchicalBayes``):
        datasets x parameters, the simulation-based-calibration rank of each
        true value among L evenly thinned posterior draws (0..L, L in
        ``attrs['n_draws']``, at most 99; Talts et al. 2018). Uniform when the
        sampler is correct *and* the true values are drawn from the fitted
        model's prior (its population and hyperpriors): the 'random' and
        'normal' samplers do not do that, so for a calibration check pass
        ``datasets`` generated from the prior (see ``docs/bayes.rst``).
    recoverability_ : Series
        Per parameter, ``1 - sum((fitted - true)^2) / sum((true - mean true)^2)``:
        the share of the true values' variance that the fitted values
        recover on the identity line (1 = perfect, 0 = no better than
        guessing the mean, negative = worse). See :meth:`score`.
    templates_ : list or None
        participant_ids of the template data (None: the default design).
    results_ : DataFrame
        Tidy table for plotting: dataset, model, parameter, true, fitted.

    Examples
    --------
    >>> from avoidrl import QLearning
    >>> from avoidrl.recovery import ParameterRecovery
    >>> recovery = ParameterRecovery(QLearning(novel=True, n_starts=3), n_datasets=20,
    ...                              random_state=0).fit()
    >>> recovery.correlations_.index.tolist()
    ['factual_lr', 'counterfactual_lr', 'temperature', 'novel_value']
    >>> round(recovery.score(), 1)  # mean recoverability, 1 at most
    0.9
    """

    def __init__(self, estimator: BaseEstimator, *, n_datasets: int | None = None,
                 sampler: str = "random",
                 generating_bounds: dict[str, tuple[float, float]] | None = None,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0) -> None:
        self.estimator = estimator
        self.n_datasets = n_datasets
        self.sampler = sampler
        self.generating_bounds = generating_bounds
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def __setstate__(self, state):
        super().__setstate__(state)
        # a recovery pickled before coverage_by_position_ existed kept what it is made of
        if "intervals_" in state and "coverage_by_position_" not in state:
            self.coverage_by_position_ = coverage_by_position(
                self.true_params_, self.intervals_, NOMINAL_LEVEL, TAIL_SHARE)

    def _generate(self, learning, transfer, rng):
        n = dataset_count(self.n_datasets, learning, transfer)
        name = estimator_name(self.estimator)
        generator = generating_model(self.estimator, self.generating_bounds)
        return generate_datasets(generator, name, n, self.sampler, rng, learning, transfer)

    def split(self, X_learning: FrameLike | None = None,
              X_transfer: FrameLike | None = None) -> Iterator[SyntheticDataset]:
        """Yield the synthetic datasets, as :meth:`fit` would make them.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path, optional
            Template data (each dataset replays one template participant's
            trial sequence and outcomes), as two frames or both phases in one
            long frame; None for the default task design.

        Yields
        ------
        SyntheticDataset
            With ``id``, ``true_params``, ``learning`` and ``transfer``.
        """
        learning, transfer = resolve_templates(X_learning, X_transfer)
        yield from self._generate(learning, transfer, check_random_state(self.random_state))

    def fit(self, X_learning: FrameLike | None = None, X_transfer: FrameLike | None = None, *,
            datasets: Sequence[SyntheticDataset] | None = None) -> Self:
        """Generate the datasets (or take given ones) and fit the estimator to each.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path, optional
            Template data, as two frames or both phases in one long frame
            (:func:`~avoidrl.model_selection.combine_phases`, as
            ``GridSearchCV`` passes it); None for the default task design.
        datasets : list of SyntheticDataset, optional
            Datasets made beforehand (for example simulated at fitted
            parameters); their ``true_params`` must hold the estimator's
            parameters. Template data are then not used.

        Returns
        -------
        self
        """
        check_run_settings(self, [(estimator_name(self.estimator), self.estimator)])
        rng = check_random_state(self.random_state)
        templates = None
        if datasets is None:
            learning, transfer = resolve_templates(X_learning, X_transfer)
            if learning is not None:
                templates = list(pd.unique(learning["participant_id"]))
            datasets = self._generate(learning, transfer, rng)
        else:
            datasets = check_datasets(datasets)
            names = self.estimator.parameter_names
            wrong = [d.id for d in datasets if list(d.true_params.index) != names]
            if wrong:
                raise ValueError(
                    f"datasets {wrong[:5]} do not hold the parameters {names} of "
                    f"{estimator_name(self.estimator)} in their true_params")
        seeds = rng.randint(MAX_SEED, size=len(datasets))
        if self.estimator.fits_jointly:
            # the synthetic participants are one population, fitted jointly
            estimator = clone(self.estimator).set_params(n_jobs=self.n_jobs)
            fits, self.ibic_, intervals, fitted = fit_population(
                estimator, datasets, seeds[0], intervals=True, keep=True)
        else:
            fitted = None
            groups = units(list(zip(datasets, seeds)))
            tables, cis = [], []
            with ProgressBar(len(datasets), f"recovering {estimator_name(self.estimator)}",
                             "dataset", self.verbose) as bar:
                for table in Parallel(n_jobs=self.n_jobs, return_as="generator")(
                        delayed(fit_unit)(self.estimator, [d for d, _ in g], [s for _, s in g],
                                          intervals=True)
                        for g in groups):
                    tables.append(table[0])
                    cis.append(table[1])
                    bar.update(len(table[0]))
            fits, intervals = pd.concat(tables), pd.concat(cis)
        names = list(datasets[0].true_params.index)
        self.templates_ = templates
        self.datasets_ = datasets
        self.true_params_ = pd.DataFrame([d.true_params for d in datasets])
        self.true_params_.index.name = "dataset"
        self.fits_ = fits.rename_axis("dataset")
        self.fitted_params_ = self.fits_[names].copy()
        self.correlations_ = pd.Series(
            {p: pearson(self.true_params_[p], self.fitted_params_[p]) for p in names},
            name="r")
        self.correlation_matrix_ = cross_correlations(self.true_params_, self.fitted_params_)
        self.intervals_ = intervals.rename_axis(["dataset", "parameter"])
        self.coverage_ = coverage_table(self.true_params_, self.intervals_, NOMINAL_LEVEL)
        self.coverage_by_position_ = coverage_by_position(self.true_params_, self.intervals_,
                                                          NOMINAL_LEVEL, TAIL_SHARE)
        if hasattr(fitted, "draws_"):  # a method with posterior draws: SBC ranks too
            self.sbc_ranks_ = sbc_ranks(fitted, self.true_params_).rename_axis("dataset")
        else:
            self.__dict__.pop("sbc_ranks_", None)  # a refit by another method has none
        self.recoverability_ = pd.Series(
            {p: _identity_r2(self.true_params_[p], self.fitted_params_[p]) for p in names},
            name="recoverability")
        model = estimator_name(self.estimator)
        self.results_ = pd.DataFrame({
            "dataset": np.repeat(self.true_params_.index.to_numpy(), len(names)),
            "model": model,
            "parameter": np.tile(names, len(datasets)),
            "true": self.true_params_.to_numpy().ravel(),
            "fitted": self.fitted_params_.to_numpy().ravel(),
        })
        self._check_against_truth(datasets, names, model)
        warn_unconverged(self.fits_, f"parameter recovery of {model}")
        return self

    def _check_against_truth(self, datasets, names, model):
        """``fits_['nll_at_true']``, and a warning for fits that ended above it."""
        # Generating parameters inside the fitting bounds are a point the fit could reach:
        # a maximum-likelihood fit that ends above their NLL is an optimizer failure, made
        # visible here (outside them, as generating_bounds allow, it is the bounds' cost).
        learning = pd.concat([d.learning for d in datasets], ignore_index=True)
        transfer = pd.concat([d.transfer for d in datasets], ignore_index=True)
        fitter = self.estimator.simulator
        at_true = fitter.negative_log_likelihood(
            learning, transfer, params=self.true_params_.rename_axis("participant_id"))
        self.fits_["nll_at_true"] = at_true["total"].reindex(self.fits_.index).to_numpy()
        bounds = fitter._fit_settings()["bounds"]
        reachable = pd.concat([self.true_params_[p].between(*bounds[p]) for p in names],
                              axis=1).all(axis=1).reindex(self.fits_.index).to_numpy()
        worse = self.fits_.index[(self.fits_["nll"] > self.fits_["nll_at_true"] + 1e-6)
                                 & reachable]
        if not self.estimator.maximizes_likelihood:
            worse = worse[:0]  # e.g. a MAP may sit above the truth's NLL: the prior pulls it
        if len(worse):
            warn(f"parameter recovery of {model}: {len(worse)} of {len(self.fits_)} fits ended "
                 "above the NLL of their own generating parameters, an optimizer failure "
                 f"({', '.join(map(str, worse[:5]))}{' ...' if len(worse) > 5 else ''}); see "
                 "the 'nll' and 'nll_at_true' columns of fits_ and raise max_starts",
                 ConvergenceWarning)

    def score(self, X_learning: FrameLike | None = None,
              X_transfer: FrameLike | None = None) -> float:
        """How well the parameters were recovered: the mean of ``recoverability_``.

        Per parameter, ``1 - sum((fitted - true)^2) / sum((true - mean true)^2)``
        over the synthetic datasets, then the mean over parameters (higher is
        better, 1 at most). It reads the results of :meth:`fit` and fits
        nothing: ``GridSearchCV`` with
        :class:`~avoidrl.model_selection.InSampleSplit` fits and scores each
        candidate on the same template data.

        Why this measure: the errors are measured on the scale of the true
        values' spread, so the score is free of units and comparable across
        parameters and across candidates' bounds (a narrower bound does not
        win by making errors small in absolute terms); unlike a correlation
        it also counts bias, such as fits piled on a bound that excludes the
        true values. To compare bounds, set ``generating_bounds`` so that all
        candidates recover the same population; otherwise each candidate is
        rated on the population its own bounds generate.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path, optional
            The template data given to :meth:`fit` (or None if it had none);
            other participants are an error, since nothing is fitted here.

        Returns
        -------
        float
        """
        check_is_fitted(self, "recoverability_")
        learning, _ = resolve_templates(X_learning, X_transfer)
        given = None if learning is None else set(pd.unique(learning["participant_id"]))
        fitted = None if self.templates_ is None else set(self.templates_)
        if given != fitted:
            raise ValueError(
                "ParameterRecovery.score rates the recovery made by fit and fits nothing, so it "
                "takes the template data given to fit (split with "
                "avoidrl.model_selection.InSampleSplit); got "
                f"{'no data' if given is None else f'{len(given)} participant(s)'}, but fit "
                f"had {'no data' if fitted is None else f'{len(fitted)} participant(s)'}")
        if self.recoverability_.isna().any():
            missing = self.recoverability_.index[self.recoverability_.isna()].tolist()
            raise ValueError(f"recoverability of {missing} is undefined: their true values do "
                             "not vary (raise n_datasets, or widen generating_bounds)")
        return float(self.recoverability_.mean())


def _identity_r2(true, fitted):
    """1 - SSE / SST of ``fitted`` against ``true`` on the identity line (NaN if true is flat)."""
    true = np.asarray(true, float)
    fitted = np.asarray(fitted, float)
    spread = np.sum((true - true.mean()) ** 2)
    if spread == 0:
        return np.nan
    return float(1.0 - np.sum((fitted - true) ** 2) / spread)

