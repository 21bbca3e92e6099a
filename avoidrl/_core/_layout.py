"""Task data as arrays: :class:`TaskData`, and how validated rows are laid out in it.

The last step of reading task data (:func:`avoidrl._core.data.load_task_data`),
after every rule was checked: the validated rows of each phase become the
arrays of :class:`TaskData` (pair-parallel learning chains, transfer
sequences and counts) that the likelihood kernels, the simulator and the
optimizer read. :mod:`avoidrl._core.data` re-exports :class:`TaskData`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .task import N_PAIRS, N_STIMULI, TRANSFER_PAIRS

#: Position in TRANSFER_PAIRS of each pair, at [lower, higher stimulus index]
#: (a table: a whole column of pairs is looked up at once).
_TRANSFER_PAIR_TABLE = np.full((N_STIMULI, N_STIMULI), -1, dtype=np.intp)
_TRANSFER_PAIR_TABLE[tuple(np.sort(TRANSFER_PAIRS, axis=1).T)] = np.arange(len(TRANSFER_PAIRS))


@dataclass(frozen=True, eq=False)
class TaskData:
    """Per-participant arrays of both task phases.

    Learning trials are laid out pair-parallel: the four pairs never interact,
    so trial ``t`` of the chain of pair ``s`` for participant ``p`` sits at
    ``[t, p, s]``. Missing trials (unequal counts) are padded and masked.
    A missed trial (no choice made) is no trial of its chain: it has no
    likelihood term and no update, so the chain runs over the trials with a
    choice; it is counted in ``n_missed_learning``. A missed transfer trial
    keeps its place in the participant's sequence (``transfer_shown``) but is
    not in ``transfer_mask`` or the counts.

    Attributes
    ----------
    participants : ndarray of object, shape (n_participants,)
    groups : ndarray of object, shape (n_participants,)
    choice : ndarray, shape (n_steps, n_participants, 4)
        1.0 when option 1 was chosen.
    outcome : ndarray, shape (n_steps, 2, n_participants, 4)
        Outcomes of option 0 and option 1.
    mask : ndarray of bool, shape (n_steps, n_participants, 4)
    learning_row : ndarray of int, shape (n_steps, n_participants, 4)
        Position of the trial in the participant's learning sequence (-1 = padding).
    n_learning, n_transfer : ndarray of int, shape (n_participants,)
        Trials with a choice (missed trials excluded): the n of the BIC.
    transfer_first, transfer_second : ndarray of int, shape (n_participants, n_probe)
        Stimulus index (0-8, A-H then N) of the higher- and lower-valued symbol.
    transfer_choice : ndarray of float, shape (n_participants, n_probe)
        1.0 when the lower-valued symbol was chosen.
    transfer_mask : ndarray of bool, shape (n_participants, n_probe)
        Transfer trials with a choice.
    transfer_pairs : ndarray of int, shape (n_shown, 2)
        The stimulus pairs shown in transfer (to anyone), as
        (higher-valued, lower-valued) stimulus indices.
    transfer_counts : ndarray of float, shape (n_participants, 2 * n_shown)
        For each shown pair, the number of trials on which the higher-valued
        symbol was chosen (first ``n_shown`` columns), then the number on which
        the lower-valued one was chosen (last ``n_shown`` columns).
    padded : bool
        Whether any learning chain is padded (unequal trial counts).
    n_missed_learning, n_missed_transfer : ndarray of int, shape (n_participants,)
        Missed trials (``choice_made`` missing) of each phase.
    transfer_shown : ndarray of bool, shape (n_participants, n_probe)
        Transfer trials shown, made or missed (the rest is padding).
    """

    participants: np.ndarray
    groups: np.ndarray
    choice: np.ndarray
    outcome: np.ndarray
    mask: np.ndarray
    learning_row: np.ndarray
    n_learning: np.ndarray
    transfer_first: np.ndarray
    transfer_second: np.ndarray
    transfer_choice: np.ndarray
    transfer_mask: np.ndarray
    transfer_pairs: np.ndarray
    transfer_counts: np.ndarray
    n_transfer: np.ndarray
    padded: bool
    n_missed_learning: np.ndarray
    n_missed_transfer: np.ndarray
    transfer_shown: np.ndarray

    @property
    def n_participants(self):
        return len(self.participants)

    @property
    def n_trials(self):
        """Trials with a choice per participant (missed trials excluded)."""
        return self.n_learning + self.n_transfer

    @property
    def n_missed(self):
        """Missed trials (no choice made) per participant, both phases."""
        return self.n_missed_learning + self.n_missed_transfer

    def subset(self, index):
        """Return the data of the participants at positions ``index``."""
        index = np.asarray(index, dtype=np.intp)
        mask = self.mask[:, index]
        return TaskData(
            participants=self.participants[index],
            groups=self.groups[index],
            choice=self.choice[:, index],
            outcome=self.outcome[:, :, index],
            mask=mask,
            learning_row=self.learning_row[:, index],
            n_learning=self.n_learning[index],
            transfer_first=self.transfer_first[index],
            transfer_second=self.transfer_second[index],
            transfer_choice=self.transfer_choice[index],
            transfer_mask=self.transfer_mask[index],
            transfer_pairs=self.transfer_pairs,
            transfer_counts=self.transfer_counts[index],
            n_transfer=self.n_transfer[index],
            padded=not bool(mask.all()),
            n_missed_learning=self.n_missed_learning[index],
            n_missed_transfer=self.n_missed_transfer[index],
            transfer_shown=self.transfer_shown[index],
        )



def learning_layout(learn, learn_pos, n):
    """The learning fields of TaskData from the rows' pair, choice and outcomes.

    ``learn`` holds per-row arrays (``pair``, ``choice``, ``outcome0``,
    ``outcome1``, ``made``), ``learn_pos`` each row's participant position,
    ``n`` the number of participants. Trial ``t`` of the chain of pair ``s``
    of participant ``p`` goes to ``[t, p, s]``; shorter chains are padded.
    Missed rows (``made`` False) keep their place in ``learning_row`` (the
    position among all of the participant's rows) but are in no chain.
    """
    # Learning: rank of each trial within its participant and within its (participant, pair) chain.
    order = np.argsort(learn_pos, kind="stable")
    row_in_participant = np.empty(len(learn_pos), dtype=np.intp)
    n_rows = np.bincount(learn_pos, minlength=n)
    starts = np.concatenate(([0], np.cumsum(n_rows)[:-1]))
    row_in_participant[order] = np.arange(len(order)) - np.repeat(starts, n_rows)
    made = learn["made"]
    # a missed trial has no term and no update: leaving it out of its chain is exactly that
    n_missed = np.bincount(learn_pos[~made], minlength=n)
    learn = {key: values[made] for key, values in learn.items()}
    learn_pos, row_in_participant = learn_pos[made], row_in_participant[made]
    n_learning = n_rows - n_missed
    chain = learn_pos * N_PAIRS + learn["pair"]
    order = np.argsort(chain, kind="stable")
    chain_len = np.bincount(chain, minlength=n * N_PAIRS)
    chain_starts = np.concatenate(([0], np.cumsum(chain_len)[:-1]))
    step = np.empty(len(chain), dtype=np.intp)
    step[order] = np.arange(len(order)) - np.repeat(chain_starts, chain_len)
    n_steps = int(chain_len.max()) if len(chain_len) else 0

    shape = (n_steps, n, N_PAIRS)
    choice = np.zeros(shape)
    outcome = np.zeros((n_steps, 2, n, N_PAIRS))
    mask = np.zeros(shape, dtype=bool)
    learning_row = np.full(shape, -1, dtype=np.intp)
    where = (step, learn_pos, learn["pair"])
    choice[where] = learn["choice"]
    outcome[step, 0, learn_pos, learn["pair"]] = learn["outcome0"]
    outcome[step, 1, learn_pos, learn["pair"]] = learn["outcome1"]
    mask[where] = True
    learning_row[where] = row_in_participant
    return {"choice": choice, "outcome": outcome, "mask": mask, "learning_row": learning_row,
            "n_learning": n_learning, "padded": not bool(mask.all()),
            "n_missed_learning": n_missed}


def transfer_layout(trans, trans_pos, n):
    """The transfer fields of TaskData from the rows' stimuli and choices.

    ``trans`` holds per-row arrays (``first``, ``second``, ``choice``,
    ``made``), ``trans_pos`` each row's participant position. A missed row
    keeps its place in the sequences but is not in ``transfer_mask`` or the
    counts; no rows at all (learning-only data) give empty sequences.
    """
    # Transfer: per-participant sequences and pair counts.
    n_transfer = np.bincount(trans_pos, minlength=n)
    order = np.argsort(trans_pos, kind="stable")
    t_starts = np.concatenate(([0], np.cumsum(n_transfer)[:-1]))
    t_row = np.empty(len(trans_pos), dtype=np.intp)
    t_row[order] = np.arange(len(order)) - np.repeat(t_starts, n_transfer)
    n_probe = int(n_transfer.max()) if n else 0
    first = np.zeros((n, n_probe), dtype=np.intp)
    second = np.zeros((n, n_probe), dtype=np.intp)
    t_choice = np.zeros((n, n_probe))
    t_mask = np.zeros((n, n_probe), dtype=bool)
    shown = np.zeros((n, n_probe), dtype=bool)
    first[trans_pos, t_row] = trans["first"]
    second[trans_pos, t_row] = trans["second"]
    made = trans["made"]
    t_choice[trans_pos[made], t_row[made]] = trans["choice"][made]
    t_mask[trans_pos, t_row] = made
    shown[trans_pos, t_row] = True
    n_missed = np.bincount(trans_pos[~made], minlength=n)
    trans = {key: values[made] for key, values in trans.items()}
    trans_pos = trans_pos[made]
    lo = np.minimum(trans["first"], trans["second"])
    hi = np.maximum(trans["first"], trans["second"])
    pair_index = _TRANSFER_PAIR_TABLE[lo, hi]
    counts = np.zeros((n, 2, len(TRANSFER_PAIRS)))
    np.add.at(counts, (trans_pos, trans["choice"].astype(np.intp), pair_index), 1.0)
    pairs = np.flatnonzero(counts.sum(axis=(0, 1)))
    counts = counts[:, :, pairs].reshape(n, 2 * len(pairs))
    return {"transfer_first": first, "transfer_second": second, "transfer_choice": t_choice,
            "transfer_mask": t_mask, "transfer_pairs": TRANSFER_PAIRS[pairs],
            "transfer_counts": counts, "n_transfer": n_transfer - n_missed,
            "n_missed_transfer": n_missed, "transfer_shown": shown}
