"""The FIT and VALIDATION workflows shared by the ``avoidrl`` command and :class:`Pipeline`.

Both front ends translate their own vocabulary (command-line options, the
reference's ``Pipeline.run`` keywords) into one call of :func:`run_fit` or
:func:`run_validation`, so the same settings and seed give the same output
folder whichever front end is used.

Seeding
-------
``seed`` is an int or None. A FIT gives every model ``random_state=seed``, so
``avoidrl fit --models M --seed S`` fits M exactly as
``make_model(M, random_state=S).fit(learning, transfer)`` does, whatever the
other models are. Recovery gives each model its own seed derived from ``seed``
and the model's name (:func:`recovery_seed`), so the generating models'
datasets are independent; model recovery fits the very datasets that
parameter recovery with the same seed generated.

Without a seed, the front ends draw one (:func:`draw_seed`), use it, print
or return it and record it in the summaries, so every run can be repeated.
"""

from __future__ import annotations

import numbers
import os
import pickle
import secrets
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..report import _folder
from .._core.data import load_task_data, read_frame
from ..models._builtin import BASE_MODELS, parse_model_name
from ..report._figures import check_formats
from .._core.simulate import default_design
from .._tables import DEFAULT_N_SIMULATIONS
from ..datasets import load_example
from ..estimators import make_model
from ..hierarchical import EmpiricalBayes
from ..priors import base_parameters
from ..recovery import ModelRecovery, ParameterRecovery, SyntheticDataset

#: The reference's FIT and VALIDATION scripts (RL_fit_main.py, RL_validation_main.py) use these.
DEFAULT_MODELS = ("QLearning+novel", "ActorCritic+novel", "Relative+novel", "Advantage+novel",
                  "Hybrid2012+novel")
DEFAULT_OUT_DIR = "modelling"
START_MODES = ("normal", "random", "fixed")
SAMPLERS = ("random", "normal")
RECOVERY_KINDS = ("parameter", "model", "both")
#: 'ml': maximum likelihood per participant; 'eb': empirical Bayes (EmpiricalBayes).
METHODS = ("ml", "eb")
#: transfer pairs of the task: the 36 pairs of the 9 stimuli but AC, BD, EG and FH
TRANSFER_PAIRS = 32
_MAX_SEED = np.iinfo(np.int32).max


class Progress:
    """Progress reporting hooks; this base class reports nothing.

    ``start(total)`` announces the number of steps, ``begin(label)`` names
    the step now running, ``advance()`` marks it done, ``close()`` ends.
    """

    def start(self, total):
        pass

    def begin(self, label):
        pass

    def advance(self):
        pass

    def close(self):
        pass


# ------------------------------------------------------------------ checks
def check_models(models, *, at_least=1, what="models"):
    """Canonical names of ``models``, validated.

    Raises a ValueError for a misspelt name (listing the valid bases and
    options), an option the base does not take, a repeated model or too
    few models.
    """
    if isinstance(models, str):
        models = [models]
    if models is None or not hasattr(models, "__iter__"):
        raise ValueError(f"{what} must be a list of model names such as {list(DEFAULT_MODELS[:2])}")
    names = []
    for name in models:
        if not isinstance(name, str):
            raise ValueError(f"{what}: a model name must be a string, got {name!r}")
        try:
            names.append(make_model(name).model_name)
        except ValueError as exc:
            raise ValueError(f"{what}: {exc}") from None
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what}: model(s) {repeated} given more than once")
    if len(names) < at_least:
        raise ValueError(f"{what}: need at least {at_least} model(s), got {len(names)}")
    return names


def check_count(value, what, *, allow_none=True):
    """A positive int (or None when allowed)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return int(value)


def check_seed(seed):
    """None or a non-negative int below 2**32."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) \
            or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be None or an integer in [0, 2**32), got {seed!r}")
    return int(seed)


def draw_seed():
    """A fresh seed in [0, 2**32), for runs given none (recorded, so they can be repeated)."""
    return secrets.randbelow(2 ** 32)


def check_choice(value, choices, what):
    if value not in choices:
        raise ValueError(f"{what} must be one of {list(choices)}, got {value!r}")
    return value


def check_base_table(table, what, *, pairs):
    """Validate a ``{Base: {parameter: value}}`` table (``bounds`` or ``init``).

    Bases must be valid base names; parameters must belong to the base or to
    one of the options it takes. Returns a new dict with ``(low, high)``
    tuples of floats when ``pairs`` (bounds), floats otherwise (start
    values); whether start values lie within the bounds is checked by the
    estimators.
    """
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ValueError(f"{what} must be a dict {{Base: {{parameter: value}}}}, got "
                         f"{type(table).__name__}")
    checked = {}
    for base, entries in table.items():
        if base not in BASE_MODELS:
            hint = ""
            if isinstance(base, str) and "+" in base:
                hint = f" (key by the base name without options, e.g. {base.split('+')[0]!r})"
            raise ValueError(f"{what}: unknown base model {base!r}{hint}; valid bases are "
                             f"{sorted(BASE_MODELS)}")
        if not isinstance(entries, dict):
            raise ValueError(f"{what}[{base!r}] must be a dict {{parameter: value}}, got "
                             f"{entries!r}")
        valid = [p.name for p in base_parameters(base)]
        # The reference's own tables give ActorCritic a decay_factor; accept any
        # option parameter (it is used only when its option is on).
        accepted = valid + [n for n in ("valence_factor", "novel_value", "decay_factor")
                            if n not in valid]
        checked[base] = {}
        for name, value in entries.items():
            if name not in accepted:
                raise ValueError(f"{what}[{base!r}]: unknown parameter {name!r}; {base}'s "
                                 f"parameters are {valid}")
            where = f"{what}[{base!r}][{name!r}]"
            checked[base][name] = _bound_pair(value, where) if pairs else _number(value, where)
    return checked


def _number(value, what):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{what} must be a number, got {value!r}")
    return float(value)


def _bound_pair(value, what):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ValueError(f"{what} must be a (low, high) pair of numbers, got {value!r}")
    low, high = (_number(v, what) for v in value)
    if not low < high:
        raise ValueError(f"{what} = {value!r}: need low < high")
    return (low, high)


def model_settings(name, bounds_table, init_table):
    """The estimator's ``bounds`` and ``init`` for one model from the per-base tables.

    Only the model's own parameters are kept, and only values that differ
    from the defaults, so passing ``fixed_priors(models)`` gives the same
    estimator (and the same output files) as passing nothing.
    """
    base, _ = parse_model_name(name)
    defaults = {p.name: p for p in make_model(name)._variant().parameters}
    bounds = {p: v for p, v in bounds_table.get(base, {}).items()
              if p in defaults and v != defaults[p].bounds}
    init = {p: v for p, v in init_table.get(base, {}).items()
            if p in defaults and v != defaults[p].init}
    return bounds or None, init or None


def build_estimators(models, *, bounds=None, init=None, start=None, n_starts=None,
                     random_state=None, n_jobs=None):
    """One validated estimator per model name: ``{name: estimator}``.

    ``bounds`` and ``init`` are per-base tables (see :func:`check_base_table`).
    Every setting is checked here, before any fitting starts.
    """
    bounds_table = check_base_table(bounds, "bounds", pairs=True)
    init_table = check_base_table(init, "init", pairs=False)
    estimators = {}
    for name in models:
        model_bounds, model_init = model_settings(name, bounds_table, init_table)
        estimator = make_model(name, bounds=model_bounds, init=model_init, start=start,
                               n_starts=n_starts, random_state=random_state, n_jobs=n_jobs)
        try:
            estimator._fit_settings()  # bounds, start values, start mode, n_starts
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        estimators[name] = estimator
    return estimators


def default_starts_text():
    """The estimators' default start modes and numbers of starts, in words."""
    from ..estimators import ESTIMATORS

    by_setting = {}
    for name, cls in ESTIMATORS.items():
        by_setting.setdefault((cls._default_start, cls._default_n_starts), []).append(name)
    return "; ".join(f"{n} {start} starts for {', '.join(names)}"
                     for (start, n), names in by_setting.items())


def empirical_bayes(estimators, *, random_state=None, n_jobs=None):
    """Each estimator wrapped in :class:`EmpiricalBayes` (its settings checked): ``{name: EB}``.

    The EB estimators use the models' bounds (the logit transform) and
    optimizer options; the models' start values and starts are not used.
    """
    wrapped = {}
    for name, estimator in estimators.items():
        eb = EmpiricalBayes(estimator, random_state=random_state, n_jobs=n_jobs)
        try:
            eb._settings()
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}") from None
        wrapped[name] = eb
    return wrapped


def recovery_seed(seed, name):
    """The seed of one model's recovery, derived from ``seed`` and the model name."""
    if seed is None:
        return None
    sequence = np.random.SeedSequence([seed, zlib.crc32(name.encode("utf-8"))])
    return int(sequence.generate_state(1)[0] % _MAX_SEED)


# -------------------------------------------------------------------- data
def load_data(learning=None, transfer=None, n_participants=None):
    """The task data: the given CSVs/frames, or the bundled example data.

    Both phases or neither must be given. ``n_participants`` keeps the
    first N participants in order of first appearance in the learning data.
    The data are validated here (a ValueError names the problem).
    """
    if (learning is None) != (transfer is None):
        given, missing = ("learning", "transfer") if transfer is None else ("transfer", "learning")
        raise ValueError(f"the {given} data were given without the {missing} data; give both "
                         "(or neither, for the bundled example data)")
    if learning is None:
        learning, transfer = load_example()
    else:
        learning = read_frame(learning, "learning data")
        transfer = read_frame(transfer, "transfer data")
    n_participants = check_count(n_participants, "the number of participants")
    if n_participants is not None:
        if "participant_id" not in learning.columns:
            raise ValueError("learning data: column 'participant_id' is missing")
        ids = pd.unique(learning["participant_id"])
        if n_participants > len(ids):
            raise ValueError(f"asked for the first {n_participants} participants, but the data "
                             f"hold {len(ids)}")
        keep = set(ids[:n_participants])
        learning = learning[learning["participant_id"].isin(keep)].reset_index(drop=True)
        if "participant_id" in transfer.columns:
            transfer = transfer[transfer["participant_id"].isin(keep)].reset_index(drop=True)
    load_task_data(learning, transfer)
    return learning, transfer


def check_out_dir(out_dir, kinds, planned, *, inputs=(), overwrite=False):
    """Check the output folder before any work: what the run will write may be written there.

    Refuses (FileExistsError, naming the files) to replace an existing file
    unless avoidrl wrote it and ``overwrite`` is given; refuses (ValueError)
    a folder that holds the input files; see :mod:`avoidrl.report._folder`.
    """
    return _folder.check(out_dir, kinds, planned, inputs=inputs, overwrite=overwrite)


def _paths(*items):
    """The items that are file paths (inputs given as DataFrames have no path)."""
    return [item for item in items if isinstance(item, (str, os.PathLike))]


def task_design_templates(task_design, n_datasets, seed):
    """Template participants on a task design given the reference's way.

    ``task_design = {'learning_phase': {'number_of_trials': T, 'number_of_blocks': B},
    'transfer_phase': {'times_repeated': R}}`` (or ``'number_of_trials'`` in the
    transfer phase, a multiple of 32). The learning phase has ``T * B / 4``
    trials per pair; avoidrl interleaves the pairs in rounds of one trial
    each (the reference shuffles whole blocks), with the same outcome
    probabilities. Returns ``(learning, transfer)`` frames of
    ``n_datasets`` template participants.
    """
    if not isinstance(task_design, dict):
        raise ValueError("task_design must be a dict with 'learning_phase' and 'transfer_phase'")
    unknown = sorted(set(task_design) - {"learning_phase", "transfer_phase"})
    if unknown:
        raise ValueError(f"task_design: unknown key(s) {unknown}; valid: "
                         "['learning_phase', 'transfer_phase']")
    learning = task_design.get("learning_phase", {"number_of_trials": 24,
                                                  "number_of_blocks": 4})
    transfer = task_design.get("transfer_phase", {"times_repeated": 12})
    if not isinstance(learning, dict) or set(learning) - {"number_of_trials", "number_of_blocks"}:
        raise ValueError("task_design['learning_phase'] must be a dict with number_of_trials "
                         f"and number_of_blocks, got {learning!r}")
    trials = check_count(learning.get("number_of_trials", 24),
                         "task_design['learning_phase']['number_of_trials']", allow_none=False)
    blocks = check_count(learning.get("number_of_blocks", 4),
                         "task_design['learning_phase']['number_of_blocks']", allow_none=False)
    if (trials * blocks) % 4:
        raise ValueError("task_design: number_of_trials x number_of_blocks must be a multiple "
                         f"of 4 (the learning pairs), got {trials} x {blocks}")
    if not isinstance(transfer, dict) or len(transfer) != 1 \
            or set(transfer) - {"times_repeated", "number_of_trials"}:
        raise ValueError("task_design['transfer_phase'] must be a dict with either "
                         f"times_repeated or number_of_trials, got {transfer!r}")
    if "times_repeated" in transfer:
        repeats = check_count(transfer["times_repeated"],
                              "task_design['transfer_phase']['times_repeated']", allow_none=False)
    else:
        n_trials = check_count(transfer["number_of_trials"],
                               "task_design['transfer_phase']['number_of_trials']",
                               allow_none=False)
        if n_trials % TRANSFER_PAIRS:
            raise ValueError(
                f"task_design['transfer_phase']['number_of_trials'] = {n_trials}: avoidrl "
                f"shows each of the {TRANSFER_PAIRS} transfer pairs equally often, so it must be "
                f"a multiple of {TRANSFER_PAIRS} (or give times_repeated)")
        repeats = n_trials // TRANSFER_PAIRS
    ids = [f"design_{i}" for i in range(n_datasets)]
    rng = np.random.RandomState(recovery_seed(seed, "task_design"))
    return default_design(ids, rng, trials_per_pair=trials * blocks // 4,
                          transfer_repeats=repeats)


def read_fit_parameters(path, models):
    """Per-model tables of fitted parameters from a ``fit_data*.pkl`` file.

    The pickle holds ``{model: DataFrame}`` with one row per participant
    (a ``participant`` or ``participant_id`` column, or the index) and one
    column per parameter, as the reference's and avoidrl's FIT folders do.
    Returns ``{model: DataFrame indexed by participant}``.
    """
    path = Path(os.fspath(path))
    if not path.is_file():
        raise ValueError(f"fit file '{path}' does not exist")
    try:
        with path.open("rb") as handle:
            content = pickle.load(handle)
    except Exception as exc:  # any unpickling failure is a bad input file
        raise ValueError(f"could not read fit file '{path}' as a pickle ({exc})") from None
    if not isinstance(content, dict):
        raise ValueError(f"fit file '{path}' must hold a dict {{model: DataFrame}}, got "
                         f"{type(content).__name__}")
    tables = {}
    for name in models:
        matches = [key for key in content if isinstance(key, str) and _same_model(key, name)]
        if not matches:
            raise ValueError(f"fit file '{path}' has no fits of {name}; it holds "
                             f"{sorted(map(str, content))}")
        tables[name] = _indexed_by_participant(content[matches[0]], f"{path.name}[{name!r}]")
    return tables


def _same_model(key, name):
    try:
        return make_model(key).model_name == name
    except ValueError:
        return False


def _indexed_by_participant(table, what):
    if not isinstance(table, pd.DataFrame):
        raise ValueError(f"{what} must be a DataFrame, got {type(table).__name__}")
    for column in ("participant", "participant_id"):
        if column in table.columns:
            return table.set_index(column)
    return table


def parameter_datasets(estimator, name, table, learning, transfer, rng):
    """Synthetic datasets of one model at given generating parameters.

    Row i of ``table`` generates dataset ``"{name}_{i}"``. With template data,
    a row whose index names a template participant replays that participant
    (rows of a fit file); otherwise row i replays template i modulo the
    number of templates.
    """
    names = list(estimator.parameter_names)
    if isinstance(table, (dict, pd.Series)):
        table = pd.DataFrame([dict(table)])
    if not isinstance(table, pd.DataFrame) or len(table) == 0:
        raise ValueError(f"parameters[{name!r}] must be a non-empty DataFrame (one row per "
                         "dataset) or a dict of parameter values")
    missing = [p for p in names if p not in table.columns]
    if missing:
        raise ValueError(f"parameters of {name}: missing column(s) {missing}; {name}'s "
                         f"parameters are {names}")
    participants = list(load_task_data(learning, transfer).participants)
    by_participant = set(map(str, table.index)) <= set(map(str, participants))
    datasets = []
    for i, (index, row) in enumerate(table.iterrows()):
        template = index if by_participant else participants[i % len(participants)]
        template = next(p for p in participants if str(p) == str(template))
        pid = f"{name}_{i}"
        values = pd.DataFrame([row[names].astype(float)], index=pd.Index([template],
                                                                            name="participant_id"))
        sim_learning, sim_transfer = estimator.sample(
            learning[learning["participant_id"] == template],
            transfer[transfer["participant_id"] == template], params=values, random_state=rng)
        for frame in (sim_learning, sim_transfer):
            frame["participant_id"] = pid
            frame["group_code"] = name
        datasets.append(SyntheticDataset(
            id=pid, model=name, true_params=pd.Series(values.iloc[0].to_numpy(), index=names,
                                                      name=pid),
            template=template, learning=sim_learning.reset_index(drop=True),
            transfer=sim_transfer.reset_index(drop=True)))
    return datasets


# -------------------------------------------------------------- workflows
@dataclass
class FitRun:
    """What :func:`run_fit` did: the fitted models and where the folder is."""

    out_dir: Path
    models: dict
    n_participants: int
    groups: list
    method: str = "ml"

    @property
    def mean_bic(self):
        """Mean BIC over participants, per model (maximum-likelihood fits only)."""
        if self.method != "ml":
            raise AttributeError("empirical-Bayes fits have no BIC; see mean_laplace and ibic")
        return pd.Series({name: float(est.bic_.mean()) for name, est in self.models.items()},
                         name="mean_bic")

    @property
    def mean_laplace(self):
        """Mean -2 x Laplace log evidence over participants, per model (EB fits only)."""
        return pd.Series({name: float(-2.0 * est.log_evidence_.mean())
                          for name, est in self.models.items()}, name="mean_laplace")

    @property
    def ibic(self):
        """Integrated BIC per model (EB fits only)."""
        return pd.Series({name: float(est.ibic_) for name, est in self.models.items()},
                         name="ibic")

    @property
    def best_model(self):
        """Lowest mean BIC (ML), or lowest iBIC (EB: the group-level comparison)."""
        return (self.mean_bic if self.method == "ml" else self.ibic).idxmin()

    def summary_lines(self):
        lines = [f"fitted {len(self.models)} model(s) to {self.n_participants} participants "
                 f"({len(self.groups)} group(s): {', '.join(map(str, self.groups))})"
                 + (" by empirical Bayes" if self.method == "eb" else "")]
        width = max(len(n) for n in self.models)
        if self.method == "ml":
            lines.append("mean BIC per participant (lower is better):")
            table = {name: (f"{value:10.2f}",) for name, value in self.mean_bic.items()}
        else:
            lines.append("mean -2 x Laplace log evidence per participant, and iBIC (lower is "
                         "better):")
            table = {name: (f"{self.mean_laplace[name]:10.2f}", f"iBIC {self.ibic[name]:10.2f}")
                     for name in self.models}
        for name, values in table.items():
            mark = "  <- best" if name == self.best_model else ""
            lines.append(f"  {name:<{width}}  {'  '.join(values)}{mark}")
        lines.append(f"best model{' (by iBIC)' if self.method == 'eb' else ''}: "
                     f"{self.best_model}")
        lines.append(f"results written to {self.out_dir}")
        return lines


@dataclass
class ValidationRun:
    """What :func:`run_validation` did."""

    out_dir: Path
    parameter_recovery: dict = field(default_factory=dict)
    model_recovery: object = None

    @property
    def datasets(self):
        """The synthetic datasets, by generating model (for a later model recovery)."""
        if self.parameter_recovery:
            return {n: list(r.datasets_) for n, r in self.parameter_recovery.items()}
        if self.model_recovery is not None:
            out = {}
            for d in self.model_recovery.datasets_:
                out.setdefault(d.model, []).append(d)
            return out
        return {}

    def summary_lines(self):
        lines = []
        if self.parameter_recovery:
            lines.append("parameter recovery: Pearson r of true vs fitted values")
            for name, recovery in self.parameter_recovery.items():
                r = ", ".join(f"{p} {v:.2f}" for p, v in recovery.correlations_.items())
                lines.append(f"  {name} ({len(recovery.datasets_)} datasets): {r}")
        if self.model_recovery is not None:
            confusion = self.model_recovery.confusion_
            bic = self.model_recovery.bic_
            # EB fits are compared by Laplace evidence: name the criterion the matrix holds
            names = set(getattr(self.model_recovery, "criterion_name_", {"": "BIC"}).values())
            criterion = names.pop() if len(names) == 1 else "criterion"
            lines.append(f"model recovery: best fit (by mean {criterion}) for each generating "
                         "model")
            # rows = generating models, columns = fitting models
            width = max(len(str(n)) for n in bic.index)
            best_width = max(len(str(n)) for n in bic.columns)
            for generator in bic.index:
                best = bic.loc[generator].idxmin()
                share = confusion.loc[generator, generator] if generator in confusion.columns \
                    else np.nan
                lines.append(f"  {generator:<{width}} -> {best:<{best_width}}  (recovered in "
                             f"{100 * share:.0f}% of datasets)")
        lines.append(f"results written to {self.out_dir}")
        return lines


def _sub_steps(progress):
    """The report's progress callback: its steps show as labels of the current step."""
    return lambda message: progress.begin(f"writing the report: {message}")


def _report():
    from ..report import _write  # imported late: plotting pulls in matplotlib

    return _write


def run_fit(out_dir=DEFAULT_OUT_DIR, models=DEFAULT_MODELS, learning=None, transfer=None, *,
            n_participants=None, bounds=None, init=None, start=None, n_starts=None,
            seed=None, n_jobs=None, overwrite=False, progress=None, seed_drawn=False,
            method="ml", n_simulations=DEFAULT_N_SIMULATIONS, formats=None):
    """Fit every model to the data and write the FIT into the study folder.

    Parameters
    ----------
    out_dir : path
        The study folder (see :mod:`avoidrl.report._folder`: the FIT's files are
        added; files avoidrl wrote are replaced only with ``overwrite``).
    models : list of str
        Reference-style model names.
    learning, transfer : path or DataFrame, optional
        The task data; both None for the bundled example data.
    n_participants : int, optional
        Keep the first N participants.
    bounds, init : dict, optional
        ``{Base: {parameter: (low, high)}}`` and ``{Base: {parameter: value}}``.
    start, n_starts, n_jobs
        As the estimators' parameters (None: each model's own default).
    seed : int, optional
        Every model is fitted with ``random_state=seed``; the report's
        simulations use it too.
    overwrite : bool
    progress : Progress, optional
    seed_drawn : bool
        Recorded in the summary: the front end drew ``seed``.
    method : {'ml', 'eb'}
        'ml': maximum likelihood per participant. 'eb': each model is fitted
        by ``EmpiricalBayes(make_model(name, bounds=...), random_state=seed,
        n_jobs=n_jobs)``; ``init``, ``start`` and ``n_starts`` are checked but
        not used (EB starts its MAP searches from the prior).
    n_simulations : int
        Posterior-predictive simulations per participant and model.
    formats : list of str, optional
        Figure formats (None: the reference's files); see
        :func:`avoidrl.report.write_fit_report`. The report's figures are
        drawn by ``n_jobs`` processes.

    Returns
    -------
    FitRun
    """
    progress = progress or Progress()
    check_choice(method, METHODS, "method")
    models = check_models(models)
    check_choice(start, START_MODES + (None,), "start")
    seed = check_seed(seed)
    n_simulations = check_count(n_simulations, "n_simulations", allow_none=False)
    formats = check_formats(formats)
    estimators = build_estimators(models, bounds=bounds, init=init, start=start,
                                  n_starts=check_count(n_starts, "n_starts"),
                                  random_state=seed, n_jobs=n_jobs)
    if method == "eb":
        # rebuilt without the start settings, so the recorded settings are the ones used
        estimators = empirical_bayes(
            build_estimators(models, bounds=bounds, random_state=seed, n_jobs=n_jobs),
            random_state=seed, n_jobs=n_jobs)
    inputs = _paths(learning, transfer)
    learning, transfer = load_data(learning, transfer, n_participants)
    groups = pd.unique(learning["group_code"]) if "group_code" in learning.columns else []
    out_dir = check_out_dir(out_dir, ("FIT",),
                            _report().fit_files(estimators, groups, method=method,
                                                formats=formats),
                            inputs=inputs, overwrite=overwrite)
    progress.start(len(estimators) + 1)
    for name, estimator in estimators.items():
        progress.begin(f"fitting {name}")
        estimator.fit(learning, transfer)
        progress.advance()
    progress.begin("writing the report")
    out_dir = _report().write_fit_report(out_dir, estimators, learning, transfer,
                                         random_state=seed, overwrite=overwrite,
                                         progress=_sub_steps(progress), inputs=inputs,
                                         run_info={"seed": seed, "seed_drawn": seed_drawn},
                                         n_simulations=n_simulations, formats=formats,
                                         n_jobs=n_jobs)
    progress.advance()
    progress.begin("done")
    progress.close()
    first = next(iter(estimators.values()))
    return FitRun(out_dir=out_dir, models=estimators, n_participants=len(first.params_),
                  groups=list(pd.unique(first.groups_)), method=method)


def run_validation(out_dir=DEFAULT_OUT_DIR, models=DEFAULT_MODELS, recovery="parameter",
                   learning=None, transfer=None, *, n_participants=None, n_datasets=None,
                   sampler="random", bounds=None, init=None, start=None, n_starts=None,
                   seed=None, n_jobs=None, task_design=None, parameters=None,
                   datasets=None, keep_parameter_recovery=None, overwrite=False,
                   progress=None, seed_drawn=False, method="ml", formats=None):
    """Parameter and/or model recovery, written to a VALIDATION folder.

    Parameters
    ----------
    out_dir : path
    models : list of str
    recovery : {'parameter', 'model', 'both'}
        'both' runs parameter recovery, then model recovery on the same
        datasets.
    learning, transfer : path, DataFrame or None
        Template data: each synthetic dataset replays one template
        participant's trials and outcomes. Both None: the standard task
        design (or ``task_design``).
    n_participants : int, optional
        Keep the first N template participants.
    n_datasets : int, optional
        Datasets per model (None: one per template participant, or 15 on the
        task design).
    sampler : {'random', 'normal'}
        How generating parameters are drawn.
    bounds, init, start, n_starts, n_jobs
        As in :func:`run_fit`; the recovery fits use the estimators' starts.
    seed : int, optional
        Each model's recovery is seeded with :func:`recovery_seed`.
    task_design : dict, optional
        The reference's task design (see :func:`task_design_templates`);
        only without template data.
    parameters : dict, optional
        ``{model: DataFrame}`` of generating parameters (one row per dataset,
        or indexed by template participant), instead of drawing them.
    datasets : dict, optional
        ``{model: [SyntheticDataset]}`` made by an earlier run (reused as is).
    keep_parameter_recovery : dict, optional
        ``{model: fitted ParameterRecovery}`` of an earlier run, written to
        the folder along with this run's model recovery (whose datasets they
        provide unless ``datasets`` is given); only with ``recovery='model'``.
    overwrite : bool
    progress : Progress, optional
    seed_drawn : bool
        Recorded in the summaries: the front end drew ``seed``.
    method : {'ml', 'eb'}
        'eb': every model is wrapped in ``EmpiricalBayes``, so each recovery
        fits a generator's synthetic participants jointly, as one population
        (seeded by the recovery objects); ``init``, ``start`` and ``n_starts``
        are then not used.
    formats : list of str, optional
        Figure formats (None: PNG); see
        :func:`avoidrl.report.write_validation_report`.

    Returns
    -------
    ValidationRun
    """
    progress = progress or Progress()
    check_choice(method, METHODS, "method")
    check_choice(recovery, RECOVERY_KINDS, "recovery")
    models = check_models(models, at_least=1 if recovery == "parameter" else 2,
                          what="models" if recovery == "parameter"
                          else "models (model recovery compares models)")
    check_choice(start, START_MODES + (None,), "start")
    check_choice(sampler, SAMPLERS, "sampler")
    seed = check_seed(seed)
    n_datasets = check_count(n_datasets, "the number of datasets")
    formats = check_formats(formats)
    estimators = build_estimators(models, bounds=bounds, init=init, start=start,
                                  n_starts=check_count(n_starts, "n_starts"),
                                  random_state=None, n_jobs=None)
    # the models simulate the datasets; with 'eb' their EmpiricalBayes wrappers fit them
    fitters = estimators if method == "ml" else empirical_bayes(
        build_estimators(models, bounds=bounds, random_state=None, n_jobs=None))
    inputs = _paths(learning, transfer)
    if task_design is not None and learning is not None:
        raise ValueError("task_design applies only without template data (the templates' "
                         "trial sequences are replayed); give one or the other")
    if learning is None and transfer is None:
        if n_participants is not None:
            raise ValueError("the number of participants applies to template data; without "
                             "them, give the number of datasets")
        if task_design is not None:
            learning, transfer = task_design_templates(task_design, n_datasets or 15, seed)
    else:
        learning, transfer = load_data(learning, transfer, n_participants)
    if datasets is None and parameters is not None:
        if not isinstance(parameters, dict):
            raise ValueError("parameters must be a dict {model: DataFrame of generating "
                             "parameters}")
        given = {}
        for key, table in parameters.items():
            matches = [n for n in models if _same_model(key, n)] if isinstance(key, str) else []
            if not matches:
                raise ValueError(f"parameters: {key!r} is not one of the models {models}")
            given[matches[0]] = table
        missing = [n for n in models if n not in given]
        if missing:
            raise ValueError(f"parameters: no generating parameters for {missing}")
        if learning is None:
            size = max(len(t) if isinstance(t, pd.DataFrame) else 1 for t in given.values())
            learning, transfer = default_design(
                [f"design_{i}" for i in range(size)],
                np.random.RandomState(recovery_seed(seed, "task_design")))
        datasets = {n: parameter_datasets(estimators[n], n, given[n], learning, transfer,
                                          np.random.RandomState(recovery_seed(seed, n)))
                    for n in models}
    if datasets is not None:
        missing = [n for n in models if not datasets.get(n)]
        if missing:
            raise ValueError(f"no datasets were generated for {missing}")
    parameter_models = list(keep_parameter_recovery or ()) if recovery == "model" else models
    out_dir = check_out_dir(
        out_dir, (("PARAMETER",) if parameter_models else ()) +
        (("MODEL",) if recovery != "parameter" else ()),
        _report().validation_files(parameter_models, models if recovery != "parameter" else [],
                                   formats=formats),
        inputs=inputs, overwrite=overwrite)

    n_steps = (len(models) if recovery != "model" else 0) + (1 if recovery != "parameter" else 0)
    progress.start(n_steps + 1)
    run = ValidationRun(out_dir=out_dir)
    if keep_parameter_recovery:
        if recovery != "model":
            raise ValueError("keep_parameter_recovery goes with recovery='model'")
        missing = [n for n in models if n not in keep_parameter_recovery]
        if missing and datasets is None:
            raise ValueError(f"keep_parameter_recovery has no recovery of {missing}")
        run.parameter_recovery = dict(keep_parameter_recovery)
    if recovery in ("parameter", "both"):
        for name, estimator in estimators.items():
            options = dict(n_datasets=n_datasets, sampler=sampler,
                           random_state=recovery_seed(seed, name), n_jobs=n_jobs)
            progress.begin(f"parameter recovery of {name}")
            fitted = ParameterRecovery(fitters[name], **options)
            if datasets is not None:
                fitted.fit(datasets=datasets[name])
            else:
                fitted.fit(learning, transfer)
            run.parameter_recovery[name] = fitted
            progress.advance()
    if recovery in ("model", "both"):
        progress.begin("model recovery")
        if datasets is not None:
            pool = [d for n in models for d in datasets[n]]
        elif run.parameter_recovery:
            pool = [d for n in models for d in run.parameter_recovery[n].datasets_]
        else:  # the datasets parameter recovery with the same seed would make
            pool = [d for name, estimator in fitters.items()
                    for d in ParameterRecovery(estimator, n_datasets=n_datasets, sampler=sampler,
                                               random_state=recovery_seed(seed, name))
                    .split(learning, transfer)]
        run.model_recovery = ModelRecovery(
            list(fitters.values()), n_datasets=n_datasets, sampler=sampler,
            random_state=recovery_seed(seed, "model recovery"), n_jobs=n_jobs,
        ).fit(datasets=pool)
        progress.advance()
    progress.begin("writing the report")
    run.out_dir = _report().write_validation_report(
        out_dir, parameter_recovery=run.parameter_recovery or None,
        model_recovery=run.model_recovery, overwrite=overwrite, progress=_sub_steps(progress),
        inputs=inputs, run_info={"seed": seed, "seed_drawn": seed_drawn}, formats=formats,
        n_jobs=n_jobs)
    progress.advance()
    progress.begin("done")
    progress.close()
    return run
