"""The gradient's choice-rule tails in two compiled passes around numpy's ``exp`` and ``log``.

:func:`avoidrl._core._gradient.value_and_gradient` turns the recursion's
differences ``D`` and their tangents into the NLL and its gradient: softplus
and sigmoid of every learning trial's ``x = sign D / T``, the transfer
phase's pairs, the contractions with the tangents and the temperature's own
term. In numpy that is some sixty array operations per chunk, and a fit's
chunks are small (at most 256 rows, fewer once most starts have
converged), so the fixed cost of each operation dominated. With the two
passes below, a 256-row chunk of Hybrid2012+novel (the 239-participant
study's data) takes 4.5 µs per row for the value and gradient, against 8.0-9.0
µs with the numpy tails (best of 5 x 100 calls, back to back, load 2.8).

Here the same arithmetic runs in two compiled passes per chunk:

1. :func:`_arguments`: ``-|x|`` of every learning trial (``-inf`` on padding,
   whose terms are 0) and of every shown transfer pair, into one buffer;
2. numpy's vectorised ``exp`` over that buffer, and ``log(1 + e)`` (numpy's
   SIMD ``exp``/``log`` are about ten times faster per element than the
   scalar ones a compiled loop calls, and give the same bits as the numpy
   tails, which call them too);
3. :func:`_finish`: the terms, slopes, sums and contractions, each in the
   order the numpy tails of :mod:`avoidrl._core._gradient` use, so the value
   and the gradient are the same bits (the tests compare them).

Only the choice rule without lapse is here; a lapse (``noise_factor``) keeps
the numpy tails.
"""

from __future__ import annotations

import numpy as np

from . import compiled


def _arguments(difference, sign, owner, inverse_temperature, mask, padded, values, pairs,
               learning, transfer_x, transfer):
    """``-|x|`` of the learning trials (into ``learning``) and of the transfer pairs.

    ``x = (D sign) / T`` as :func:`avoidrl._core._gradient._scaled` computes
    it; the transfer's ``x = (v_lower - v_higher) / T`` (into ``transfer_x``)
    and its ``-|x|`` are the value path's, :func:`compiled._transfer_tails`.
    """
    n_steps, batch, n_pairs = difference.shape
    for t in range(n_steps):
        for b in range(batch):
            row = owner[b]
            scale = inverse_temperature[b]
            for p in range(n_pairs):
                if padded and not mask[t, row, p]:
                    learning[t, b, p] = -np.inf  # exp gives 0: no term, no slope
                else:
                    x = difference[t, b, p] * sign[t, row, p]
                    x *= scale
                    learning[t, b, p] = -abs(x)
    compiled._transfer_tails(values, pairs, inverse_temperature, transfer_x, transfer)


def _finish(difference, d_difference, sign, owner, inverse_temperature, temperature, mask,
            padded, exp_learning, log_learning, transfer_x, exp_transfer, log_transfer, counts,
            pairs, tangent, column, value, gradient):
    """NLL and gradient of each row, from ``e = exp(-|x|)`` and ``log(1 + e)``.

    Learning: per pair, terms and ``slope x`` summed over trials in order,
    then over pairs; the tangents contracted trial by trial, pair by pair.
    Transfer: the higher-valued stimulus's terms then the lower one's,
    summed as numpy sums a row; each stimulus's slope, then its tangent.
    ``column`` is the temperature's.
    """
    n_steps, batch, n_pairs = difference.shape
    k = d_difference.shape[3]
    n_shown, n_values = pairs.shape[0], tangent.shape[1]
    pair_terms, pair_moments = np.empty(n_pairs), np.empty(n_pairs)
    learning_gradient, transfer_gradient = np.empty(k), np.empty(k)
    terms, moments, by_value = np.empty(2 * n_shown), np.empty(n_shown), np.empty(n_values)
    for b in range(batch):
        row = owner[b]
        scale = inverse_temperature[b]
        learning_gradient[:] = 0.0
        pair_terms[:] = 0.0
        pair_moments[:] = 0.0
        for t in range(n_steps):
            for p in range(n_pairs):
                if padded and not mask[t, row, p]:
                    continue  # a zero term, slope and tangent
                s = sign[t, row, p]
                x = difference[t, b, p] * s
                x *= scale
                tail = exp_learning[t, b, p] + 1.0
                slope = (1.0 if x >= 0.0 else tail - 1.0) / tail
                pair_terms[p] += max(x, 0.0) + log_learning[t, b, p]
                pair_moments[p] += slope * x
                weight = (s * scale) * slope
                for j in range(k):
                    learning_gradient[j] += weight * d_difference[t, b, p, j]
        total, moment = 0.0, 0.0
        for p in range(n_pairs):
            total += pair_terms[p]
            moment += pair_moments[p]
        learning_gradient[column] -= moment / temperature[b]
        # transfer phase
        transfer_gradient[:] = 0.0
        by_value[:] = 0.0
        for j in range(n_shown):
            x = transfer_x[b, j]
            higher, lower = counts[row, j], counts[row, n_shown + j]
            terms[j] = (max(x, 0.0) + log_transfer[b, j]) * higher
            terms[n_shown + j] = (max(-x, 0.0) + log_transfer[b, j]) * lower
            e = exp_transfer[b, j]
            larger = 1.0 / (e + 1.0)
            smaller = e * larger
            if x >= 0.0:
                slope = higher * larger - lower * smaller
            else:
                slope = higher * smaller - lower * larger
            by_value[pairs[j, 1]] += slope
            by_value[pairs[j, 0]] -= slope
            moments[j] = slope * x
        for i in range(n_values):
            weight = by_value[i] * scale
            for j in range(k):
                transfer_gradient[j] += weight * tangent[b, i, j]
        transfer_gradient[column] -= compiled._numpy_order_sum(moments, 0, n_shown) * scale
        value[b] = total + compiled._numpy_order_sum(terms, 0, 2 * n_shown)
        for j in range(k):
            gradient[b, j] = learning_gradient[j] + transfer_gradient[j]


@compiled.once
def _compiled():
    import numba

    # jits _transfer_tails and _numpy_order_sum, which _arguments and _finish call
    compiled._compiled_helpers()
    return (compiled._jit(numba, _arguments, nogil=True),
            compiled._jit(numba, _finish, nogil=True))


def value_and_gradient(batch, params, column, difference, d_difference, values, tangent):
    """Total NLL of each row and its gradient (no lapse), the numpy tails' bits.

    Parameters
    ----------
    batch : _Batch
        The chunk's rows (their participants, ``owner``).
    params : ndarray of shape (batch, k)
    column : int
        The temperature's column.
    difference, d_difference : ndarray
        ``D`` (n_steps, batch, 4) and its tangents (n_steps, batch, 4, k), as
        the tangent kernel leaves them.
    values, tangent : ndarray
        The transfer values (batch, 9) and their tangents (batch, 9, k).
    """
    arguments, finish = _compiled()
    arrays = batch.arrays
    data = arrays.data
    pairs = data.transfer_pairs
    size = len(params)
    temperature = np.ascontiguousarray(params[:, column])
    inverse_temperature = 1.0 / temperature
    mask = data.mask if data.padded else np.ones((1, 1, 1), dtype=np.bool_)
    n_learning, n_transfer = difference.size, size * len(pairs)
    exponent = np.empty(n_learning + n_transfer)
    transfer_x = np.empty((size, len(pairs)))
    arguments(difference, arrays.sign, batch.owner, inverse_temperature, mask, data.padded,
              values, pairs, exponent[:n_learning].reshape(difference.shape), transfer_x,
              exponent[n_learning:].reshape(size, len(pairs)))
    np.exp(exponent, exponent)
    logarithm = exponent + 1.0
    np.log(logarithm, logarithm)
    value, gradient = np.empty(size), np.empty((size, params.shape[1]))
    finish(difference, d_difference, arrays.sign, batch.owner, inverse_temperature, temperature,
           mask, data.padded, exponent[:n_learning].reshape(difference.shape),
           logarithm[:n_learning].reshape(difference.shape), transfer_x,
           exponent[n_learning:].reshape(size, len(pairs)),
           logarithm[n_learning:].reshape(size, len(pairs)), data.transfer_counts, pairs,
           tangent, column, value, gradient)
    return value, gradient
