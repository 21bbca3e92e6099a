"""Batched negative log-likelihood kernel.

One call evaluates a batch of (participant, parameter vector) rows. The only
sequential part is the learning recursion, which runs pair-parallel: the four
pairs never interact, so 96 learning trials are 24 steps over arrays of shape
(batch, 4). The transfer phase has no learning and reduces to choice counts
per stimulus pair, so it costs one gather and no loop.

``-log P(a)`` for a two-option temperature softmax is ``softplus(z / T)`` with
``z = v_unchosen - v_chosen``; it is computed in a stable form after the
recursion, so no value can overflow whatever the temperature.
"""

from __future__ import annotations

import numpy as np



def softplus(x, out=None):
    """Stable ``log(1 + exp(x))`` (no overflow for large ``x``)."""
    tail = np.abs(x)
    np.negative(tail, tail)
    np.exp(tail, tail)
    tail += 1.0
    np.log(tail, tail)
    out = np.maximum(x, 0.0, out=out)
    out += tail
    return out


#: below this a probability computed through exp() has lost precision
_TINY = 1e-300


def choice_nll(x, noise=None, out=None):
    """``-log P(chosen)`` from ``x = (v_unchosen - v_chosen) / T``.

    With lapse ``noise`` ε: ``P = (1 - ε) softmax + ε / 2``. ``out=x``
    computes in place.
    """
    nll = softplus(x, out)
    if noise is None:
        return nll
    # -log((1-ε) exp(-nll) + ε/2). exp(-nll) loses precision (subnormal)
    # for nll > ~708 and underflows past ~745, which only happens when ε is
    # (nearly) 0 at a tiny T; those few entries are redone in log space.
    probability = np.exp(-nll)
    probability *= 1.0 - noise
    probability += noise / 2.0
    underflow = probability < _TINY
    with np.errstate(divide="ignore"):
        np.log(probability, probability)
    np.negative(probability, probability)
    if underflow.any():
        noise = np.broadcast_to(noise, nll.shape)[underflow]
        with np.errstate(divide="ignore"):
            probability[underflow] = -np.logaddexp(np.log1p(-noise) - nll[underflow],
                                                   np.log(noise / 2.0))
    if out is not None:
        out[...] = probability
        return out
    return probability


#: Rows evaluated per kernel pass: large batches are split so that the
#: per-trial arrays stay in cache (measured: B=1500 in one pass is ~40 %
#: slower per row than in passes of this size).
CHUNK_SIZE = 256


def expand_parameters(theta, n_pairs):
    """Copy (batch, 1) parameter columns to the state's shape (2, batch, n_pairs).

    Broadcasting costs 3-4x a same-shape operation in numpy, so parameters are
    expanded once, outside the trial loop. ``result[name][0]`` is the
    (batch, n_pairs) per-pair view.
    """
    return {k: np.broadcast_to(v, (2, v.shape[0], n_pairs)).copy() for k, v in theta.items()}


def learning_recursion(variant, theta, choice, outcome, chain_length=None, record=None,
                       guard=True):
    """Run the learning phase of a batch.

    Parameters
    ----------
    variant : ModelVariant
    theta : dict of (batch, 1) arrays
    choice : (n_steps, batch, 4) C-contiguous array
        1.0 where option 1 was chosen.
    outcome : (n_steps, 2, batch, 4) C-contiguous array
        Both options' outcomes.
    chain_length : (batch, 4) int array, optional
        Number of real trials of each pair chain when chains are padded; the
        state of a chain is frozen after its last real trial.
    record : dict, optional
        When given, filled with per-step arrays (n_steps, 2, batch, 4) of
        every state entry before the trial's update and of its prediction
        errors.
    guard : bool
        Handle measure-zero degenerate updates exactly (see the models'
        ``update``); without it such rows come out NaN.

    Returns
    -------
    difference : (n_steps, batch, 4) array
        v1 - v0 of the learning choice before each trial's update.
    state : dict of (2, batch, 4) arrays after each chain's last trial.
    """
    base = variant.base
    n_steps, batch, n_pairs = choice.shape
    shape = (2, batch, n_pairs)
    theta = expand_parameters(theta, n_pairs)
    inputs = variant.prepare({k: v[0] for k, v in theta.items()}, choice, outcome)
    state = base.initial_state(shape[1:])
    scratch = np.empty(shape)
    systems = [(state[s], np.empty((n_steps, batch, n_pairs))) for s in base.value_systems]
    final = None
    if chain_length is not None:
        final = {k: v.copy() for k, v in state.items()}
    for t in range(n_steps):
        for values, out in systems:
            np.subtract(values[1], values[0], out[t])
        if record is not None:
            for key, value in state.items():
                record.setdefault(key, np.empty((n_steps,) + shape))[t] = value
        errors = base.update(state, inputs, t, theta, scratch, guard)
        if record is not None:
            for key, value in errors.items():
                record.setdefault(key, np.empty((n_steps,) + shape))[t] = value
        if final is not None:
            ended = chain_length == t + 1
            if ended.any():
                for key, value in state.items():
                    final[key][:, ended] = value[:, ended]
    difference = base.mix_values([out for _, out in systems], theta)
    return difference, (state if final is None else final)


class _Batch:
    """The data of each batch row's participant, gathered for the kernel.

    ``np.take`` keeps the time-major layout C-contiguous, so each trial's
    slice is contiguous (a strided slice makes every operation ~3x slower).
    """

    def __init__(self, data, owner):
        self.data = data
        self.owner = owner
        self.choice = np.take(data.choice, owner, axis=1)
        self.outcome = np.take(data.outcome, owner, axis=2)
        self.sign = 1.0 - 2.0 * self.choice  # x = (1 - 2 a) (v1 - v0) / T
        self.padding = None
        self.chain_length = None
        if data.padded:
            mask = np.take(data.mask, owner, axis=1)
            self.padding = ~mask
            self.chain_length = mask.sum(axis=0)
        self.transfer_pairs = data.transfer_pairs
        self.transfer_counts = data.transfer_counts[owner]

    def rows(self, index):
        """The sub-batch of rows ``index``."""
        return _Batch(self.data, self.owner[index])


def _evaluate(variant, batch, params, guard=False):
    theta = variant.theta(params)
    inverse_temperature = 1.0 / theta["temperature"]
    noise = theta["noise_factor"] if variant.base.lapse else None
    with np.errstate(invalid="ignore"):  # unguarded degenerate updates give NaN, redone below
        difference, state = learning_recursion(
            variant, theta, batch.choice, batch.outcome, batch.chain_length, guard=guard)
    n_pairs = difference.shape[2]
    scale = batch.sign * np.repeat(inverse_temperature, n_pairs, axis=1)
    difference *= scale
    learning_noise = None if noise is None else np.repeat(noise, n_pairs, axis=1)
    terms = choice_nll(difference, learning_noise, out=difference)
    if batch.padding is not None:
        terms[batch.padding] = 0.0
    # Reducing the leading axis first is several times faster than axis=(0, 2).
    learning = terms.sum(axis=0).sum(axis=1)

    # Transfer: x = -gap / T when the higher-valued symbol was chosen, +gap / T
    # when the lower-valued one was; counts hold both cases side by side.
    values = variant.transfer_values(state, theta)
    pairs = batch.transfer_pairs
    n_shown = len(pairs)
    x = np.empty((len(params), 2 * n_shown))
    np.subtract(values[:, pairs[:, 1]], values[:, pairs[:, 0]], x[:, :n_shown])
    np.negative(x[:, :n_shown], x[:, n_shown:])
    x *= inverse_temperature
    terms = choice_nll(x, noise, out=x)
    terms *= batch.transfer_counts
    transfer = terms.sum(axis=1)
    if not guard:
        redo = np.flatnonzero(np.isnan(learning) | np.isnan(transfer))
        if redo.size:
            # Rare: a degenerate actor update (or NaN parameters); redo exactly.
            learning[redo], transfer[redo] = _evaluate(
                variant, batch.rows(redo), params[redo], guard=True)
    return learning, transfer


def _check_params(variant, params):
    params = np.atleast_2d(np.asarray(params, dtype=float))
    if params.ndim != 2 or params.shape[1] != variant.n_parameters:
        raise ValueError(
            f"{variant.name} has {variant.n_parameters} parameters "
            f"{list(variant.parameter_names)}, got an array of shape {params.shape}"
        )
    return params


class Objective:
    """Batched negative log-likelihood of one model variant on one dataset.

    Calling it with ``(params, owner)`` returns the total NLL of each row.
    Rows are evaluated in chunks of ``CHUNK_SIZE``, each chunk's data gathered
    just before it is evaluated so that they are still in cache. (Caching the
    gathered data across calls does not pay: an optimizer's set of pending
    rows changes almost every round, and holding large arrays slowed
    allocation.)

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
    """

    def __init__(self, variant, data):
        self.variant = variant
        self.data = data

    def phases(self, params, owner=None):
        """Return ``(learning, transfer)`` NLL arrays of shape (batch,)."""
        params = _check_params(self.variant, params)
        batch = params.shape[0]
        owner = np.arange(batch) if owner is None else np.asarray(owner, dtype=np.intp)
        if owner.shape != (batch,):
            raise ValueError(f"owner must have shape ({batch},), got {owner.shape}")
        learning = np.empty(batch)
        transfer = np.empty(batch)
        for start in range(0, batch, CHUNK_SIZE):
            rows = slice(start, start + CHUNK_SIZE)
            learning[rows], transfer[rows] = _evaluate(
                self.variant, _Batch(self.data, owner[rows]), params[rows])
        return learning, transfer

    def __call__(self, params, owner=None):
        learning, transfer = self.phases(params, owner)
        return learning + transfer


def negative_log_likelihood(variant, data, params, owner=None):
    """Negative log-likelihood of each (participant, parameter vector) row.

    Parameters
    ----------
    variant : ModelVariant
    data : TaskData
    params : array-like, shape (batch, k)
        Parameter vectors in ``variant.parameter_names`` order.
    owner : array-like of int, shape (batch,), optional
        Participant position (in ``data``) of each row; defaults to
        ``arange(batch)`` (one vector per participant).

    Returns
    -------
    learning, transfer : ndarray, shape (batch,)
        The two phases' negative log-likelihoods; their sum is the total.
    """
    return Objective(variant, data).phases(params, owner)
