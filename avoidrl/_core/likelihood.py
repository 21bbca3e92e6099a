"""Batched negative log-likelihood kernel.

One call evaluates a batch of (participant, parameter vector) rows. The only
sequential part is the learning recursion, which runs pair-parallel: the four
pairs never interact, so 96 learning trials are 24 steps over arrays of shape
(batch, 4). The transfer phase has no learning and reduces to choice counts
per stimulus pair, so it costs one gather and no loop.

Missed trials (no choice made) are in no chain and no transfer count
(:mod:`avoidrl._core._layout`): they add no term and no update, so neither
kernel needs to know of them.

``-log P(a)`` for a two-option temperature softmax is ``softplus(z / T)`` with
``z = v_unchosen - v_chosen``; it is computed in a stable form after the
recursion, so no value can overflow whatever the temperature.

Everything that depends on the data alone (the sign of each learning choice,
the transfer counts) is derived once per dataset (:class:`_TaskArrays`), and
gathered per batch row. The time goes to numpy's per-call overhead (about
0.3-1 us per ufunc call at these array sizes) more than to arithmetic, so
the kernel is written to make few calls over few, contiguous arrays.

When numba is installed, a model evaluated often enough runs its learning
recursion compiled instead (:mod:`avoidrl._core.compiled`, generated from the same
declaration); the results are bit-identical, so which kernel runs never
changes a fit.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from . import _gradient, compiled
from ._choice import _transfer_nll, choice_nll, softplus  # noqa: F401  (importable here as before)

#: Rows evaluated per kernel pass: large batches are split so that the
#: per-trial arrays stay in cache (measured: B=1500 in one pass is ~40 %
#: slower per row than in passes of this size).
CHUNK_SIZE = 256


def expand_parameters(theta, n_pairs):
    """Copy (batch, 1) parameter columns to the state's shape (2, batch, n_pairs).

    Broadcasting costs 3-4x a same-shape operation in numpy, so parameters are
    expanded once, outside the trial loop, in one copy. ``result[name][0]`` is
    the (batch, n_pairs) per-pair view.
    """
    names = list(theta)
    batch = theta[names[0]].shape[0] if names else 0
    expanded = np.empty((len(names), 2, batch, n_pairs))
    for k, name in enumerate(names):
        expanded[k] = theta[name]
    return dict(zip(names, expanded))


def learning_recursion(variant, theta, choice, outcome, chain_length=None, record=None,
                       guard=True):
    """Run the learning phase of a batch.

    Parameters
    ----------
    variant : ModelVariant
    theta : dict of (batch, 1) arrays
    choice : (n_steps, batch, 4) C-contiguous array
        1.0 (or True) where option 1 was chosen.
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
    chose1 = choice if choice.dtype == bool else choice == 1.0
    inputs = variant.prepare({k: v[0] for k, v in theta.items()}, chose1, outcome)
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


class _TaskArrays:
    """What the kernel needs of a dataset, derived once per dataset."""

    def __init__(self, data):
        self.data = data
        self.chose1 = data.choice == 1.0
        self.sign = 1.0 - 2.0 * data.choice  # x = (1 - 2 a) (v1 - v0) / T
        n_steps = data.choice.shape[0]
        self.chain_length = (data.mask.sum(axis=0) if data.padded
                             else np.full(data.choice.shape[1:], n_steps)).astype(np.intp)


class _Batch:
    """The data of each batch row's participant, gathered for the kernel when first used.

    ``np.take`` keeps the time-major layout C-contiguous, so each trial's
    slice is contiguous (a strided slice makes every operation ~3x slower).
    The compiled kernel reads the learning data through ``owner`` instead.
    """

    def __init__(self, arrays, owner):
        data = arrays.data
        self.arrays = arrays
        self.owner = owner
        self.padding = None
        self.chain_length = None
        if data.padded:
            mask = np.take(data.mask, owner, axis=1)
            self.padding = ~mask
            self.chain_length = mask.sum(axis=0)
        self.transfer_pairs = data.transfer_pairs

    @cached_property
    def transfer_counts(self):
        return self.arrays.data.transfer_counts[self.owner]

    @cached_property
    def chose1(self):
        return np.take(self.arrays.chose1, self.owner, axis=1)

    @cached_property
    def outcome(self):
        return np.take(self.arrays.data.outcome, self.owner, axis=2)

    @cached_property
    def sign(self):
        return np.take(self.arrays.sign, self.owner, axis=1)

    def rows(self, index):
        """The sub-batch of rows ``index``."""
        return _Batch(self.arrays, self.owner[index])


def _numpy_differences(variant, batch, theta, guard):
    """``(1 - 2 a) (v1 - v0) / T`` per trial and the final state, by the numpy recursion."""
    with np.errstate(invalid="ignore"):  # unguarded degenerate updates give NaN, redone later
        difference, state = learning_recursion(
            variant, theta, batch.chose1, batch.outcome, batch.chain_length, guard=guard)
    difference *= batch.sign
    difference *= np.repeat(1.0 / theta["temperature"], difference.shape[2], axis=1)
    return difference, state


def _compiled_phases(kernel, variant, batch, params, theta):
    """Both phases' NLL (guard=False) with a compiled recursion; as :func:`_phases` does."""
    arrays, base = batch.arrays, variant.base
    data = arrays.data
    n_steps, _, n_pairs = arrays.chose1.shape
    batch_size = len(params)
    if variant.bias:  # the valence bias depends on the row's parameter
        pair_theta = {k: np.repeat(v, n_pairs, axis=1) for k, v in theta.items()}
        outcome = variant.transform_outcomes(pair_theta, batch.outcome)
        outcome_row = np.arange(batch_size)
    else:
        outcome, outcome_row = data.outcome, batch.owner
    initial = base.initial_state((batch_size, n_pairs))
    initial = np.stack([initial[name] for name in base.state_names])
    work = np.empty(batch_size * (n_steps * n_pairs + len(data.transfer_pairs)))
    difference, final = compiled.learning_differences(
        kernel, np.ascontiguousarray(params[:, :len(base.parameters)]), batch.owner,
        arrays.chose1, outcome, outcome_row, arrays.sign, arrays.chain_length, initial,
        work[:n_steps * batch_size * n_pairs].reshape(n_steps, batch_size, n_pairs))
    state = dict(zip(base.state_names, final))
    if base.lapse:
        return _phases(variant, batch, theta, difference, state)
    values = np.ascontiguousarray(variant.transfer_values(state, theta), dtype=float)
    return compiled.nll_sums(
        difference, work, batch.owner, values, data.transfer_pairs,
        1.0 / params[:, variant.parameter_names.index("temperature")], data.transfer_counts)


def _phases(variant, batch, theta, difference, state):
    """Both phases' NLL from the learning differences and the final state."""
    noise = theta["noise_factor"] if variant.base.lapse else None
    learning_noise = None if noise is None else np.repeat(noise, difference.shape[2], axis=1)
    terms = choice_nll(difference, learning_noise, out=difference)
    if batch.padding is not None:
        terms[batch.padding] = 0.0
    # Reducing the leading axis first is several times faster than axis=(0, 2).
    learning = terms.sum(axis=0).sum(axis=1)
    transfer = _transfer_nll(batch, variant.transfer_values(state, theta),
                             1.0 / theta["temperature"], noise)
    return learning, transfer


def _evaluate(variant, batch, params, guard=False):
    theta = variant.theta(params)
    kernel = None if guard else compiled.kernel_for(variant.base, len(params))
    if kernel is not None and compiled.needs_check(variant.base):
        kernel = _checked(kernel, variant, batch, params, theta)
    if kernel is None:
        return _numpy_phases(variant, batch, params, theta, guard)
    # the built-in actor's 0 / 0 is handled exactly in compiled code; a user
    # model's unguarded degenerate case (or NaN parameters) is still redone
    return _redo_nan_rows(variant, batch, params,
                          *_compiled_phases(kernel, variant, batch, params, theta))


def _numpy_phases(variant, batch, params, theta, guard):
    difference, state = _numpy_differences(variant, batch, theta, guard)
    phases = _phases(variant, batch, theta, difference, state)
    return phases if guard else _redo_nan_rows(variant, batch, params, *phases)


def _redo_nan_rows(variant, batch, params, learning, transfer):
    """Re-evaluate NaN rows with the guarded numpy kernel (a degenerate update, NaN params)."""
    redo = np.flatnonzero(np.isnan(learning + transfer))
    if redo.size:
        learning[redo], transfer[redo] = _numpy_phases(
            variant, batch.rows(redo), params[redo], variant.theta(params[redo]), guard=True)
    return learning, transfer


def _checked(kernel, variant, batch, params, theta):
    """Compare a new compiled kernel with the numpy kernel on this batch; keep it if bit-equal."""
    expected = _numpy_phases(variant, batch, params, theta, guard=False)
    try:
        got = _compiled_phases(kernel, variant, batch, params, theta)
    except Exception:  # noqa: BLE001  (e.g. a type numba refuses in user code: keep numpy)
        got = None
    passed = got is not None and all(np.array_equal(g, e, equal_nan=True)
                                     for g, e in zip(got, expected))
    compiled.record_check(variant.base, passed)
    return kernel if passed else None


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
        self._arrays = _TaskArrays(data)
        self._duals_work = True

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
                self.variant, _Batch(self._arrays, owner[rows]), params[rows])
        return learning, transfer

    def value_and_gradient(self, params, owner=None):
        """Total NLL of each row and its exact gradient in natural units.

        Returns ``(nll, gradient)`` of shapes (batch,) and (batch, k), the
        gradient's columns in ``variant.parameter_names`` order; ``nll`` is
        bit-identical to ``self(params, owner)``. See
        :mod:`avoidrl._core._gradient` (forward mode from the declaration).
        """
        params = _check_params(self.variant, params)
        batch = params.shape[0]
        owner = np.arange(batch) if owner is None else np.asarray(owner, dtype=np.intp)
        if owner.shape != (batch,):
            raise ValueError(f"owner must have shape ({batch},), got {owner.shape}")
        if not self._duals_work:
            return self._forward_differences(params, owner)
        value = np.empty(batch)
        gradient = np.empty((batch, self.variant.n_parameters))
        for start in range(0, batch, CHUNK_SIZE):
            rows = slice(start, start + CHUNK_SIZE)
            try:
                value[rows], gradient[rows] = _gradient.value_and_gradient(
                    self.variant, _Batch(self._arrays, owner[rows]), params[rows])
            except TypeError:
                # a user declaration doing what dual numbers do not take (an
                # unsupported numpy function): forward differences from now on
                self._duals_work = False
                return self._forward_differences(params, owner)
        return value, gradient

    #: step of the fallback's forward differences (SciPy's default absolute step)
    _STEP = 1e-8

    def _forward_differences(self, params, owner):
        """``(nll, gradient)`` by forward differences, for declarations duals cannot run."""
        k = params.shape[1]
        points = np.repeat(params[:, None, :], k + 1, axis=1)
        points[:, 1:, :] += self._STEP * np.eye(k)
        values = self(points.reshape(-1, k), np.repeat(owner, k + 1)).reshape(-1, k + 1)
        return values[:, 0], (values[:, 1:] - values[:, :1]) / self._STEP

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
