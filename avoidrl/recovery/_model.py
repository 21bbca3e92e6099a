"""ModelRecovery: can the models be told apart? Every model fits every model's data.

The model-comparison step of the VALIDATION flow: datasets of every
generating model (:mod:`._common`) are fitted by every model and the
winners counted, per dataset and per group of datasets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state

from .._bms import random_effects_bms
from .._utils.progress import ProgressBar
from ._common import (
    MAX_SEED, SyntheticDataset, check_datasets, dataset_count, fit_population, fit_unit,
    generate_datasets, named_estimators, resolve_templates, units, warn_unconverged,
)

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping, Sequence
    from typing import Self

    from .._utils.typing import FrameLike, RandomStateLike


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
        n = dataset_count(self.n_datasets, learning, transfer)
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
            datasets = check_datasets(datasets)
            unknown = sorted({d.model for d in datasets} - set(names))
            if unknown:
                raise ValueError(f"datasets were generated by {unknown}, which are not among "
                                 f"the estimators {names}")
        seeds = rng.randint(MAX_SEED, size=(len(models), len(datasets)))
        generating = {d.id: d.model for d in datasets}
        generators = [n for n in names if n in set(generating.values())]
        group_of = self._groups(datasets, generators)
        fits, ibic = self._fit_all(models, datasets, seeds, group_of)
        self.datasets_ = datasets
        self.fits_ = fits
        # Lower is better: BIC for maximum-likelihood fits, -2 x Laplace log evidence
        # for hierarchical ones (the same scale: BIC approximates -2 log evidence).
        fits["criterion"] = -2.0 * fits["evidence"]
        self.criterion_name_ = {n: e.recovery_criterion_label for n, e in models}
        self._criterion_matrices(fits, names, generators)
        evidence = fits.pivot(index="dataset", columns="fitting_model", values="evidence")[names]
        self._winners(evidence, generating, names, generators)
        self.group_results_, self.group_identification_ = _group_level(
            evidence, group_of, ibic, names, generators)
        warn_unconverged(fits.set_index(["dataset", "fitting_model"]), "model recovery")
        return self

    def _groups(self, datasets, generators):
        """``{dataset id: (generator, group)}``: consecutive groups of one generator's datasets.

        The populations of the fits that fit jointly, and the units of
        group-level model comparison.
        """
        group_of = {}
        for generator in generators:
            ids = [d.id for d in datasets if d.model == generator]
            size = len(ids) if self.group_size is None else self.group_size
            for g, start in enumerate(range(0, len(ids), size)):
                for pid in ids[start:start + size]:
                    group_of[pid] = (generator, g)
        return group_of

    def _fit_all(self, models, datasets, seeds, group_of):
        """Every model fitted to every dataset: the ``fits_`` table and ``{(model, group): iBIC}``.

        A model that fits jointly fits each group as one population; the
        others fit work units of datasets, each dataset from its own seed.
        """
        names = [n for n, _ in models]
        generating = {d.id: d.model for d in datasets}
        position = {d.id: i for i, d in enumerate(datasets)}
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
        return pd.concat(fits, ignore_index=True), ibic

    def _criterion_matrices(self, fits, names, generators):
        """``criterion_`` (alias ``bic_``) and ``normalized_bic_``."""
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

    def _winners(self, evidence, generating, names, generators):
        """``winners_``, ``confusion_`` and ``inversion_``: each dataset's best fit, counted."""
        winner = pd.Series(np.asarray(names)[np.argmax(evidence.to_numpy(), axis=1)],
                           index=evidence.index)
        counts = pd.crosstab(winner.index.map(generating), winner).reindex(
            index=generators, columns=names, fill_value=0)
        counts.index.name, counts.columns.name = "generating_model", "fitting_model"
        self.winners_ = winner.rename("best_fit")
        self.confusion_ = counts.div(counts.sum(axis=1), axis=0)
        totals = counts.sum(axis=0).replace(0, np.nan)
        self.inversion_ = counts / totals


def _group_level(evidence, group_of, ibic, names, generators):
    """Group-level model identification: per group of one generator's datasets.

    For each group, the winner by random-effects BMS (highest protected
    exceedance probability, on -BIC/2 of ML fits or the Laplace evidence of
    hierarchical fits) and, when every model was fitted hierarchically, the
    winner by integrated BIC (lowest).
    """
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
