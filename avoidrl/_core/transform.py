"""The unbounded parameterisation and finite-difference Hessians.

Every parameter with bounds ``(low, high)`` maps to ``z = logit((x - low) /
(high - low))``; Gaussian priors, Laplace approximations and confidence
intervals live in ``z``, where they are not cut off by the bounds, and map back
to natural units monotonically.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit, logit

#: central-difference step of Hessians, in z. The hybrids' likelihood has kinks
#: (L1-normalised actor weights), so the step changes log|H| by a few nats between
#: 1e-3 and 1e-1; it is fixed so that evidences are comparable across fits.
HESSIAN_STEP = 1e-2
#: |z| at which the optimizer's box in z is cut, for numerical safety only
#: (x is then within 6e-6 of the range's ends).
Z_LIMIT = 12.0
#: two-sided 95 % normal quantile
Z95 = 1.959963984540054


def to_unbounded(x, low, high):
    """z = logit((x - low) / (high - low)); +-inf at the bounds."""
    with np.errstate(divide="ignore"):
        return logit((np.asarray(x, dtype=float) - low) / (high - low))


def to_bounded(z, low, high):
    """x = low + (high - low) * sigmoid(z)."""
    return low + (high - low) * expit(z)


def hessian_points(center, step=HESSIAN_STEP):
    """The points of a central-difference Hessian around each row of ``center``.

    Returns an array of shape (n, 1 + 2k + 4 * k(k-1)/2, k): the centre, then
    +-step along each axis, then the four (+-, +-) corners of every pair.
    """
    center = np.asarray(center, dtype=float)
    n, k = center.shape
    eye = np.eye(k) * step
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    offsets = [np.zeros(k)] + [eye[i] for i in range(k)] + [-eye[i] for i in range(k)]
    for i, j in pairs:
        offsets += [eye[i] + eye[j], eye[i] - eye[j], -eye[i] + eye[j], -eye[i] - eye[j]]
    return center[:, None, :] + np.asarray(offsets)[None, :, :]


def hessian_from_values(values, k, step=HESSIAN_STEP):
    """Assemble (n, k, k) Hessians from the values at :func:`hessian_points`."""
    values = np.asarray(values, dtype=float)
    n = values.shape[0]
    f0 = values[:, 0]
    plus, minus = values[:, 1:1 + k], values[:, 1 + k:1 + 2 * k]
    hessian = np.zeros((n, k, k))
    idx = np.arange(k)
    hessian[:, idx, idx] = (plus - 2.0 * f0[:, None] + minus) / step ** 2
    column = 1 + 2 * k
    for i in range(k):
        for j in range(i + 1, k):
            pp, pm, mp, mm = (values[:, column + c] for c in range(4))
            hessian[:, i, j] = hessian[:, j, i] = (pp - pm - mp + mm) / (4.0 * step ** 2)
            column += 4
    return hessian


def clamp_psd(hessian):
    """Symmetrise and clamp negative eigenvalues at 0 (a flat or indefinite direction).

    Returns ``(clamped, n_clamped)``: the positive semi-definite matrices and,
    per matrix, how many eigenvalues were negative (an indefinite
    finite-difference Hessian at a kink or a saddle).
    """
    sym = 0.5 * (hessian + np.swapaxes(hessian, -1, -2))
    values, vectors = np.linalg.eigh(sym)
    negative = (values < 0).sum(axis=-1)
    values = np.maximum(values, 0.0)
    clamped = np.einsum("...ij,...j,...kj->...ik", vectors, values, vectors)
    return clamped, negative


def interval_table(z, cov, low, high, ids, names, status=None, estimate=None):
    """The tidy ``params_ci_`` table from estimates and covariances in z.

    ``status`` (n, k) of strings marks estimates at a bound or not identified;
    their intervals are NaN (None: every estimate is interior). ``estimate``
    gives the estimates in natural units exactly (default: mapped from z).
    """
    sd = np.sqrt(np.clip(np.diagonal(cov, axis1=1, axis2=2), 0.0, None))
    lower = to_bounded(z - Z95 * sd, low, high)
    upper = to_bounded(z + Z95 * sd, low, high)
    if estimate is None:
        estimate = to_bounded(z, low, high)
    if status is None:
        status = np.full(z.shape, "interior", dtype=object)
    interior = status == "interior"
    table = pd.DataFrame({
        "participant_id": np.repeat(np.asarray(ids, dtype=object), len(names)),
        "parameter": np.tile(names, len(ids)),
        "estimate": estimate.ravel(),
        "lower": np.where(interior, lower, np.nan).ravel(),
        "upper": np.where(interior, upper, np.nan).ravel(),
        "status": np.asarray(status, dtype=object).ravel(),
    })
    return table.set_index(["participant_id", "parameter"])
