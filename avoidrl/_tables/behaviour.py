"""Behaviour tables: posterior-predictive simulations and learning dynamics.

The third family of :mod:`avoidrl._tables`: the fitted models simulated on
each participant's own task (learning accuracy by context and quarter of
trials, transfer choice rates), next to the data summarised the same way,
the models replaying the participants' own choices (prediction errors
and values by trial), and how well learning-phase fits predict the transfer
phase.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import check_random_state

from .._core._labels import participant_positions
from .._core.data import _missed, load_task_data, split_phases
from .._core.task import PAIR_CONTEXTS, PAIR_LETTERS, PAIR_NAMES, STIMULUS_LETTERS, STIMULUS_NAMES
from .._utils.fitted import _model_dict, fit_method_of, fit_methods
from .._utils.validation import DRAWN_SEED_LIMIT

#: Posterior-predictive simulations per participant and model of a FIT. Five make the
#: simulation noise of a group's mean learning curve about 0.9 percentage points (1.8 with
#: one; the participants' own spread is several times larger), at about 0.07 s of CPU per
#: model and simulation for 60 participants.
DEFAULT_N_SIMULATIONS = 5
#: Learning contexts of the four pairs, in pair order (Reward1, Reward2, Punish1, Punish2).
CONTEXTS = dict(zip(PAIR_NAMES, PAIR_CONTEXTS))
CONTEXT_ORDER = ("Reward", "Loss Avoid")
#: Quarters of each pair's learning trials (1-6, 7-12, 13-18, 19-24 of 24).
BINS = ("Early", "Mid-Early", "Mid-Late", "Late")
#: Transfer stimulus types: high/low reward, low/high punishment, novel.
STIMULUS_TYPES = {"HR": ("A", "C"), "LR": ("B", "D"), "LP": ("E", "G"), "HP": ("F", "H"),
                  "N": ("N",)}
EMPIRICAL = "empirical"
_LETTER = dict(zip(STIMULUS_NAMES, STIMULUS_LETTERS))
_TYPE_OF_LETTER = {letter: kind for kind, letters in STIMULUS_TYPES.items() for letter in letters}
# Ranks of the tables' orders, for the cells of the simulations' summaries.
_CONTEXT_RANK_OF_PAIR = {pair: CONTEXT_ORDER.index(context) for pair, context in CONTEXTS.items()}
_LETTERS = tuple(_TYPE_OF_LETTER)
_LETTER_RANK_OF_NAME = {name: _LETTERS.index(letter) for name, letter in _LETTER.items()}
_TYPE_RANK_OF_LETTER = np.array([list(STIMULUS_TYPES).index(_TYPE_OF_LETTER[letter])
                                 for letter in _LETTERS])
_MAX_SEED = DRAWN_SEED_LIMIT


# ------------------------------------------------------- posterior predictive
def _behaviour(learning, transfer):
    """Per-participant learning accuracy (by context x bin) and transfer choice rates."""
    learning = learning.reset_index(drop=True)
    participant = learning["participant_id"].to_numpy(dtype=object)
    pair = learning["symbol_names"].astype(object).to_numpy()
    left_better = learning["symbol_L_value"].to_numpy(float) > \
        learning["symbol_R_value"].to_numpy(float)
    chose_left = learning["choice_made"].to_numpy(float) == 0
    trial = learning.groupby([participant, pair], sort=False).cumcount().to_numpy() + 1
    n_trials = learning.groupby([participant, pair], sort=False)["symbol_names"] \
        .transform("size").to_numpy()
    quarter = np.clip(np.ceil(4 * trial / n_trials).astype(int), 1, 4) - 1
    frame = pd.DataFrame({
        "participant": participant,
        "group": learning["group_code"].to_numpy(dtype=object),
        "context": pd.Series(pair).map(CONTEXTS).to_numpy(dtype=object),
        "bin": np.asarray(BINS, dtype=object)[quarter],
        "accuracy": 100.0 * (chose_left == left_better),
    })
    accuracy = (frame.groupby(["participant", "group", "context", "bin"], sort=False)["accuracy"]
                .mean().reset_index())

    transfer = transfer.reset_index(drop=True)
    left = transfer["symbol_L_name"].astype(object).map(_LETTER).to_numpy(dtype=object)
    right = transfer["symbol_R_name"].astype(object).map(_LETTER).to_numpy(dtype=object)
    chosen = np.where(transfer["choice_made"].to_numpy(float) == 0, left, right)
    ids = transfer["participant_id"].to_numpy(dtype=object)
    codes = transfer["group_code"].to_numpy(dtype=object)
    shown = pd.DataFrame({
        "participant": np.concatenate([ids, ids]), "group": np.concatenate([codes, codes]),
        "letter": np.concatenate([left, right]),
        "chosen": 100.0 * np.concatenate([chosen == left, chosen == right]),
    })
    per_letter = (shown.groupby(["participant", "group", "letter"], sort=False)["chosen"]
                  .mean().reset_index())
    per_letter["stimulus"] = per_letter["letter"].map(_TYPE_OF_LETTER)
    choice = (per_letter.groupby(["participant", "group", "stimulus"], sort=False)["chosen"]
              .mean().rename("choice_rate").reset_index())
    return accuracy, choice


def _cells(learning, transfer, participants):
    """Where each row's trial counts in the behaviour tables, as integer cells.

    The cells number the tables' rows in :func:`_order_behaviour`'s order:
    (participant, context, bin) for a learning row, (participant, letter) for
    each side of a transfer row, and (participant, stimulus type) for each
    of those letters. The rows are those :func:`_behaviour` summarises; the
    bins are its quarters of each participant's pair.
    """
    learning = learning.reset_index(drop=True)
    who = participant_positions(participants, learning["participant_id"])
    pair = learning["symbol_names"].astype(object).to_numpy()
    by_pair = learning.groupby([who, pair], sort=False)
    trial = by_pair.cumcount().to_numpy() + 1
    n_trials = by_pair["symbol_names"].transform("size").to_numpy()
    quarter = np.clip(np.ceil(4 * trial / n_trials).astype(int), 1, 4) - 1
    context = pd.Series(pair).map(_CONTEXT_RANK_OF_PAIR).to_numpy(int)
    transfer = transfer.reset_index(drop=True)
    t_who = participant_positions(participants, transfer["participant_id"])
    sides = [t_who * len(_LETTERS) + transfer[f"symbol_{side}_name"].astype(object)
             .map(_LETTER_RANK_OF_NAME).to_numpy(int) for side in ("L", "R")]
    return {
        "accuracy": (who * len(CONTEXT_ORDER) + context) * len(BINS) + quarter,
        "left_better": learning["symbol_L_value"].to_numpy(float)
        > learning["symbol_R_value"].to_numpy(float),
        "letters": np.concatenate(sides), "n_letters": len(participants) * len(_LETTERS),
        "types": np.repeat(np.arange(len(participants)), len(_LETTERS)) * len(STIMULUS_TYPES)
        + np.tile(_TYPE_RANK_OF_LETTER, len(participants)),
        "n_cells": len(participants) * len(CONTEXT_ORDER) * len(BINS),
        "n_types": len(participants) * len(STIMULUS_TYPES),
    }


def _means(cells, values, n_cells):
    """Mean of ``values`` per cell, for the cells that have any (in cell order).

    Equal to pandas' group means to the last bit here: the accuracies and
    choices are 0 or 100, so their sums are exact in any order, and a
    stimulus type averages at most two letters (a + b is a + b in any order).
    """
    total = np.bincount(cells, weights=values, minlength=n_cells)
    count = np.bincount(cells, minlength=n_cells)
    present = count > 0
    return total[present] / count[present], present


def _summarise(cells, learning, transfer):
    """The values of the behaviour tables from each row's left choice (see :func:`_behaviour`).

    ``learning`` / ``transfer``: (left, simulated) per row of the cells: True
    where the left symbol was chosen (False on a missed trial, as
    ``choice_made == 0`` is), and where the row was simulated at all.
    """
    (left, simulated), (t_left, t_simulated) = learning, transfer
    accuracy, _ = _means(cells["accuracy"][simulated],
                         100.0 * (left == cells["left_better"])[simulated], cells["n_cells"])
    shown = np.concatenate([t_simulated, t_simulated])
    chosen = 100.0 * np.concatenate([t_left, ~t_left])
    letter, present = _means(cells["letters"][shown], chosen[shown], cells["n_letters"])
    choice, _ = _means(cells["types"][present], letter, cells["n_types"])
    return accuracy, choice


def _simulated_left(rows, option1, left_higher):
    """Per template row: (the left symbol was chosen, the row was simulated).

    ``rows``, ``option1`` from :func:`~avoidrl._core.simulate.simulate_rows`;
    "left chosen" is ``choice_made == 0`` of the simulated frame, so a missed
    trial (NaN) chose nothing.
    """
    left = np.zeros(len(left_higher), dtype=bool)
    simulated = np.zeros(len(left_higher), dtype=bool)
    simulated[rows] = True
    chose = ~np.isnan(option1)
    # option 0 is the higher-valued symbol: the left one where left_higher
    left[rows[chose]] = np.where(left_higher[rows[chose]], option1[chose] == 0,
                                 option1[chose] == 1)
    return left, simulated


def _order_behaviour(accuracy, choice, participants):
    """Sort rows by participant order, context, bin and stimulus type."""
    rank = {p: i for i, p in enumerate(participants)}
    accuracy = accuracy.assign(
        _p=accuracy["participant"].map(rank),
        _c=accuracy["context"].map({c: i for i, c in enumerate(CONTEXT_ORDER)}),
        _b=accuracy["bin"].map({b: i for i, b in enumerate(BINS)}))
    choice = choice.assign(
        _p=choice["participant"].map(rank),
        _s=choice["stimulus"].map({s: i for i, s in enumerate(STIMULUS_TYPES)}))
    accuracy = accuracy.sort_values(["_p", "_c", "_b"]).drop(columns=["_p", "_c", "_b"])
    choice = choice.sort_values(["_p", "_s"]).drop(columns=["_p", "_s"])
    return accuracy.reset_index(drop=True), choice.reset_index(drop=True)


def posterior_predictive(models, X_learning, X_transfer=None, random_state=None,
                         n_simulations=1):
    """Simulate the fitted models on each participant's own task and summarise behaviour.

    Each fitted participant is simulated by ``estimator.sample`` with its own
    best-fit parameters on its own learning sequence (the observed outcomes of
    both options) and its own transfer pairs, as in the reference's
    posterior-predictive step; the participants' observed behaviour is
    summarised the same way.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (as in ``fit``).
    random_state : int, RandomState instance or None
        Seeds every simulation.
    n_simulations : int, default=1
        Simulated runs per participant and model.

    Returns
    -------
    accuracy : DataFrame
        One row per (source, model, simulation, participant, context, bin):
        source ('model' or 'empirical'), model (the model name, or
        'empirical'), simulation (0-based; NA for the empirical rows),
        participant, group, context ('Reward' / 'Loss Avoid'), bin ('Early',
        'Mid-Early', 'Mid-Late', 'Late': quarters of the pair's trials, i.e.
        trials 1-6 / 7-12 / 13-18 / 19-24 of 24), accuracy (% choices of the
        better option).
    choice : DataFrame
        One row per (source, model, simulation, participant, stimulus):
        stimulus ('HR' = A/C, 'LR' = B/D, 'LP' = E/G, 'HP' = F/H, 'N') and
        choice_rate: the % of the transfer trials showing a stimulus on which
        it was chosen, averaged over the two stimuli of a type (the reference's
        rates, without its truncation to whole percents).

    Notes
    -----
    Accuracy, context and trial position are computed from ``choice_made``,
    the symbol values and ``symbol_names`` (row order = trial order), so the
    raw CSVs' ``accuracy``, ``context_val_name`` and ``trial_number`` columns
    are not needed (on the tutorial data they agree).
    """
    models = _model_dict(models)
    if isinstance(n_simulations, bool) or not isinstance(n_simulations, (int, np.integer)) \
            or n_simulations < 1:
        raise ValueError(f"n_simulations must be a positive integer, got {n_simulations!r}")
    learning, transfer = split_phases(X_learning, X_transfer)
    in_data = set(pd.unique(learning["participant_id"]))
    fitted = []
    for name, estimator in models.items():
        missing = [p for p in estimator.params_.index if p not in in_data]
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        fitted += [p for p in estimator.params_.index if p not in set(fitted)]
    order = [p for p in pd.unique(learning["participant_id"]) if p in set(fitted)]
    rng = check_random_state(random_state)

    accuracy_parts, choice_parts = [], []
    in_order = [frame["participant_id"].isin(order).to_numpy() for frame in (learning, transfer)]
    keep_l, keep_t = learning[in_order[0]], transfer[in_order[1]]
    accuracy, choice = _order_behaviour(*_behaviour(keep_l, keep_t), order)
    for table, parts in ((accuracy, accuracy_parts), (choice, choice_parts)):
        parts.append(table.assign(source=EMPIRICAL, model=EMPIRICAL,
                                  simulation=pd.array([pd.NA] * len(table), dtype="Int64")))
    # A simulation's tables are the empirical ones' rows (same participants, same trials)
    # with other values: those are summed per cell of the kept rows, not grouped by pandas.
    cells = _cells(keep_l, keep_t, order)
    left_higher = [frame["symbol_L_value"].to_numpy(float) > frame["symbol_R_value"]
                   .to_numpy(float) for frame in (learning, transfer)]
    rows_of = {frozenset(order): (accuracy, choice)}
    templates = load_task_data(learning, transfer)  # validated once for every simulation
    for name, estimator in models.items():
        ids = frozenset(estimator.params_.index)
        if ids not in rows_of:  # fitted to fewer participants: their empirical rows
            rows_of[ids] = _order_behaviour(*_behaviour(
                keep_l[keep_l["participant_id"].isin(ids)],
                keep_t[keep_t["participant_id"].isin(ids)]), order)
        for simulation in range(n_simulations):
            seed = int(rng.randint(_MAX_SEED))
            phases = estimator.simulator._sample_on(
                templates, learning, transfer, estimator.params_, seed, frames=False)
            values = _summarise(cells, *(
                [part[mask] for part in _simulated_left(rows, option1, higher)]
                for (rows, _, option1), higher, mask in zip(phases, left_higher, in_order)))
            for table, value, column, parts in zip(
                    rows_of[ids], values, ("accuracy", "choice_rate"),
                    (accuracy_parts, choice_parts)):
                parts.append(table.assign(**{column: value}).assign(
                    source="model", model=name,
                    simulation=pd.array([simulation] * len(table), dtype="Int64")))
    lead = ["source", "model", "simulation", "participant", "group"]
    accuracy = pd.concat(accuracy_parts, ignore_index=True)
    choice = pd.concat(choice_parts, ignore_index=True)
    accuracy = accuracy[lead + ["context", "bin", "accuracy"]]
    choice = choice[lead + ["stimulus", "choice_rate"]]
    return accuracy, choice


#: Learning pair of trial_values -> context.
_PAIR_CONTEXT = dict(zip(PAIR_LETTERS, PAIR_CONTEXTS))
#: A model without its own ``pe_formula`` (a declaration's formula of the
#: prediction error in trial_values: r - Q, r - C - Q, the critic's r - V, ...).
_UNNAMED_PE = "the model's own prediction error (pe)"
#: The values that drive the learning choices, by the base model's value systems.
_VALUE_FORMULAS = {("q",): "Q", ("w",): "W", ("w", "q"): "(1 - m) W + m Q"}


def _choice_values(estimator, rows):
    """Values of options 0 and 1 that drive the choice, from trial_values' learning rows.

    With several value systems the model's own ``mix_values`` combines them
    (it is linear in the systems' values, so it maps each option's values as
    it maps their difference); for the hybrids that is H = (1 - m) W + m Q
    (reference-spec 3.5).
    """
    variant = estimator.simulator._variant()
    systems = tuple(variant.base.value_systems)
    if len(systems) == 1:
        (system,) = systems
        return rows[f"{system}0"].to_numpy(float), rows[f"{system}1"].to_numpy(float), \
            _VALUE_FORMULAS[systems]
    params = estimator.params_.reindex(rows["participant_id"])
    # the kernel's layout: theta[name] of shape (2, batch, 1) and values of (batch, 1)
    theta = {name: np.broadcast_to(params[name].to_numpy(float)[None, :, None],
                                   (2, len(rows), 1)).copy()
             for name in variant.parameter_names}
    values = [variant.base.mix_values(
        [rows[f"{system}{o}"].to_numpy(float)[:, None].copy() for system in systems],
        theta).ravel() for o in (0, 1)]
    formula = _VALUE_FORMULAS.get(
        systems, f"the model's mix_values of {', '.join(s.upper() for s in systems)}")
    return values[0], values[1], formula


def learning_dynamics(models, X_learning, X_transfer=None):
    """Prediction errors and values of the fitted models, by trial within pair.

    Each fitted participant's learning phase is replayed by
    ``estimator.trial_values`` at its fitted parameters, on its own choices
    and the outcomes of both options (not on simulated choices). The numbers
    behind rows 2 and 3 of ``{group}_model_simulations.png``.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (as in ``fit``).

    Returns
    -------
    DataFrame
        One row per model, participant, context and trial: model,
        participant, group (the data's group_code), context ('Reward' /
        'Loss Avoid'), trial (1-based position within its pair), then the
        averages over the context's two pairs of

        * pe: the mean of both options' prediction errors of the trial's
          update (every option learns every trial: complete feedback), as the
          reference's ``averaged_pe``. Q-learning models: the Q error
          (``r - Q``; Relative ``r - C - Q``, Advantage ``r - weighting_factor
          * (r0 + r1) / 2 - Q``); ActorCritic and hybrids: the critic's error
          ``r - V`` (the reference added the hybrids' Q errors to it);
        * value0, value1: the values of option 0 (the better option: A/C in
          Reward, E/G in Loss Avoid) and option 1 before the trial's update,
          the ones the choice rule compares: Q for the Q-learning models, the
          normalised actor weights W for ActorCritic, and
          ``(1 - m) W + m Q`` (m = mixing_factor) for hybrids;

        then pe_formula and value_formula, which say which of these a model's
        rows hold. Rows are in model, participant (data order), context and
        trial order.

    Examples
    --------
    >>> import avoidrl
    >>> from avoidrl.report import learning_dynamics
    >>> model = avoidrl.make_model("QLearning+novel", n_starts=1)
    >>> learning, transfer = model.sample(n_participants=2, random_state=0)
    >>> table = learning_dynamics(model.fit(learning, transfer), learning, transfer)
    >>> table.columns.tolist()[:8]
    ['model', 'participant', 'group', 'context', 'trial', 'pe', 'value0', 'value1']
    >>> int(table["trial"].max()), table["pe_formula"].iloc[0], table["value_formula"].iloc[0]
    (24, 'r - Q', 'Q')
    """
    models = _model_dict(models)
    learning, transfer = split_phases(X_learning, X_transfer)
    groups = learning.groupby(learning["participant_id"].to_numpy(dtype=object),
                              sort=False)["group_code"].first()
    rank = {p: i for i, p in enumerate(groups.index)}
    context_rank = {c: i for i, c in enumerate(CONTEXT_ORDER)}
    columns = ["model", "participant", "group", "context", "trial", "pe", "value0", "value1",
               "pe_formula", "value_formula"]
    parts, loaded = [], {}
    for name, estimator in models.items():
        ids = list(estimator.params_.index)
        missing = [p for p in ids if p not in rank]
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        # models fitted to the same participants (and missed-trial rule) share one load
        simulator = estimator.simulator
        key = (frozenset(ids), getattr(simulator, "missed_trials", None))
        if key not in loaded:
            loaded[key] = simulator._load(learning[learning["participant_id"].isin(ids)],
                                          transfer[transfer["participant_id"].isin(ids)])
        rows = simulator._trial_values_on(loaded[key], params=estimator.params_)
        rows = rows[rows["phase"] == "learning"].reset_index(drop=True)
        value0, value1, value_formula = _choice_values(estimator, rows)
        base = estimator.simulator._variant().base
        frame = pd.DataFrame({
            "participant": rows["participant_id"].to_numpy(dtype=object),
            "context": rows["pair"].map(_PAIR_CONTEXT).to_numpy(dtype=object),
            "trial": rows.groupby(["participant_id", "pair"], sort=False).cumcount()
            .to_numpy() + 1,
            "pe": 0.5 * (rows["pe0"].to_numpy(float) + rows["pe1"].to_numpy(float)),
            "value0": value0, "value1": value1,
        })
        table = (frame.groupby(["participant", "context", "trial"], sort=False)
                 [["pe", "value0", "value1"]].mean().reset_index())
        table = table.iloc[np.lexsort((table["trial"].to_numpy(),
                                       table["context"].map(context_rank).to_numpy(),
                                       table["participant"].map(rank).to_numpy()))]
        table.insert(0, "model", name)
        table.insert(2, "group", table["participant"].map(groups).to_numpy(dtype=object))
        table["pe_formula"] = base.pe_formula if base.pe_formula is not None else _UNNAMED_PE
        table["value_formula"] = value_formula
        parts.append(table)
    return pd.concat(parts, ignore_index=True)[columns]


# ------------------------------------------------------- transfer prediction
#: The inference methods whose fits :func:`transfer_prediction` refits on the learning
#: phase: those whose estimators say ``predicts_transfer`` (per-participant maximum
#: likelihood; an empirical-Bayes fit's prior is fitted to both phases, so a
#: learning-only refit would not be its out-of-sample twin).
TRANSFER_PREDICTION_METHODS = tuple(method for method, cls in fit_methods().items()
                                    if getattr(cls, "predicts_transfer", False))
#: The per-trial log loss of a coin flip, ln 2 (natural log).
CHANCE_LOG_LOSS = float(np.log(2.0))
#: The options that act only in the transfer phase: a learning-only fit cannot inform them.
_TRANSFER_OPTIONS = ("novel", "decay")
#: |P - 0.5| up to which a prediction is a tie (equal values give 0.5 up to rounding).
_TIE = 1e-9


def _learning_only_clone(estimator):
    """An unfitted copy of ``estimator.simulator`` without the transfer-only options.

    Same settings and seed; the bounds the full fit used for the parameters both
    share (and the start values given for them).
    """
    model = clone(estimator.simulator)
    params = model.get_params(deep=False)
    model.set_params(**{option: False for option in _TRANSFER_OPTIONS if option in params})
    names = set(model.parameter_names)
    bounds = {name: tuple(value) for name, value in estimator.simulator.bounds_.items()
              if name in names}
    init = params.get("init")
    model.set_params(bounds=bounds, init=None if init is None else
                     {name: value for name, value in init.items() if name in names})
    return model


def _transfer_accuracy(proba, rows):
    """Per participant: the share of its transfer choices the more likely option predicted.

    A tie (equal values: P = 0.5 up to rounding) counts as half a hit, a coin
    flip's expected accuracy.
    """
    made = ~_missed(rows)
    choice = pd.to_numeric(rows["choice_made"].where(made), errors="coerce").to_numpy(float)
    p_chosen = np.where(choice == 1, proba[:, 1], proba[:, 0])
    tie = np.abs(p_chosen - 0.5) <= _TIE
    hit = np.where(tie, 0.5, (p_chosen > 0.5).astype(float))
    ids = rows["participant_id"].to_numpy(dtype=object)
    return pd.Series(hit[made]).groupby(ids[made], sort=False).mean()


def transfer_prediction(models, learning, transfer=None):
    """How well learning-phase fits predict each participant's transfer choices.

    For each fitted model, a copy of it (``estimator.simulator``, cloned) with
    the ``novel`` and ``decay`` options off is fitted to the learning phase
    alone, with the same settings, seed and bounds of the shared parameters;
    its values after learning then predict the transfer choices, which that
    fit never saw (:meth:`~avoidrl.estimators.RLModelBase.predict_proba`).
    The learning phase cannot inform the options (they act only in transfer,
    so they would not be identified): the novel stimulus N then has value 0
    and the values do not decay before transfer, as in the models without the
    options (``ModelVariant.transfer_values`` passes ``novel = 0`` and no
    decay). The full fit's own transfer log loss is given for comparison.

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Maximum-likelihood fits (``fit_method`` 'ml'), fitted to both phases.
    learning, transfer : DataFrame or path
        The data the models were fitted to (``transfer`` None for one long
        frame, as in ``fit``).

    Returns
    -------
    DataFrame
        One row per model and participant (model order, then the fit's
        participant order): model, participant_id, group, n_trials (transfer
        trials with a choice), log_loss (mean ``-ln P(choice)`` per trial
        under the learning-only fit), accuracy (share of those choices of the
        option it predicted more likely; a tie counts 0.5), chance_log_loss
        (ln 2 = 0.693, a coin flip) and in_sample_log_loss (the same trials'
        mean log loss under the full fit's parameters, which saw them).
        log_loss and accuracy are NaN for a participant without a transfer
        choice.

    Raises
    ------
    ValueError
        If a model is not a maximum-likelihood fit, was fitted to participants
        not in the data, or the data have no transfer trials.
    """
    models = _model_dict(models)
    for name, estimator in models.items():
        method = fit_method_of(estimator)
        if method not in TRANSFER_PREDICTION_METHODS:
            raise ValueError(
                f"model {name!r} is not a maximum-likelihood fit (fit_method {method!r}: "
                f"{getattr(estimator, 'fit_method_name', method)}); transfer prediction refits "
                f"maximum-likelihood fits (fit_method {list(TRANSFER_PREDICTION_METHODS)}) on "
                "the learning phase: pass those")
    learning, transfer = split_phases(learning, transfer)
    if len(transfer) == 0:
        raise ValueError("the transfer data are empty: transfer prediction needs the transfer "
                         "trials to predict (give transfer, or probe rows of a long frame)")
    in_data = set(pd.unique(learning["participant_id"]))
    columns = ["model", "participant_id", "group", "n_trials", "log_loss", "accuracy",
               "chance_log_loss", "in_sample_log_loss"]
    parts = []
    for name, estimator in models.items():
        ids = list(estimator.params_.index)
        missing = [p for p in ids if p not in in_data]
        if missing:
            raise ValueError(f"model {name!r} was fitted to participant(s) {missing[:5]} that "
                             "are not in the data given; pass the data it was fitted to")
        own_l = learning[learning["participant_id"].isin(ids)]
        own_t = transfer[transfer["participant_id"].isin(ids)]
        learned = _learning_only_clone(estimator).fit(own_l, own_t.iloc[:0])
        scores = learned.transfer_log_loss(own_l, own_t).reindex(ids)
        accuracy = _transfer_accuracy(learned.predict_proba(own_l, own_t), own_t)
        in_sample = estimator.simulator.transfer_log_loss(own_l, own_t).reindex(ids)
        parts.append(pd.DataFrame({
            "model": name, "participant_id": pd.Index(ids, dtype=object),
            "group": estimator.groups_.reindex(ids).to_numpy(dtype=object),
            "n_trials": scores["n_trials"].to_numpy(int),
            "log_loss": scores["log_loss"].to_numpy(float),
            "accuracy": accuracy.reindex(ids).to_numpy(float),
            "chance_log_loss": CHANCE_LOG_LOSS,
            "in_sample_log_loss": in_sample["log_loss"].to_numpy(float)}))
    return pd.concat(parts, ignore_index=True)[columns]
