"""The choice rule: ``-log P(chosen)`` of the two-option softmax, with lapse.

Below :mod:`avoidrl._core.likelihood` (which applies it to the recursion's
value differences) and :mod:`avoidrl._core._gradient` (which differentiates
it), so that neither imports the other for it: per learning trial
(:func:`choice_nll`, :func:`softplus`) and for the transfer phase's choice
counts (:func:`_transfer_nll`).
"""

from __future__ import annotations

import numpy as np


def softplus(x, out=None):
    """Stable ``log(1 + exp(x))`` (no overflow for large ``x``).

    ``log(1 + ...)`` rather than ``log1p``: numpy's ``exp`` and ``log`` are
    SIMD and ``log1p`` is not; the difference is below 1e-16 per term.
    """
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


def _transfer_nll(batch, values, inverse_temperature, noise):
    """Transfer NLL of each row from the nine stimulus values (batch, 9).

    ``x = (v_lower - v_higher) / T`` per shown pair: choosing the
    higher-valued stimulus costs ``softplus(x)``, the lower-valued one
    ``softplus(-x)``; the counts weigh both, side by side.
    """
    pairs = batch.transfer_pairs
    n_shown = len(pairs)
    x = np.take(values, pairs[:, 1], axis=1)
    x -= np.take(values, pairs[:, 0], axis=1)
    x *= inverse_temperature
    if noise is None:
        # softplus(±x) = max(±x, 0) + log(1 + exp(-|x|)): one tail for both columns
        tail = np.abs(x)
        np.negative(tail, tail)
        np.exp(tail, tail)
        tail += 1.0
        np.log(tail, tail)
        terms = np.empty((len(x), 2, n_shown))
        np.maximum(x, 0.0, out=terms[:, 0])
        np.negative(x, out=terms[:, 1])
        np.maximum(terms[:, 1], 0.0, out=terms[:, 1])
        terms += tail[:, None]
        terms = terms.reshape(len(x), 2 * n_shown)
    else:
        terms = np.concatenate([x, -x], axis=1)
        choice_nll(terms, noise, out=terms)
    terms *= batch.transfer_counts
    return terms.sum(axis=1)
