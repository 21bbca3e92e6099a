"""Exact gradients of the negative log-likelihood, from the model's own declaration.

Forward mode, in both kernels:

* numpy: the declaration's ``prepare`` / ``update`` / ``mix_values`` /
  ``transfer_values`` run on :class:`~avoidrl._core._dual.Dual` arrays (value
  + one derivative per parameter), so any declaration gets its gradient,
  user models included, with or without numba;
* compiled: the tape that :mod:`avoidrl._core.compiled` traces from the same
  declaration is differentiated line by line into a second numba kernel
  (:mod:`avoidrl._core._tangent_source`) that carries the tangents of the
  state along the recursion. Only the tangents that are not identically zero
  are generated (a Q value never depends on the actor's learning rates), so
  the kernel does a few times the work of the value kernel, not ``k`` times.

Both hand over the same things to one shared tail here: the signed,
temperature-scaled choice differences ``x`` of the learning trials and their
derivatives, and the final state as duals. The tail differentiates the choice
rule (softplus, and the lapse mixture) and the transfer phase: the final
state through ``transfer_values`` on duals, or, on the compiled path, through
the variant's transfer kernel (``transfer_values`` traced and differentiated
the same way, :func:`~avoidrl._core._tangent_source.generate_transfer`). The
value it returns is computed by the likelihood's own functions on the same
``x`` and state, so it is bit-identical to
:class:`~avoidrl._core.likelihood.Objective`'s. On the compiled path
(without lapse) the same tail runs as two compiled passes around numpy's
``exp`` and ``log`` (:mod:`avoidrl._core._gradient_tails`), with the same
bits.

Gradients are with respect to the parameters in natural units, in
``variant.parameter_names`` order. Where the likelihood has a kink the
one-sided choice is documented in :mod:`avoidrl._core._dual`: at the actor's
L1 normalisation with both weights exactly 0 (weights restarted at 0.5) the
derivative of the restarted weights is 0, and ``|w|`` at ``w = 0`` has
derivative 0.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from . import _dual, _gradient_tails, compiled
from ._choice import _transfer_nll, choice_nll, softplus
from .task import N_STIMULI


def _softplus_and_slope(x):
    """``softplus(x)`` (the same bits as :func:`softplus`) and its slope, from one ``exp``.

    With ``e = exp(-|x|)``: ``softplus = max(x, 0) + log(1 + e)`` and the slope
    ``sigmoid(x)`` is ``1 / (1 + e)`` for ``x >= 0``, ``e / (1 + e)`` below.
    """
    tail = np.abs(x)
    np.negative(tail, tail)
    with np.errstate(over="ignore"):
        np.exp(tail, tail)
    tail += 1.0
    slope = np.where(x >= 0.0, 1.0, tail - 1.0)
    slope /= tail
    np.log(tail, tail)
    value = np.maximum(x, 0.0)
    value += tail
    return value, slope


def _sigmoid_both(x):
    """``sigmoid(x)`` and ``sigmoid(-x)`` from one ``exp``."""
    share = np.abs(x)
    np.negative(share, share)
    np.exp(share, share)  # e = exp(-|x|) <= 1
    larger = share + 1.0
    np.reciprocal(larger, larger)  # 1 / (1 + e)
    share *= larger  # e / (1 + e)
    up = x >= 0.0
    return np.where(up, larger, share), np.where(up, share, larger)


def _lapse_slopes(x, noise, nll):
    """d nll / dx and d nll / dε of ``nll = -log((1 - ε) sigmoid(-x) + ε / 2)``."""
    with np.errstate(divide="ignore", over="ignore"):
        # share of the softmax in P, in log space (P itself may underflow)
        share = expit(np.log1p(-noise) - softplus(x) - np.log(noise / 2.0))
        by_noise = (expit(-x) - 0.5) * np.exp(nll)
    return share * expit(x), by_noise


def _contract_numpy(weight, tangent, out):
    """``out[b, j] += sum over t, p of weight[t, b, p] * tangent[t, b, p, j]``, t then p.

    The fixed order (and elementwise operations only) makes the result the
    same bits for any batch and the same as :func:`_contract_compiled`'s.
    """
    for t in range(weight.shape[0]):
        for p in range(weight.shape[2]):
            out += weight[t, :, p, None] * tangent[t, :, p, :]


def _contract_loops(weight, tangent, out):
    for b in range(weight.shape[1]):
        for t in range(weight.shape[0]):
            for p in range(weight.shape[2]):
                w = weight[t, b, p]
                for j in range(tangent.shape[3]):
                    out[b, j] += w * tangent[t, b, p, j]


def _by_value_numpy(slope, pairs, tangent, inverse_temperature, out):
    """``out[b, j] += sum over stimuli i of (dNLL / dv_i) dv_i / dθ_j`` from the pairs' slopes.

    In a fixed order of elementwise operations, as :func:`_by_value_loops`.
    """
    by_value = np.zeros(tangent.shape[:2])
    for j in range(len(pairs)):
        by_value[:, pairs[j, 1]] += slope[:, j]
        by_value[:, pairs[j, 0]] -= slope[:, j]
    by_value *= inverse_temperature
    for i in range(tangent.shape[1]):
        out += by_value[:, i, None] * tangent[:, i, :]


def _by_value_loops(slope, pairs, tangent, inverse_temperature, out):
    by_value = np.zeros(tangent.shape[1])
    for b in range(tangent.shape[0]):
        by_value[:] = 0.0
        for j in range(pairs.shape[0]):
            by_value[pairs[j, 1]] += slope[b, j]
            by_value[pairs[j, 0]] -= slope[b, j]
        for i in range(tangent.shape[1]):
            weight = by_value[i] * inverse_temperature[b, 0]
            for k in range(tangent.shape[2]):
                out[b, k] += weight * tangent[b, i, k]


@compiled.once
def _compiled_helpers():
    """The two contractions, compiled (the numpy versions give the same bits)."""
    import numba

    return (compiled._jit(numba, _contract_loops, nogil=True),
            compiled._jit(numba, _by_value_loops, nogil=True))


def _learning(variant, batch, theta, x, d_difference, weight, use_compiled):
    """Learning NLL of each row and its gradient.

    ``x = sign D / T`` per trial, ``d_difference`` (n_steps, batch, 4, k) the
    derivatives of ``D`` (``mix_values``'s difference) and ``weight`` is
    ``sign / T``; so ``dx / dθ_j = weight dD_j``, plus ``-x / T`` for T.
    """
    lapse = variant.base.lapse
    noise = np.repeat(theta["noise_factor"], x.shape[2], axis=1) if lapse else None
    if lapse:
        terms = choice_nll(x.copy(), noise)
        slope, by_noise = _lapse_slopes(x, noise, terms)
    else:
        terms, slope = _softplus_and_slope(x)
    if batch.padding is not None:
        terms[batch.padding] = 0.0
        slope[batch.padding] = 0.0
        if lapse:
            by_noise[batch.padding] = 0.0
    value = terms.sum(axis=0).sum(axis=1)
    gradient = np.zeros((x.shape[1], d_difference.shape[3]))
    weight *= slope
    if use_compiled:
        _compiled_helpers()[0](weight, d_difference, gradient)
    else:
        _contract_numpy(weight, d_difference, gradient)
    names = variant.parameter_names
    slope *= x
    gradient[:, names.index("temperature")] -= \
        slope.sum(axis=0).sum(axis=1) / theta["temperature"][:, 0]
    if lapse:
        gradient[:, names.index("noise_factor")] += by_noise.sum(axis=0).sum(axis=1)
    return value, gradient


def _dual_transfer_values(variant, params, state):
    """The nine transfer values of each row and their tangents, by ``transfer_values`` on duals."""
    theta = _dual.seed(variant.theta(params))
    values = variant.transfer_values(state, theta)
    if not isinstance(values, _dual.Dual):  # the values depend on no parameter
        values = _dual.Dual(np.asarray(values, dtype=float),
                            np.zeros(np.shape(values) + (variant.n_parameters,)))
    return values


def _compiled_transfer_values(kernel, params, final):
    """The same by the compiled transfer kernel, from the stacked state ``(final, d_final)``."""
    size, k = params.shape
    values = np.zeros((size, N_STIMULI))
    tangent = np.zeros((size, N_STIMULI, k))
    kernel(np.ascontiguousarray(params), final[0], final[1], values, tangent)
    return _dual.Dual(values, tangent)


def _stacked(variant, state):
    """The final state (duals) as the tangent kernel leaves it: ``(final, d_final)``."""
    names = variant.base.state_names
    return (np.stack([state[name].value for name in names]),
            np.stack([state[name].tangent for name in names]))


def _transfer_values(variant, params, state, final):
    """Transfer values and tangents: compiled when ``final`` (the stacked state) is given.

    A new transfer kernel is first compared with the duals on this chunk (and
    dropped unless every bit agrees); the duals' values are used meanwhile.
    """
    kernel = compiled.transfer_kernel_for(variant, len(params))
    key = compiled.transfer_key(variant)
    if kernel is not None and compiled.needs_check(key):
        # the kernel first, on the state the duals then see (transfer_values may change it)
        try:
            got = _compiled_transfer_values(
                kernel, params, _stacked(variant, state) if final is None else final)
        except Exception:  # noqa: BLE001  (e.g. a type numba refuses in user code: keep numpy)
            got = None
        expected = _dual_transfer_values(variant, params, state)
        compiled.record_check(key, got is not None
                              and np.array_equal(got.value, expected.value)
                              and np.array_equal(got.tangent, expected.tangent))
        return expected
    if kernel is not None and final is not None:
        return _compiled_transfer_values(kernel, params, final)
    return _dual_transfer_values(variant, params, state)


def _transfer(variant, batch, params, state, final=None):
    """Transfer NLL of each row and its gradient, from the final state.

    ``state`` holds duals; ``final``, the same stacked as the tangent kernel
    leaves it, when the compiled path runs (None on the numpy path).
    """
    names = variant.parameter_names
    values = _transfer_values(variant, params, state, final)
    use_compiled = final is not None
    inverse_temperature = 1.0 / params[:, names.index("temperature"), None]
    noise = params[:, names.index("noise_factor"), None] if variant.base.lapse else None
    value = _transfer_nll(batch, values.value, inverse_temperature, noise)
    pairs = batch.transfer_pairs
    x = (values.value[:, pairs[:, 1]] - values.value[:, pairs[:, 0]]) * inverse_temperature
    counts = batch.transfer_counts
    higher, lower = counts[:, :len(pairs)], counts[:, len(pairs):]
    if noise is None:
        up, down = _sigmoid_both(x)
        slope = higher * up - lower * down
    else:
        slope_higher, noise_higher = _lapse_slopes(x, noise, choice_nll(x, noise))
        slope_lower, noise_lower = _lapse_slopes(-x, noise, choice_nll(-x, noise))
        slope = higher * slope_higher - lower * slope_lower
    # the chain rule from the far end: the slope of each stimulus's value, then
    # its tangent; in a fixed order, so any batch gives the same bits
    gradient = np.zeros((len(params), len(names)))
    contract = _compiled_helpers()[1] if use_compiled else _by_value_numpy
    contract(slope, pairs, np.ascontiguousarray(values.tangent), inverse_temperature, gradient)
    gradient[:, names.index("temperature")] -= (slope * x).sum(axis=1) * inverse_temperature[:, 0]
    if noise is not None:
        gradient[:, names.index("noise_factor")] += \
            (higher * noise_higher + lower * noise_lower).sum(axis=1)
    return value, gradient


def _scaled(variant, params, difference, sign):
    """``x = sign * D / T`` (the numpy kernel's operations: same bits) and ``sign / T``."""
    index = variant.parameter_names.index("temperature")
    inverse_temperature = np.repeat(1.0 / params[:, index, None], difference.shape[2], axis=1)
    x = difference * sign
    x *= inverse_temperature
    return x, sign * inverse_temperature


def _numpy_parts(variant, batch, params):
    """``D``, ``dD`` and the final state (duals) by the numpy recursion on duals."""
    base = variant.base
    theta = _dual.seed(variant.theta(params))
    n_steps, size, n_pairs = batch.chose1.shape
    k = variant.n_parameters
    shape = (2, size, n_pairs)
    expanded = {}
    for name, column in theta.items():
        value = np.empty(shape)
        value[...] = column.value
        expanded[name] = _dual.Dual(value, np.array(np.broadcast_to(
            column.tangent, shape + (k,))))
    inputs = variant.prepare({name: v[0] for name, v in expanded.items()}, batch.chose1,
                             batch.outcome)
    state = {name: _dual.Dual(value, np.zeros(value.shape + (k,)))
             for name, value in base.initial_state(shape[1:]).items()}
    scratch = _dual.Dual(np.empty(shape), np.zeros(shape + (k,)))
    systems = [(state[s], _dual.Dual(np.empty((n_steps, size, n_pairs)),
                                     np.zeros((n_steps, size, n_pairs, k))))
               for s in base.value_systems]
    final = None
    if batch.chain_length is not None:
        final = {name: value.copy() for name, value in state.items()}
    for t in range(n_steps):
        for values, out in systems:
            np.subtract(values[1], values[0], out[t])
        base.update(state, inputs, t, expanded, scratch, True)
        if final is not None:
            ended = batch.chain_length == t + 1
            if ended.any():
                for name, value in state.items():
                    final[name][:, ended] = value[:, ended]
    difference = base.mix_values([out for _, out in systems], expanded)
    if not isinstance(difference, _dual.Dual):
        raise TypeError(f"{base.name}.mix_values dropped the derivatives")
    tangent = difference.tangent
    if batch.padding is not None:  # as the compiled kernel leaves them (no term there)
        difference.value[batch.padding] = 0.0
        tangent[batch.padding] = 0.0
    return difference.value, tangent, (state if final is None else final)


def value_and_gradient(variant, batch, params):
    """Total NLL of each row of one chunk and its gradient, shape (batch,) and (batch, k).

    The compiled tangent kernel runs when the declaration could be traced and
    the variant's gradient has been evaluated often enough (see
    :func:`compiled.tangent_kernel_for`); otherwise the numpy recursion on
    duals. Both give the same bits.
    """
    parts = None
    kernel = compiled.tangent_kernel_for(variant, len(params))
    key = (variant.base, bool(variant.bias))
    if kernel is not None and compiled.needs_check(key):
        _checked(kernel, variant, batch, params, key)
    elif kernel is not None:
        parts = compiled_parts(kernel, variant, batch, params)
    use_compiled = parts is not None
    if parts is None:
        parts = _numpy_parts(variant, batch, params) + (None,)
    difference, d_difference, state, final = parts
    if use_compiled and not variant.base.lapse:
        values = _transfer_values(variant, params, state, final)
        return _gradient_tails.value_and_gradient(
            batch, params, variant.parameter_names.index("temperature"), difference,
            d_difference, np.ascontiguousarray(values.value),
            np.ascontiguousarray(values.tangent))
    x, weight = _scaled(variant, params, difference, np.take(batch.arrays.sign, batch.owner,
                                                             axis=1))
    learning, g_learning = _learning(variant, batch, variant.theta(params), x, d_difference,
                                     weight, use_compiled)
    transfer, g_transfer = _transfer(variant, batch, params, state, final)
    return learning + transfer, g_learning + g_transfer


def _checked(kernel, variant, batch, params, key):
    """Compare a new tangent kernel with the numpy duals on this batch; keep it if bit-equal."""
    expected = _numpy_parts(variant, batch, params)
    try:
        got = compiled_parts(kernel, variant, batch, params)
    except Exception:  # noqa: BLE001  (e.g. a type numba refuses in user code: keep numpy)
        got = None
    passed = got is not None and all(
        np.array_equal(a, b) for a, b in zip(got[:2], expected[:2])) and all(
        np.array_equal(got[2][n].value, expected[2][n].value)
        and np.array_equal(got[2][n].tangent, expected[2][n].tangent) for n in expected[2])
    compiled.record_check(key, passed)


def compiled_parts(kernel, variant, batch, params):
    """``D``, ``dD``, the final state (duals) by the compiled tangent kernel, and the same stacked.

    The last, ``(final, d_final)`` of shape (n_states, 2, batch, 4[, k]), is
    what the transfer kernel reads.

    None when a row came out NaN (NaN parameters): the numpy recursion then
    runs the chunk.
    """
    arrays, base = batch.arrays, variant.base
    data = arrays.data
    n_steps, _, n_pairs = arrays.chose1.shape
    size, k = len(params), variant.n_parameters
    if variant.bias:
        # as the value kernel biases outcomes (same bits); d/db of (1 - b) r or b r
        theta = {name: np.repeat(v, n_pairs, axis=1) for name, v in variant.theta(params).items()}
        raw = batch.outcome
        outcome = variant.transform_outcomes(theta, raw)
        d_outcome = np.where(raw > 0, -raw, raw)
        outcome_row = np.arange(size)
    else:
        outcome, outcome_row = data.outcome, batch.owner
        d_outcome = np.zeros((1, 2, 1, n_pairs))
    initial = base.initial_state((size, n_pairs))
    initial = np.stack([initial[name] for name in base.state_names])
    difference = np.empty((n_steps, size, n_pairs))
    d_difference = np.empty((n_steps, size, n_pairs, k))  # the kernel writes every entry
    final = np.empty(initial.shape)
    d_final = np.zeros(initial.shape + (k,))
    kernel(np.ascontiguousarray(params), batch.owner, arrays.chose1, outcome, d_outcome,
           outcome_row, arrays.chain_length, initial, difference, d_difference, final, d_final)
    if np.isnan(difference).any():
        return None
    state = {name: _dual.Dual(final[s], d_final[s]) for s, name in enumerate(base.state_names)}
    return difference, d_difference, state, (final, d_final)
