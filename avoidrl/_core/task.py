"""The task table: pairs, stimuli, contexts and the outcome design, stated once.

The avoidance-learning task (reference-spec section 1) has four learning
pairs, two in a reward context and two in a loss-avoidance context, and a
transfer phase over the nine stimuli (the pairs' eight symbols and a novel
one). Everything else in avoidrl that needs one of these facts (the data
loader :mod:`avoidrl._core.data`, the simulator :mod:`avoidrl._core.simulate`,
the model declarations, the estimators' trial tables) reads it from here, at
the start of the flow data -> kernel -> fit -> tables -> figures -> folder.

Conventions: option 0 of a pair is its better symbol (the higher
``symbol_*_value``), option 1 the worse; stimulus ``2 * pair + option`` is
that symbol in the transfer phase, and the novel stimulus N comes last.
"""

from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- pairs
#: The four learning pairs, in state order (AB, CD, EF, GH), as the data name them.
PAIR_NAMES = ("Reward1", "Reward2", "Punish1", "Punish2")
#: The pairs' letters (their two symbols' letters, better first), in state order.
PAIR_LETTERS = ("AB", "CD", "EF", "GH")
#: Each pair's context, in state order.
PAIR_CONTEXTS = ("Reward", "Reward", "Loss Avoid", "Loss Avoid")
N_PAIRS = len(PAIR_NAMES)
#: Symbol values each pair may show (higher value = option 0).
PAIR_VALUES = {"Reward1": {3, 4}, "Reward2": {3, 4}, "Punish1": {1, 2}, "Punish2": {1, 2}}
#: Feedback each pair may give (reference-spec section 1.1): reward pairs win
#: +10 or nothing, loss-avoidance pairs lose 10 or nothing.
PAIR_FEEDBACK = {"Reward1": (0.0, 10.0), "Reward2": (0.0, 10.0),
                 "Punish1": (-10.0, 0.0), "Punish2": (-10.0, 0.0)}
#: The feedback a pair's symbol gives when it yields its outcome (+10 or -10),
#: in state order: the non-zero one of ``PAIR_FEEDBACK``.
OUTCOME_SIGN = tuple(low + high for low, high in (PAIR_FEEDBACK[p] for p in PAIR_NAMES))
#: Probability that option 0 and option 1 of each pair (in state order) yield
#: their outcome in the standard design: the better symbol wins more often in
#: reward pairs and loses less often in loss-avoidance pairs.
OUTCOME_PROBABILITY = ((0.75, 0.25), (0.75, 0.25), (0.25, 0.75), (0.25, 0.75))

# -------------------------------------------------------------- stimuli
#: Transfer stimuli, indexed as 2 * pair + option; the novel stimulus N last.
STIMULUS_NAMES = ("75R1", "25R1", "75R2", "25R2", "25P1", "75P1", "25P2", "75P2", "Zero")
STIMULUS_LETTERS = ("A", "B", "C", "D", "E", "F", "G", "H", "N")
STIMULUS_VALUES = (4, 3, 4, 3, 2, 1, 2, 1, 0)
N_STIMULI = len(STIMULUS_NAMES)
#: Stimulus indices of each pair's options (better, worse), in state order.
PAIR_SYMBOLS = tuple((2 * s, 2 * s + 1) for s in range(N_PAIRS))

# ------------------------------------------------------- transfer pairs
#: Every unordered transfer pair as (higher-valued, lower-valued) stimulus index.
#: The four equal-valued pairs (AC, BD, EG, FH) are never shown; keeping them
#: makes the indexing a plain enumeration.
TRANSFER_PAIRS = np.array(
    [
        (i, j) if STIMULUS_VALUES[i] >= STIMULUS_VALUES[j] else (j, i)
        for i in range(N_STIMULI)
        for j in range(i + 1, N_STIMULI)
    ],
    dtype=np.intp,
)
#: The transfer pairs the standard design shows (the 32 of different value), as
#: stimulus indices ``(i, j)`` with ``i < j``, in enumeration order.
SHOWN_TRANSFER_PAIRS = tuple(
    (i, j) for i in range(N_STIMULI) for j in range(i + 1, N_STIMULI)
    if STIMULUS_VALUES[i] != STIMULUS_VALUES[j])
