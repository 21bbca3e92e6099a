"""Synthetic datasets, the fitting work units and the checks shared by the recovery objects.

Below :mod:`._parameter` (ParameterRecovery) and :mod:`._model` (ModelRecovery):
datasets are generated and fitted here, in work units whose results do not
depend on ``n_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from .._core.data import load_task_data, split_phases
from .._utils.progress import silenced
from .._utils.validation import DRAWN_SEED_LIMIT, check_n_jobs, check_picklable, check_verbose
from .._utils.warnings import warn
from .._core.simulate import default_design, simulate_frames

SAMPLERS = ("random", "normal")
#: datasets fitted together in one work unit; fixed so results never depend on n_jobs
UNIT_SIZE = 16
#: participants simulated when there are no template data and n_datasets is None
DEFAULT_N_DATASETS = 15
MAX_SEED = DRAWN_SEED_LIMIT


@dataclass(frozen=True)
class SyntheticDataset:
    """One simulated participant and the parameters that generated it.

    Attributes
    ----------
    id : str
        Participant id of the simulated data (``"{model}_{i}"``).
    model : str
        Name of the generating model.
    true_params : Series
        Generating parameters, by parameter name.
    template : object
        participant_id of the template whose trial sequence was replayed
        (None for the default task design).
    learning, transfer : DataFrame
        The simulated trials, in the input format.
    """

    id: str
    model: str
    true_params: pd.Series
    template: object
    learning: pd.DataFrame
    transfer: pd.DataFrame


def estimator_name(estimator):
    """The reference-style model name of an avoidrl estimator."""
    name = getattr(estimator, "model_name", None)
    if name is None:
        raise ValueError(f"{estimator!r} is not an avoidrl estimator (no model_name)")
    return name


def named_estimators(estimators):
    """[(name, estimator)] from estimators or (name, estimator) pairs."""
    if not isinstance(estimators, (list, tuple)) or len(estimators) < 2:
        raise ValueError("ModelRecovery needs a list of at least two estimators")
    pairs = []
    for item in estimators:
        if isinstance(item, tuple):
            if len(item) != 2:
                raise ValueError(f"expected (name, estimator) pairs, got {item!r}")
            pairs.append((str(item[0]), item[1]))
        else:
            pairs.append((estimator_name(item), item))
    names = [n for n, _ in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"model names must be unique; repeated: {duplicates}; pass "
                         "(name, estimator) pairs to tell them apart")
    return pairs


def draw_true_parameters(estimator, n, sampler, rng):
    """Generating parameters within the estimator's bounds, shape (n, k)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"sampler must be one of {list(SAMPLERS)}, got {sampler!r}")
    settings = estimator._fit_settings()
    names = settings["variant"].parameter_names
    low = np.array([settings["bounds"][p][0] for p in names])
    high = np.array([settings["bounds"][p][1] for p in names])
    if sampler == "random":
        return low + (high - low) * rng.random_sample((n, len(names)))
    centre = np.array([settings["init"][p] for p in names])
    spread = (high - low) / 15.0
    return np.clip(centre + spread * rng.standard_normal((n, len(names))), low, high)


def generating_model(estimator, generating_bounds):
    """The model estimator whose bounds (and start values) generating parameters are drawn in.

    ``generating_bounds=None`` keeps the estimator's own bounds. Otherwise
    the named parameters are drawn within the given bounds, whatever bounds
    the estimator fits with, and the 'normal' sampler centres on the model's
    default start values (clipped into these bounds), so estimators that
    differ only in their bounds generate the same parameters.
    """
    model = estimator.simulator
    if generating_bounds is None:
        return model
    if not hasattr(generating_bounds, "items"):
        raise ValueError("generating_bounds must be None or a dict mapping parameter names to "
                         f"(low, high), got {generating_bounds!r}")
    names = model.parameter_names
    unknown = sorted(set(generating_bounds) - set(names), key=str)
    if unknown:
        raise ValueError(f"generating_bounds: unknown parameter(s) {unknown} for "
                         f"{estimator_name(model)}; its parameters are {list(names)}")
    generator = clone(model).set_params(bounds={**(model.bounds or {}), **generating_bounds},
                                        init=None)
    try:
        generator._fit_settings()
    except ValueError as exc:
        raise ValueError(f"generating_bounds: {exc}") from None
    return generator


def generate_datasets(estimator, name, n_datasets, sampler, rng, learning=None, transfer=None):
    """Simulate ``n_datasets`` participants of one model.

    With template data, dataset i replays template participant i modulo the
    number of templates; otherwise each gets a fresh default task design.
    """
    variant = estimator._variant()
    true = draw_true_parameters(estimator, n_datasets, sampler, rng)
    ids = [f"{name}_{i}" for i in range(n_datasets)]
    seed = rng.randint(MAX_SEED)
    sim_rng = np.random.RandomState(seed)
    if learning is None:
        learning, transfer = default_design(ids, sim_rng)
        template_ids = ids
        templates = [None] * n_datasets
    else:
        participants = load_task_data(learning, transfer).participants
        templates = [participants[i % len(participants)] for i in range(n_datasets)]
        template_ids = templates
    sim_learning, sim_transfer = simulate_frames(
        variant, true, ids, learning, transfer, template_ids, sim_rng,
        group_codes=[name] * n_datasets)
    by_id_l = dict(tuple(sim_learning.groupby("participant_id", sort=False)))
    by_id_t = dict(tuple(sim_transfer.groupby("participant_id", sort=False)))
    names = list(variant.parameter_names)
    return [
        SyntheticDataset(id=pid, model=name, true_params=pd.Series(true[i], index=names, name=pid),
                         template=templates[i], learning=by_id_l[pid].reset_index(drop=True),
                         transfer=by_id_t[pid].reset_index(drop=True))
        for i, pid in enumerate(ids)
    ]


def resolve_templates(X_learning, X_transfer):
    """Template frames, or (None, None) for the default design."""
    if X_learning is None and X_transfer is None:
        return None, None
    learning, transfer = split_phases(X_learning, X_transfer)
    load_task_data(learning, transfer)  # validate now, with clear errors
    return learning, transfer


def fit_unit(estimator, datasets, seeds, intervals=False):
    """Fit a clone of ``estimator`` to a group of datasets (one work unit).

    Each dataset's starts come from its own seed, so the result does not
    depend on how datasets are grouped into units.

    Returns
    -------
    DataFrame indexed by dataset id: the fitted parameters, nll, bic, aic,
    n_trials, converged, evidence (-BIC/2, the log-evidence approximation that
    model comparison uses), optimum_hits (starts that reached the best optimum)
    and confirmed. With ``intervals=True``, ``(table, params_ci_)``: the
    fits' intervals too (a parameter recovery measures their coverage).
    """
    estimator = clone(estimator).set_params(n_jobs=1, verbose=0)
    learning = pd.concat([d.learning for d in datasets], ignore_index=True)
    transfer = pd.concat([d.transfer for d in datasets], ignore_index=True)
    data = load_task_data(learning, transfer)
    settings = estimator._fit_settings()
    with silenced():  # the recovery reports its own progress, by dataset
        estimator._fit_data(data, [np.random.SeedSequence(int(seed)) for seed in seeds],
                            settings, warn=False, intervals=intervals)
    table = estimator.params_.copy()
    table["nll"] = estimator.nll_
    table["aic"] = estimator.aic_
    table["bic"] = estimator.bic_
    table["n_trials"] = estimator.n_trials_
    table["converged"] = estimator.converged_
    table["evidence"] = estimator.evidence_
    table["optimum_hits"] = estimator.optimum_hits_
    table["confirmed"] = (estimator.optimum_hits_ >= 2) | (settings["start"] == "fixed")
    return (table, estimator.params_ci_) if intervals else table


def fit_population(estimator, datasets, seed, intervals=False, keep=False):
    """Fit a clone of an ``estimator`` that fits jointly to datasets as one population.

    The population is the unit: one participant alone has no prior to learn
    (``fits_jointly``, e.g. EmpiricalBayes).

    Returns
    -------
    table : DataFrame indexed by dataset id (fitted parameters, nll,
        log_evidence, evidence, n_trials, converged = EM converged)
    ibic : float
        The fit's integrated BIC (NaN for a method without one).
    intervals : DataFrame
        With ``intervals=True`` only: the fit's ``params_ci_``, indexed by
        (dataset id, parameter).
    fitted : estimator
        With ``keep=True`` only: the fitted clone (its posterior draws, ...).
    """
    estimator = clone(estimator).set_params(random_state=int(seed), n_jobs=1, verbose=0)
    learning = pd.concat([d.learning for d in datasets], ignore_index=True)
    transfer = pd.concat([d.transfer for d in datasets], ignore_index=True)
    with silenced():
        estimator.fit(learning, transfer)
    table = estimator.params_.copy()
    table["nll"] = estimator.nll_
    table["log_evidence"] = estimator.evidence_
    table["evidence"] = estimator.evidence_
    table["n_trials"] = estimator.n_trials_
    table["converged"] = bool(estimator.converged_)
    table["confirmed"] = True
    ibic = float(getattr(estimator, "ibic_", np.nan))
    out = (table, ibic) + ((estimator.params_ci_,) if intervals else ()) \
        + ((estimator,) if keep else ())
    return out


def units(items, size=UNIT_SIZE):
    """Split a list into consecutive groups of at most ``size``."""
    return [items[i:i + size] for i in range(0, len(items), size)]


def dataset_count(n_datasets, learning, transfer):
    """The number of datasets per model: ``n_datasets`` checked, or the default."""
    if n_datasets is None:
        if learning is None:
            return DEFAULT_N_DATASETS
        return len(pd.unique(learning["participant_id"]))
    if isinstance(n_datasets, bool) or not isinstance(n_datasets, (int, np.integer)) \
            or n_datasets < 1:
        raise ValueError(f"n_datasets must be a positive integer, got {n_datasets!r}")
    return int(n_datasets)


def warn_unconverged(table, what):
    """One ConvergenceWarning per kind of fit problem, naming the fits."""
    for column, problem in (("converged", "the best start did not converge"),
                            ("confirmed", "the best optimum was reached by only one start "
                                          "(raise the estimator's max_starts)")):
        failed = table.index[~table[column].to_numpy(bool)]
        if len(failed):
            warn(f"{what}: {problem} for {len(failed)} of {len(table)} fits "
                 f"({', '.join(map(str, failed[:5]))}{' ...' if len(failed) > 5 else ''}); "
                 f"see the {column!r} column of the results", ConvergenceWarning)


def check_run_settings(recovery, estimators):
    """A recovery's ``n_jobs`` and ``verbose``, and that its estimators reach the workers.

    Checked before any dataset is made, so that a wrong setting is a
    ValueError naming it rather than joblib's or tqdm's error midway.
    """
    check_n_jobs(recovery.n_jobs)
    check_verbose(recovery.verbose)
    for name, estimator in estimators:
        check_picklable(estimator, f"the estimator {name!r}", recovery.n_jobs)


def check_datasets(datasets):
    """Given datasets, checked: a non-empty list of SyntheticDataset with unique ids."""
    datasets = list(datasets)
    if not datasets or not all(isinstance(d, SyntheticDataset) for d in datasets):
        raise ValueError("datasets must be a non-empty list of SyntheticDataset")
    ids = [d.id for d in datasets]
    if len(set(ids)) != len(ids):
        raise ValueError("dataset ids must be unique")
    return datasets
