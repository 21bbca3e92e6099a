"""Simulation: the models' own update rules, with choices drawn instead of read.

A simulated participant replays a template participant's trial sequence and
the outcomes of both options (complete feedback, as in the reference), while
its choices come from the model. Outcomes stay raw (the valence bias is part
of the model, applied when it learns), so simulated data can be refitted as is.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from ._labels import participant_positions
from .data import LEARNING_TRIAL_TYPE, TRANSFER_TRIAL_TYPE, load_task_data
from .likelihood import expand_parameters, softplus
from .task import (
    N_PAIRS, N_STIMULI, OUTCOME_PROBABILITY, OUTCOME_SIGN, PAIR_CONTEXTS, PAIR_NAMES,
    PAIR_SYMBOLS, SHOWN_TRANSFER_PAIRS, STIMULUS_NAMES, STIMULUS_VALUES,
)

#: Columns of the reference's format that describe the task, kept from template
#: rows; the rest (response times, questionnaire scores, age, ...) describe the
#: template participant, not the simulated one, and are dropped.
TASK_COLUMNS = (
    "participant_id", "group_code", "trial_type", "trial_index", "symbol_L_name",
    "symbol_R_name", "symbol_L_value", "symbol_R_value", "feedback_L", "feedback_R",
    "context_val", "context_val_name", "symbol_names", "symbol_name", "trial_number",
    "binned_trial", "trial_number_symbol", "choice_made", "accuracy", "larger_value",
    "symbol_chosen", "symbol_ignored", "context", "paired_symbols",
)
# the task's facts under their former names here (see avoidrl._core.task)
_PAIR_SYMBOLS = PAIR_SYMBOLS
_CONTEXT = PAIR_CONTEXTS
_OUTCOME_PROBABILITY = dict(enumerate(OUTCOME_PROBABILITY))
_OUTCOME_SIGN = OUTCOME_SIGN


def _choice_probability(difference, inverse_temperature, noise):
    """P(option 1) from v1 - v0, with optional lapse noise."""
    p1 = np.exp(-softplus(-difference * inverse_temperature))
    if noise is not None:
        p1 = (1.0 - noise) * p1 + noise / 2.0
    return p1


def simulate_choices(variant, data, params, rng):
    """Draw choices of each participant of ``data`` under its parameter vector.

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
        The templates: trial sequences and outcomes of both options.
    params : ndarray, shape (n_participants, k)
    rng : numpy.random.RandomState

    Returns
    -------
    learning_choice : ndarray, shape (n_steps, n_participants, 4)
        1.0 where option 1 (the worse option) was chosen (0 on padding).
    transfer_choice : ndarray, shape (n_participants, n_probe)
        1.0 where the lower-valued symbol was chosen (0 on padding).
    """
    base = variant.base
    params = np.asarray(params, dtype=float)
    n_steps, n, n_pairs = data.choice.shape
    theta = variant.theta(params)
    full_theta = expand_parameters(theta, n_pairs)
    pair_theta = {k: v[0] for k, v in full_theta.items()}
    inverse_temperature = 1.0 / pair_theta["temperature"]
    noise = pair_theta["noise_factor"] if base.lapse else None
    # Draw every uniform up front: the result depends only on the seed.
    u_learning = rng.random_sample((n_steps, n, n_pairs))
    u_transfer = rng.random_sample(data.transfer_choice.shape)

    state = base.initial_state((n, n_pairs))
    scratch = np.empty((2, n, n_pairs))
    choice = np.zeros((n_steps, n, n_pairs))
    for t in range(n_steps):
        differences = [state[s][1] - state[s][0] for s in base.value_systems]
        p1 = _choice_probability(base.mix_values(differences, full_theta), inverse_temperature,
                                 noise)
        choice[t] = (u_learning[t] < p1) & data.mask[t]
        step = variant.prepare(pair_theta, choice[t:t + 1] == 1.0, data.outcome[t:t + 1])
        if data.padded and not data.mask[t].all():
            before = {k: v.copy() for k, v in state.items()}
            base.update(state, step, 0, full_theta, scratch)
            idle = ~data.mask[t]
            for key, value in state.items():
                value[:, idle] = before[key][:, idle]
        else:
            base.update(state, step, 0, full_theta, scratch)

    values = variant.transfer_values(state, theta)
    rows = np.arange(n)[:, None]
    gap = values[rows, data.transfer_first] - values[rows, data.transfer_second]
    transfer_noise = theta["noise_factor"] if base.lapse else None
    # P(lower-valued symbol) = softmax at -gap.
    p_lower = _choice_probability(-gap, 1.0 / theta["temperature"], transfer_noise)
    transfer_choice = ((u_transfer < p_lower) & data.transfer_mask).astype(float)
    return choice, transfer_choice


def resimulate(variant, data, params, rngs):
    """``data`` with every choice drawn anew from the model, each participant at its row of ``params``.

    The trials, outcomes and missed trials stay; participant ``i``'s choices
    come from ``rngs[i]`` (a RandomState) alone, so they do not depend on who
    else is simulated. The arrays are those :func:`load_task_data` would lay
    out from the simulated frames (a parametric bootstrap without frames).
    """
    parts = [simulate_choices(variant, _own_steps(data.subset([i])), params[i:i + 1], rng)
             for i, rng in enumerate(rngs)]
    n_steps = data.choice.shape[0]
    choice = np.concatenate([np.pad(c, ((0, n_steps - c.shape[0]), (0, 0), (0, 0)))
                             for c, _ in parts], axis=1)
    transfer_choice = np.concatenate([t for _, t in parts], axis=0) if parts \
        else data.transfer_choice.copy()
    # pair counts as the layout counts them: higher-valued chosen, then lower-valued
    shown = np.sort(data.transfer_pairs, axis=1)
    column = np.full((N_STIMULI, N_STIMULI), -1, dtype=np.intp)
    column[shown[:, 0], shown[:, 1]] = np.arange(len(shown))
    who, trial = np.nonzero(data.transfer_mask)
    first, second = data.transfer_first[who, trial], data.transfer_second[who, trial]
    pair = column[np.minimum(first, second), np.maximum(first, second)]
    counts = np.zeros((data.n_participants, 2, len(shown)))
    np.add.at(counts, (who, transfer_choice[who, trial].astype(np.intp), pair), 1.0)
    return dataclasses.replace(data, choice=choice, transfer_choice=transfer_choice,
                               transfer_counts=counts.reshape(data.n_participants, -1))


def _own_steps(one):
    """One participant's data without the learning steps that pad it to a longer chain.

    Its draws are then those of the participant's data alone (the simulator
    draws a uniform per step, padded or not).
    """
    steps = int(np.flatnonzero(one.mask.any(axis=(1, 2))).max()) + 1 if one.mask.any() else 0
    mask = one.mask[:steps]
    return dataclasses.replace(one, choice=one.choice[:steps], outcome=one.outcome[:steps],
                               mask=mask, learning_row=one.learning_row[:steps],
                               padded=not bool(mask.all()))


def _row_order(ids, participants):
    """For each row: its participant's position and its rank within that participant."""
    pos = participant_positions(participants, ids)
    if (pos < 0).any():
        raise KeyError(ids[np.flatnonzero(pos < 0)[0]])  # as the dict look-up it replaces
    rank = np.empty(len(pos), dtype=np.intp)
    order = np.argsort(pos, kind="stable")
    counts = np.bincount(pos, minlength=len(participants))
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank[order] = np.arange(len(pos)) - np.repeat(starts, counts)
    return pos, rank


def _write_choices(frame, option1_chosen):
    """Set choice_made (0 = left) and the derived columns from option choices.

    NaN in ``option1_chosen`` is a missed template trial: it stays missed
    (choice_made and the derived columns missing).
    """
    frame = frame[[c for c in frame.columns if c in TASK_COLUMNS]].copy()
    missed = np.isnan(option1_chosen)
    option1_chosen = np.where(missed, 0, option1_chosen).astype(int)
    left_higher = frame["symbol_L_value"].to_numpy(float) > frame["symbol_R_value"].to_numpy(float)
    chose_right = np.where(left_higher, option1_chosen, 1 - option1_chosen).astype(int)
    derived = {"choice_made": chose_right,
               "accuracy": np.where(option1_chosen == 0, 100, 0),
               "symbol_chosen": np.where(chose_right == 1, frame["symbol_R_value"],
                                         frame["symbol_L_value"]),
               "symbol_ignored": np.where(chose_right == 1, frame["symbol_L_value"],
                                          frame["symbol_R_value"])}
    for column, values in derived.items():
        if column == "choice_made" or column in frame.columns:
            # integers as before when nothing was missed
            frame[column] = np.where(missed, np.nan, values) if missed.any() else values
    return frame


def simulate_rows(variant, params, template_learning, template_transfer, template_ids, rng,
                  data=None):
    """The simulation of :func:`simulate_frames`, as template rows and choices (no frames).

    Parameters are those of :func:`simulate_frames`; the same draws from
    ``rng``.

    Returns
    -------
    list of two (rows, who, option1)
        For the learning, then the transfer phase, one entry per simulated
        trial in the simulated frame's order: ``rows``, the trial's position
        in the template frame (``iloc``); ``who``, its simulated participant
        (position in ``template_ids``); ``option1``, 1.0 where option 1 (the
        worse or lower-valued) was chosen, NaN on a missed template trial.
    """
    if data is None:
        data = load_task_data(template_learning, template_transfer)
    position = {pid: i for i, pid in enumerate(data.participants)}
    missing = [t for t in template_ids if t not in position]
    if missing:
        raise ValueError(f"template participant(s) {missing[:5]} are not in the template data")
    index = np.array([position[t] for t in template_ids], dtype=np.intp)
    templates = data.subset(index)
    learning_choice, transfer_choice = simulate_choices(variant, templates, params, rng)

    phases = []
    for frame, phase in ((template_learning, "learning"), (template_transfer, "transfer")):
        pos, rank = _row_order(frame["participant_id"].to_numpy(), data.participants)
        order = np.lexsort((rank, pos))
        counts = np.bincount(pos, minlength=data.n_participants)
        bounds = np.concatenate(([0], np.cumsum(counts)))
        # All simulated participants' rows in one take (a per-participant
        # pandas loop cost most of a posterior-predictive check).
        sizes = counts[index]
        rows = np.concatenate([order[bounds[t]:bounds[t + 1]] for t in index]) \
            if len(index) else np.empty(0, dtype=np.intp)
        who = np.repeat(np.arange(len(index)), sizes)
        within = np.arange(len(rows)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        if phase == "learning":
            # the l-th row of a template is trial `learning_row` of some pair chain;
            # a missed template trial is in no chain and stays missed (NaN)
            option1 = np.full(len(rows), np.nan)
            step, simulated, pair = np.nonzero(templates.mask)
            slot = templates.learning_row[step, simulated, pair]
            offsets = np.cumsum(sizes) - sizes
            option1[offsets[simulated] + slot] = learning_choice[step, simulated, pair]
        else:
            option1 = np.where(templates.transfer_mask[who, within],
                               transfer_choice[who, within], np.nan)
        phases.append((rows, who, option1))
    return phases


def simulate_frames(variant, params, participant_ids, template_learning, template_transfer,
                    template_ids, rng, group_codes=None, data=None):
    """Simulate participants on template trial sequences, in the input format.

    Parameters
    ----------
    variant : ModelVariant
    params : ndarray, shape (n, k)
    participant_ids : sequence of length n
        Ids of the simulated participants.
    template_learning, template_transfer : DataFrame
        Template trials in the reference's format.
    template_ids : sequence of length n
        Which template participant each simulated participant replays.
    rng : numpy.random.RandomState
    group_codes : sequence of length n, optional
        group_code of each simulated participant (default: the template's).
    data : TaskData, optional
        The templates already validated (``load_task_data`` of the two
        frames), so that they are not validated twice.

    Returns
    -------
    learning, transfer : DataFrame
        The template rows' task columns (``TASK_COLUMNS``) with simulated
        choices; columns describing the template participant are dropped.
    """
    phases = simulate_rows(variant, params, template_learning, template_transfer, template_ids,
                           rng, data)
    frames = []
    for frame, (rows, who, option1) in zip((template_learning, template_transfer), phases):
        piece = _write_choices(frame.reset_index(drop=True).iloc[rows], option1)
        piece["participant_id"] = np.asarray(participant_ids, dtype=object)[who]
        if group_codes is not None:
            piece["group_code"] = np.asarray(group_codes, dtype=object)[who]
        frames.append(piece.reset_index(drop=True))
    return frames[0], frames[1]


def default_design(participant_ids, rng, *, trials_per_pair=24, transfer_repeats=12,
                   group_code="simulated"):
    """Template frames of the standard task design, with outcomes drawn.

    Learning: the four pairs, ``trials_per_pair`` trials each, interleaved in
    blocks of one trial per pair in random order, left/right placement
    balanced within each pair; each option yields its outcome (+10 in reward
    pairs, -10 in loss-avoid pairs) with probability 0.75 (A, C; F, H) or 0.25
    (B, D; E, G). Transfer: the 32 pairs of different value among the nine
    stimuli, each shown ``transfer_repeats`` times in random order and
    placement. Choices are placeholders (0) to be simulated.
    """
    learning_rows, transfer_rows = [], []
    pairs = SHOWN_TRANSFER_PAIRS
    for pid in participant_ids:
        trial_index = 0
        placements = {s: rng.permutation(np.arange(trials_per_pair) % 2) for s in range(N_PAIRS)}
        for block in range(trials_per_pair):
            for s in rng.permutation(N_PAIRS):
                better, worse = PAIR_SYMBOLS[s]
                left, right = (better, worse) if placements[s][block] == 0 else (worse, better)
                p_better, p_worse = OUTCOME_PROBABILITY[s]
                outcome = {better: OUTCOME_SIGN[s] * (rng.random_sample() < p_better),
                           worse: OUTCOME_SIGN[s] * (rng.random_sample() < p_worse)}
                learning_rows.append({
                    "participant_id": pid, "group_code": group_code,
                    "trial_type": LEARNING_TRIAL_TYPE, "trial_index": trial_index,
                    "symbol_L_name": STIMULUS_NAMES[left], "symbol_R_name": STIMULUS_NAMES[right],
                    "symbol_L_value": STIMULUS_VALUES[left], "symbol_R_value": STIMULUS_VALUES[right],
                    "feedback_L": outcome[left] + 0.0, "feedback_R": outcome[right] + 0.0,
                    "symbol_names": PAIR_NAMES[s], "context_val_name": PAIR_CONTEXTS[s],
                    "trial_number": block + 1, "choice_made": 0, "accuracy": 0,
                })
                trial_index += 1
        probes = [p for p in pairs for _ in range(transfer_repeats)]
        for k in rng.permutation(len(probes)):
            i, j = probes[k]
            left, right = (i, j) if rng.random_sample() < 0.5 else (j, i)
            transfer_rows.append({
                "participant_id": pid, "group_code": group_code,
                "trial_type": TRANSFER_TRIAL_TYPE, "trial_index": trial_index,
                "symbol_L_name": STIMULUS_NAMES[left], "symbol_R_name": STIMULUS_NAMES[right],
                "symbol_L_value": STIMULUS_VALUES[left], "symbol_R_value": STIMULUS_VALUES[right],
                "choice_made": 0, "accuracy": 0,
            })
            trial_index += 1
    return pd.DataFrame(learning_rows), pd.DataFrame(transfer_rows)

