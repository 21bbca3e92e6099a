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
    out = np.maximum(x, 0.0, out)
    out += tail
    return out


def choice_nll(x, noise=None, out=None):
    """``-log P(chosen)`` from ``x = (v_unchosen - v_chosen) / T``.

    With lapse ``noise`` ε: ``P = (1 - ε) softmax + ε / 2``. ``out=x``
    computes in place.
    """
    nll = softplus(x, out)
    if noise is None:
        return nll
    # -log((1-ε) exp(-nll) + ε/2), stable because exp(-nll) is in (0, 1].
    np.negative(nll, nll)
    np.exp(nll, nll)
    nll *= 1.0 - noise
    nll += noise / 2.0
    np.log(nll, nll)
    np.negative(nll, nll)
    return nll


#: Rows evaluated per kernel pass: large batches are split so that the
#: per-trial arrays stay in cache (measured: B=1500 in one pass is ~40 %
#: slower per row than in passes of this size).
CHUNK_SIZE = 256


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
    # Broadcasting costs 3-4x a same-shape operation in numpy, so parameters
    # are expanded once to the state's shape.
    theta = {k: np.broadcast_to(v, shape).copy() for k, v in theta.items()}
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


def _evaluate(variant, data, params, owner, guard=False):
    theta = variant.theta(params)
    inverse_temperature = 1.0 / theta["temperature"]
    noise = theta["noise_factor"] if variant.base.lapse else None
    # np.take keeps the time-major layout C-contiguous, so each trial's slice
    # is contiguous (a strided slice makes every operation ~3x slower).
    choice = np.take(data.choice, owner, axis=1)
    padded = data.padded
    chain_length = data.mask[:, owner].sum(axis=0) if padded else None
    difference, state = learning_recursion(
        variant, theta, choice, np.take(data.outcome, owner, axis=2), chain_length,
        guard=guard)
    # x = (v_unchosen - v_chosen) / T = (1 - 2 a) (v1 - v0) / T
    scale = 1.0 - 2.0 * choice
    scale *= np.repeat(inverse_temperature, scale.shape[2], axis=1)
    difference *= scale
    learning_noise = None if noise is None else np.repeat(noise, scale.shape[2], axis=1)
    terms = choice_nll(difference, learning_noise, out=difference)
    if padded:
        terms[~data.mask[:, owner]] = 0.0
    # Reducing the leading axis first is several times faster than axis=(0, 2).
    learning = terms.sum(axis=0).sum(axis=1)

    # Transfer: x = -gap / T when the higher-valued symbol was chosen, +gap / T
    # when the lower-valued one was; counts hold both cases side by side.
    values = variant.transfer_values(state, theta)
    pairs = data.transfer_pairs
    n_shown = len(pairs)
    x = np.empty((len(owner), 2 * n_shown))
    np.subtract(values[:, pairs[:, 1]], values[:, pairs[:, 0]], x[:, :n_shown])
    np.negative(x[:, :n_shown], x[:, n_shown:])
    x *= inverse_temperature
    terms = choice_nll(x, noise, out=x)
    terms *= data.transfer_counts[owner]
    transfer = terms.sum(axis=1)
    if not guard:
        redo = np.flatnonzero(np.isnan(learning) | np.isnan(transfer))
        if redo.size:
            learning[redo], transfer[redo] = _evaluate(
                variant, data, params[redo], owner[redo], guard=True)
    return learning, transfer


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
    params = np.atleast_2d(np.asarray(params, dtype=float))
    batch = params.shape[0]
    if params.ndim != 2 or params.shape[1] != variant.n_parameters:
        raise ValueError(
            f"{variant.name} has {variant.n_parameters} parameters "
            f"{list(variant.parameter_names)}, got an array of shape {params.shape}"
        )
    owner = np.arange(batch) if owner is None else np.asarray(owner, dtype=np.intp)
    if owner.shape != (batch,):
        raise ValueError(f"owner must have shape ({batch},), got {owner.shape}")
    if batch <= CHUNK_SIZE:
        return _evaluate(variant, data, params, owner)
    learning = np.empty(batch)
    transfer = np.empty(batch)
    for start in range(0, batch, CHUNK_SIZE):
        part = slice(start, start + CHUNK_SIZE)
        learning[part], transfer[part] = _evaluate(variant, data, params[part], owner[part])
    return learning, transfer
