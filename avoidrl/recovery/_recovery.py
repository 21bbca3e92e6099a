"""ParameterRecovery and ModelRecovery meta-estimators."""

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
from ._common import (
    DEFAULT_N_DATASETS, MAX_SEED, SyntheticDataset, estimator_name, fit_population, fit_unit,
    generate_datasets, generating_model, named_estimators, resolve_templates, units,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Self

    from .._utils.typing import FrameLike, RandomStateLike


def _n_datasets(n_datasets, learning, transfer):
    if n_datasets is None:
        if learning is None:
            return DEFAULT_N_DATASETS
        return len(pd.unique(learning["participant_id"]))
    if isinstance(n_datasets, bool) or not isinstance(n_datasets, (int, np.integer)) \
            or n_datasets < 1:
        raise ValueError(f"n_datasets must be a positive integer, got {n_datasets!r}")
    return int(n_datasets)


def _warn_unconverged(table, what):
    """One ConvergenceWarning per kind of fit problem, naming the fits."""
    for column, problem in (("converged", "the best start did not converge"),
                            ("confirmed", "the best optimum was reached by only one start "
                                          "(raise the estimator's max_starts)")):
        failed = table.index[~table[column].to_numpy(bool)]
        if len(failed):
            warn(f"{what}: {problem} for {len(failed)} of {len(table)} fits "
                 f"({', '.join(map(str, failed[:5]))}{' ...' if len(failed) > 5 else ''}); "
                 f"see the {column!r} column of the results", ConvergenceWarning)


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
    estimator : avoidrl estimator or EmpiricalBayes
        The model that generates and fits; its bounds are the range of the
        generating parameters (unless ``generating_bounds`` is given) and of
        every recovery fit, its starts (``n_starts``, ``start``) are used by
        every recovery fit. An ``EmpiricalBayes`` fits all synthetic
        participants jointly, as one population (its model generates).
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

    def _generate(self, learning, transfer, rng):
        n = _n_datasets(self.n_datasets, learning, transfer)
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
        rng = check_random_state(self.random_state)
        templates = None
        if datasets is None:
            learning, transfer = resolve_templates(X_learning, X_transfer)
            if learning is not None:
                templates = list(pd.unique(learning["participant_id"]))
            datasets = self._generate(learning, transfer, rng)
        else:
            datasets = _check_datasets(datasets)
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
            fits, self.ibic_ = fit_population(estimator, datasets, seeds[0])
        else:
            groups = units(list(zip(datasets, seeds)))
            tables = []
            with ProgressBar(len(datasets), f"recovering {estimator_name(self.estimator)}",
                             "dataset", self.verbose) as bar:
                for table in Parallel(n_jobs=self.n_jobs, return_as="generator")(
                        delayed(fit_unit)(self.estimator, [d for d, _ in g], [s for _, s in g])
                        for g in groups):
                    tables.append(table)
                    bar.update(len(table))
            fits = pd.concat(tables)
        names = list(datasets[0].true_params.index)
        self.templates_ = templates
        self.datasets_ = datasets
        self.true_params_ = pd.DataFrame([d.true_params for d in datasets])
        self.true_params_.index.name = "dataset"
        self.fits_ = fits.rename_axis("dataset")
        self.fitted_params_ = self.fits_[names].copy()
        self.correlations_ = pd.Series(
            {p: _pearson(self.true_params_[p], self.fitted_params_[p]) for p in names},
            name="r")
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
        _warn_unconverged(self.fits_, f"parameter recovery of {model}")
        return self

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


def _group_level(evidence, group_of, ibic, names, generators):
    """Group-level model identification: per group of one generator's datasets.

    For each group, the winner by random-effects BMS (highest protected
    exceedance probability, on -BIC/2 of ML fits or the Laplace evidence of
    hierarchical fits) and, when every model was fitted hierarchically, the
    winner by integrated BIC (lowest).
    """
    from .._bms import random_effects_bms

    rows = []
    keys = list(dict.fromkeys(group_of[pid] for pid in evidence.index))
    for key in keys:
        members = [pid for pid in evidence.index if group_of[pid] == key]
        bms = random_effects_bms(evidence.loc[members, names])
        pxp = bms["protected_exceedance_probability"]
        row = {"generating_model": key[0], "group": key[1], "n_datasets": len(members),
               "bms_winner": pxp.idxmax(), "bms_pxp": float(pxp.max()),
               "bor": float(bms.attrs["bor"])}
        values = {n: ibic.get((n, key), np.nan) for n in names}
        row.update({f"ibic_{n}": v for n, v in values.items()})
        complete = all(np.isfinite(v) for v in values.values())
        row["ibic_winner"] = min(values, key=values.get) if complete else None
        rows.append(row)
    results = pd.DataFrame(rows)
    order = {n: i for i, n in enumerate(generators)}
    results = results.sort_values(["generating_model", "group"],
                                  key=lambda c: c.map(order) if c.name == "generating_model"
                                  else c).reset_index(drop=True)
    identification = pd.DataFrame({
        "n_groups": results.groupby("generating_model").size(),
        "bms_correct": (results["bms_winner"] == results["generating_model"])
        .groupby(results["generating_model"]).mean(),
        "ibic_correct": ((results["ibic_winner"] == results["generating_model"])
                         .where(results["ibic_winner"].notna()))
        .groupby(results["generating_model"]).mean(),
    }).reindex(generators)
    identification.index.name = "generating_model"
    return results, identification


def _check_datasets(datasets):
    datasets = list(datasets)
    if not datasets or not all(isinstance(d, SyntheticDataset) for d in datasets):
        raise ValueError("datasets must be a non-empty list of SyntheticDataset")
    ids = [d.id for d in datasets]
    if len(set(ids)) != len(ids):
        raise ValueError("dataset ids must be unique")
    return datasets


def _pearson(a, b):
    a = np.asarray(a, float)
    b = np.asarray(b, float)
    if a.std() == 0 or b.std() == 0:
        return np.nan
    return float(np.corrcoef(a, b)[0, 1])


class ModelRecovery(BaseEstimator):
    """Check that models can be told apart: every model fits every model's data.

    Parameters
    ----------
    estimators : list of estimators or of (name, estimator) pairs
        The candidate models; each generates datasets and fits all of them.
        ``EmpiricalBayes`` estimators fit each group of one generator's
        datasets jointly, as a population.
    n_datasets : int, default=None
        Datasets per generating model (None: one per template participant,
        or 15 on the default task design).
    sampler : {'random', 'normal'}, default='random'
        How generating parameters are drawn (see :class:`ParameterRecovery`).
    group_size : int, default=None
        Each generator's datasets are cut into consecutive groups of this
        size (None: one group per generator): the populations fitted by
        hierarchical estimators, and the units of the group-level
        identification (``group_results_``, ``group_identification_``).
    random_state : int, RandomState instance or None, default=None
    n_jobs : int, default=None
        joblib workers over (fitting model, group of datasets) work units.
    verbose : int, default=0
        When > 0, show a progress bar of the (dataset, fitting model) fits
        done (in a terminal or a notebook).

    Attributes
    ----------
    datasets_ : list of SyntheticDataset
    fits_ : DataFrame
        One row per (dataset, fitting model): generating model, group, nll,
        the fitted parameters, converged, ``evidence`` (the log-evidence
        approximation compared: -BIC/2 for maximum-likelihood fits, the
        Laplace log evidence under the fitted population prior for
        EmpiricalBayes) and ``criterion`` (-2 x evidence, lower is better);
        ML fits also hold aic, bic, optimum_hits and confirmed.
    criterion_ : DataFrame
        Mean criterion over each generator's datasets. Every matrix of a
        model recovery has the generating models in rows and the fitting
        models in columns (Wilson & Collins 2019, eLife, "Ten simple rules";
        the reference's matrix was the transpose). ``criterion_name_`` says,
        per fitting model, what it is (BIC or -2 log evidence).
    bic_ : DataFrame
        The same matrix (kept under its old name: with maximum-likelihood
        estimators it is the mean BIC).
    normalized_bic_ : DataFrame
        The mean criterion scaled within each generating model (row):
        -100 = the fitting model with the lowest (best) mean criterion on
        that generator's data, +100 = the highest (all -100 when they are
        equal). The reference scaled over the whole matrix, which hid the
        differences within a generator behind those between generators.
    confusion_ : DataFrame
        p(best fit | generating model): rows = generating models, columns =
        fitting models, each row sums to 1; datasets' winners by evidence
        (BIC for ML fits).
    inversion_ : DataFrame
        p(generating model | best fit), in the same orientation: each column
        sums to 1 (NaN for a fitting model that never wins).
    group_results_ : DataFrame
        Per group: the winner by random-effects BMS (``bms_winner``, its
        protected exceedance probability ``bms_pxp``, ``bor``), each fitting
        model's integrated BIC (hierarchical fits only) and the iBIC winner.
    group_identification_ : DataFrame
        Per generating model: groups, and the share of groups in which BMS
        and iBIC pick the generator.
    """

    def __init__(self, estimators: Sequence[BaseEstimator] | Mapping[str, BaseEstimator], *,
                 n_datasets: int | None = None, sampler: str = "random",
                 group_size: int | None = None, random_state: RandomStateLike = None,
                 n_jobs: int | None = None, verbose: int = 0) -> None:
        self.estimators = estimators
        self.n_datasets = n_datasets
        self.group_size = group_size
        self.sampler = sampler
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose

    def get_params(self, deep=True):
        params = super().get_params(deep=False)
        if deep:
            for name, estimator in named_estimators(self.estimators):
                params[name] = estimator
                for key, value in estimator.get_params(deep=True).items():
                    params[f"{name}__{key}"] = value
        return params

    def set_params(self, **params):
        own = {k: v for k, v in params.items() if "__" not in k and k in self._get_param_names()}
        super().set_params(**own)
        nested = {k: v for k, v in params.items() if k not in own}
        if nested:
            pairs = named_estimators(self.estimators)
            by_name = dict(pairs)
            for key, value in nested.items():
                name, _, sub = key.partition("__")
                if name not in by_name:
                    raise ValueError(f"invalid parameter {key!r} for {type(self).__name__}; "
                                     f"models are {list(by_name)}")
                if sub:
                    by_name[name].set_params(**{sub: value})
                else:
                    by_name[name] = value
            tuples = any(isinstance(item, tuple) for item in self.estimators)
            self.estimators = [(n, by_name[n]) if tuples else by_name[n] for n, _ in pairs]
        return self

    def split(self, X_learning: FrameLike | None = None,
              X_transfer: FrameLike | None = None) -> Iterator[SyntheticDataset]:
        """Yield every generating model's synthetic datasets (see :meth:`fit`)."""
        yield from self._generate(X_learning, X_transfer, check_random_state(self.random_state))

    def _generate(self, X_learning, X_transfer, rng):
        learning, transfer = resolve_templates(X_learning, X_transfer)
        n = _n_datasets(self.n_datasets, learning, transfer)
        datasets = []
        for name, estimator in named_estimators(self.estimators):
            datasets += generate_datasets(estimator, name, n, self.sampler, rng, learning,
                                          transfer)
        return datasets

    def fit(self, X_learning: FrameLike | None = None, X_transfer: FrameLike | None = None, *,
            datasets: Sequence[SyntheticDataset] | None = None) -> Self:
        """Generate (or reuse) datasets and fit every model to every dataset.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path, optional
            Template data; None for the default task design.
        datasets : list of SyntheticDataset, optional
            Reuse datasets generated earlier (for example the ``datasets_`` of
            ParameterRecovery objects or of another ModelRecovery); their
            ``model`` must name one of the estimators.

        Returns
        -------
        self
        """
        rng = check_random_state(self.random_state)
        models = named_estimators(self.estimators)
        names = [n for n, _ in models]
        if datasets is None:
            datasets = self._generate(X_learning, X_transfer, rng)
        else:
            datasets = _check_datasets(datasets)
            unknown = sorted({d.model for d in datasets} - set(names))
            if unknown:
                raise ValueError(f"datasets were generated by {unknown}, which are not among "
                                 f"the estimators {names}")
        seeds = rng.randint(MAX_SEED, size=(len(models), len(datasets)))
        generating = {d.id: d.model for d in datasets}
        generators = [n for n in names if n in set(generating.values())]
        position = {d.id: i for i, d in enumerate(datasets)}
        # Groups of datasets from one generator: the populations of hierarchical fits
        # and the units of group-level model comparison.
        group_of = {}
        for generator in generators:
            ids = [d.id for d in datasets if d.model == generator]
            size = len(ids) if self.group_size is None else self.group_size
            for g, start in enumerate(range(0, len(ids), size)):
                for pid in ids[start:start + size]:
                    group_of[pid] = (generator, g)
        jobs, calls = [], []
        for m, (_, estimator) in enumerate(models):
            if estimator.fits_jointly:
                for key in dict.fromkeys(group_of.values()):
                    members = [datasets[position[pid]] for pid, k in group_of.items()
                               if k == key]
                    jobs.append((m, key))
                    calls.append(delayed(fit_population)(
                        estimator, members, seeds[m, position[members[0].id]]))
            else:
                for group in units(list(range(len(datasets)))):
                    jobs.append((m, None))
                    calls.append(delayed(fit_unit)(
                        estimator, [datasets[i] for i in group], seeds[m, group]))
        results = []
        with ProgressBar(len(models) * len(datasets), "model recovery", "fit",
                         self.verbose) as bar:
            for result in Parallel(n_jobs=self.n_jobs, return_as="generator")(calls):
                results.append(result)
                bar.update(len(result[0] if isinstance(result, tuple) else result))
        fits, ibic = [], {}
        for (m, key), result in zip(jobs, results):
            table = result
            if isinstance(result, tuple):
                table, ibic[(names[m], key)] = result
            table = table.rename_axis("dataset").reset_index()
            table.insert(1, "generating_model", table["dataset"].map(generating))
            table.insert(2, "fitting_model", names[m])
            table.insert(3, "group", table["dataset"].map(lambda pid: group_of[pid][1]))
            fits.append(table)
        fits = pd.concat(fits, ignore_index=True)
        self.datasets_ = datasets
        self.fits_ = fits
        # Lower is better: BIC for maximum-likelihood fits, -2 x Laplace log evidence
        # for hierarchical ones (the same scale: BIC approximates -2 log evidence).
        fits["criterion"] = -2.0 * fits["evidence"]
        self.criterion_name_ = {n: e.recovery_criterion_label for n, e in models}
        self.criterion_ = (fits.pivot_table(index="generating_model", columns="fitting_model",
                                            values="criterion", aggfunc="mean")
                           .reindex(index=generators, columns=names))
        self.bic_ = self.criterion_
        shifted = self.criterion_.sub(self.criterion_.min(axis=1), axis=0)
        top = shifted.max(axis=1)
        normalized = shifted.div(top.where(top > 0), axis=0) * 200 - 100
        flat = ~(top > 0).to_numpy()
        normalized.loc[flat] = shifted.loc[flat] * 0 - 100  # keeps NaN cells NaN
        self.normalized_bic_ = normalized
        evidence = fits.pivot(index="dataset", columns="fitting_model", values="evidence")[names]
        winner = pd.Series(np.asarray(names)[np.argmax(evidence.to_numpy(), axis=1)],
                           index=evidence.index)
        counts = pd.crosstab(winner.index.map(generating), winner).reindex(
            index=generators, columns=names, fill_value=0)
        counts.index.name, counts.columns.name = "generating_model", "fitting_model"
        self.winners_ = winner.rename("best_fit")
        self.confusion_ = counts.div(counts.sum(axis=1), axis=0)
        totals = counts.sum(axis=0).replace(0, np.nan)
        self.inversion_ = counts / totals
        self.group_results_, self.group_identification_ = _group_level(
            evidence, group_of, ibic, names, generators)
        _warn_unconverged(fits.set_index(["dataset", "fitting_model"]), "model recovery")
        return self
