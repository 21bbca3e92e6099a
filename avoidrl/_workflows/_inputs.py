"""The runs' inputs: task data, task-design templates and generating parameters.

The data step of the flow for :func:`avoidrl._workflows.run_fit` and
:func:`~avoidrl._workflows.run_validation`: the data to fit (given CSVs or
frames, or the bundled example data), the template participants a recovery
replays (or the reference's task design), and synthetic datasets made at
given generating parameters (a table, or a fit's ``fit_data*.pkl``). Also
the output folder's check, made before any work.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pandas as pd

from .._core.data import STIMULUS_VALUES, TRANSFER_PAIRS, load_task_data, read_frame
from .._core.simulate import default_design
from ..datasets import load_example
from ..estimators import make_model
from ..recovery import SyntheticDataset
from ..recovery._common import DEFAULT_N_DATASETS
from ..report import _folder
from ._settings import check_count, recovery_seed

#: Transfer pairs the task shows: the pairs of different value among the nine stimuli
#: (the 36 pairs but AC, BD, EG and FH), 32.
N_TRANSFER_PAIRS = sum(STIMULUS_VALUES[i] != STIMULUS_VALUES[j] for i, j in TRANSFER_PAIRS)


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
        if n_trials % N_TRANSFER_PAIRS:
            raise ValueError(
                f"task_design['transfer_phase']['number_of_trials'] = {n_trials}: avoidrl "
                f"shows each of the {N_TRANSFER_PAIRS} transfer pairs equally often, so it must be "
                f"a multiple of {N_TRANSFER_PAIRS} (or give times_repeated)")
        repeats = n_trials // N_TRANSFER_PAIRS
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


def recovery_templates(learning, transfer, *, n_participants=None, task_design=None,
                       n_datasets=None, seed=None):
    """The template participants a recovery replays: ``(learning, transfer)``.

    Given data are loaded (the first ``n_participants``); without data,
    ``task_design`` makes templates on the reference's task design, and
    ``(None, None)`` leaves the recovery objects their default design.
    """
    if task_design is not None and learning is not None:
        raise ValueError("task_design applies only without template data (the templates' "
                         "trial sequences are replayed); give one or the other")
    if learning is None and transfer is None:
        if n_participants is not None:
            raise ValueError("the number of participants applies to template data; without "
                             "them, give the number of datasets")
        if task_design is not None:
            return task_design_templates(task_design, n_datasets or DEFAULT_N_DATASETS, seed)
        return None, None
    return load_data(learning, transfer, n_participants)


def given_parameter_datasets(parameters, models, simulators, learning, transfer, seed):
    """Every model's synthetic datasets at given generating parameters: ``{model: [dataset]}``.

    ``parameters`` is ``{model: DataFrame}`` (keys may be any spelling of the
    models' names); without templates, the datasets replay the standard task
    design. Each model's datasets are seeded by :func:`recovery_seed`.
    """
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
    return {n: parameter_datasets(simulators[n], n, given[n], learning, transfer,
                                  np.random.RandomState(recovery_seed(seed, n)))
            for n in models}
