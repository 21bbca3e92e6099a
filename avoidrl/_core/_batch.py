"""What the batched L-BFGS-B backends share: the problems, their evaluation, the result.

:class:`_Problems` validates ``N`` bounded problems and holds them in compact
coordinates (SciPy's ``minimize`` drops the variables that ``lo == hi``
fixes); :func:`_evaluate` and :func:`_evaluate_exact` evaluate a round's
points of many problems in one objective call, with SciPy's forward
differences or with exact gradients; :class:`BatchOptimizeResult` is what
:func:`avoidrl._core.optimize.minimize_lbfgsb_batch` returns, whichever backend ran.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

# Relative step SciPy falls back to when ``x + eps == x`` (float64, 2-point):
# ``_eps_for_method(float64, float64, "2-point") == finfo(float64).eps ** 0.5``.
_EPS_REL = np.finfo(np.float64).eps ** 0.5

_FIXED_MESSAGE = "All independent variables were fixed by bounds."


@dataclass
class BatchOptimizeResult:
    """Per-problem results of :func:`minimize_lbfgsb_batch`.

    Attributes
    ----------
    x : ndarray of shape (N, k)
        Solutions.
    fun : ndarray of shape (N,)
        Objective values at ``x``.
    success : ndarray of shape (N,), bool
        Whether each optimiser exited successfully.
    status : ndarray of shape (N,), int
        ``0`` converged, ``1`` iteration or evaluation limit, ``2`` other stop.
    message : list of str
        Termination messages, the same text as SciPy's ``OptimizeResult.message``.
    nit : ndarray of shape (N,), int
        Number of iterations.
    nfev : ndarray of shape (N,), int
        Objective evaluations, counted as SciPy counts them (including the
        finite-difference evaluations).
    njev : ndarray of shape (N,), int
        Number of gradient evaluations.
    jac : ndarray of shape (N, k)
        Last gradient (``nan`` for variables fixed by ``lo == hi``, as SciPy).
    backend : str
        The backend that produced the result (``"setulb"`` or ``"scipy"``).
    """

    x: np.ndarray
    fun: np.ndarray
    success: np.ndarray
    status: np.ndarray
    message: list
    nit: np.ndarray
    nfev: np.ndarray
    njev: np.ndarray
    jac: np.ndarray
    backend: str

    def __getitem__(self, key):
        return getattr(self, key)

    def keys(self):
        """Names of the result fields (dict-like access)."""
        return ["x", "fun", "success", "status", "message", "nit", "nfev",
                "njev", "jac", "backend"]


def _no_progress(n_finished):
    pass


class _Problems:
    """Validated problem description in *compact* coordinates.

    SciPy's ``minimize`` removes variables fixed by ``lo == hi`` before calling
    L-BFGS-B with finite differences; we do the same.  Free variables of
    problem ``i`` are stored left-aligned in the first ``nfree[i]`` columns of
    the ``(N, kk)`` compact arrays, in their original order.
    """

    def __init__(self, x0, bounds, eps):
        x0 = np.asarray(x0, dtype=np.float64)
        if x0.ndim == 1:
            x0 = x0[None, :]
        if x0.ndim != 2:
            raise ValueError("x0 must have shape (N, k).")
        n_prob, k = x0.shape
        if bounds is None:
            b = np.empty((n_prob, k, 2))
            b[..., 0] = -np.inf
            b[..., 1] = np.inf
        else:
            b = np.asarray(bounds, dtype=np.float64)
            if b.shape == (k, 2):
                b = np.broadcast_to(b, (n_prob, k, 2))
            elif b.shape != (n_prob, k, 2):
                raise ValueError(
                    f"bounds must have shape ({k}, 2) or ({n_prob}, {k}, 2), "
                    f"got {b.shape}.")
        lo = np.ascontiguousarray(b[..., 0])
        hi = np.ascontiguousarray(b[..., 1])
        if np.any(hi < lo):
            raise ValueError(
                "An upper bound is less than the corresponding lower bound.")
        eps = np.asarray(eps, dtype=np.float64)
        if eps.ndim not in (0, 1) or (eps.ndim == 1 and eps.shape != (k,)):
            raise ValueError("eps must be a scalar or have shape (k,).")

        self.n, self.k = n_prob, k
        self.lo, self.hi = lo, hi
        # L-BFGS-B starts from x0 clipped into the bounds.
        self.x0 = np.clip(x0, lo, hi)
        fixed = lo == hi
        self.free = ~fixed
        self.nfree = self.free.sum(axis=1)
        self.any_fixed = bool(fixed.any())
        self.all_fixed = self.nfree == 0
        self.live = np.flatnonzero(~self.all_fixed)
        self.kk = int(self.nfree.max()) if n_prob else 0
        kk = self.kk
        if self.any_fixed:
            # Free columns first, original order kept (stable sort).
            pos = np.argsort(fixed, axis=1, kind="stable")[:, :kk]
            valid = np.arange(kk)[None, :] < self.nfree[:, None]
            self.pos = np.where(valid, pos, 0)
            self.valid = valid
            take = functools.partial(np.take_along_axis, indices=self.pos,
                                     axis=1)
            self.xc = np.where(valid, take(self.x0), 0.0)
            self.loc = np.where(valid, take(lo), -1.0)
            self.hic = np.where(valid, take(hi), 1.0)
            if eps.ndim == 1:
                self.eps = np.where(valid, eps[self.pos], 1.0)
            else:
                self.eps = eps
            # Full-space template: fixed variables sit at their bound.
            self.template = lo.copy()
        else:
            self.pos = None
            self.valid = None
            self.xc = self.x0.copy()
            self.loc, self.hic = lo, hi
            self.eps = eps if eps.ndim == 0 else np.broadcast_to(eps, (n_prob, k))
            self.template = None

    def eps_rows(self, idx):
        """Absolute steps for the problems ``idx`` (scalar or ``(P, kk)``)."""
        return self.eps if self.eps.ndim == 0 else self.eps[idx]

    def to_full(self, idx, xc, fill):
        """Map compact rows ``xc`` of problems ``idx`` to full ``(P, k)`` rows."""
        if not self.any_fixed:
            return xc
        if fill is None:
            out = self.template[idx].copy()
        else:
            out = np.full((len(idx), self.k), fill)
        out[self.free[idx]] = xc[self.valid[idx]]
        return out


def _fd_steps(x, lo, hi, eps):
    """Forward-difference steps exactly as SciPy's ``approx_derivative``.

    Reproduces ``approx_derivative(method="2-point", abs_step=eps, bounds=...)``:
    an absolute step that falls back to the relative step
    ``sqrt(machine eps) * sign(x) * max(1, |x|)`` when ``x + eps == x``,
    followed by ``_adjust_scheme_to_bounds(x, h, 1, "1-sided", lo, hi)``.
    The latter's shortcut for fully unbounded problems gives the same result
    as the element-wise rules, so no special case is needed.
    """
    sign = (x >= 0).astype(np.float64) * 2 - 1
    dx = (x + eps) - x
    h = np.where(dx == 0, _EPS_REL * sign * np.maximum(1.0, np.abs(x)), eps)
    lower = x - lo
    upper = hi - x
    xh = x + h
    violated = (xh < lo) | (xh > hi)
    fitting = np.abs(h) <= np.maximum(lower, upper)
    h = np.where(violated & fitting, -h, h)
    forward = (upper >= lower) & ~fitting
    backward = (upper < lower) & ~fitting
    h = np.where(forward, upper, h)
    h = np.where(backward, -lower, h)
    return h


def _call_fun(fun, pts, owner):
    vals = np.asarray(fun(pts, owner), dtype=np.float64).reshape(-1)
    if vals.shape[0] != pts.shape[0]:
        raise ValueError(
            f"fun returned {vals.shape[0]} values for {pts.shape[0]} points.")
    return vals


def _evaluate(fun, prob, idx, xc, extra=None):
    """f and forward-difference gradient of problems ``idx`` at compact ``xc``.

    All points (``1 + nfree`` per problem, plus the optional ``extra``
    ``(points, owner)`` rows) go into ONE call of ``fun``.

    Returns
    -------
    f0 : ndarray (P,)
    g : ndarray (P, kk)  (entries beyond ``nfree`` are meaningless)
    extra_vals : ndarray or None
    """
    n_p, w = xc.shape
    k = prob.k
    h = _fd_steps(xc, prob.loc[idx], prob.hic[idx], prob.eps_rows(idx))
    xh = xc + h
    step = xh - xc
    base = prob.to_full(idx, xc, None)
    pts = np.repeat(base[:, None, :], w + 1, axis=1)
    if prob.any_fixed:
        pi, ji = np.nonzero(prob.valid[idx])
        pts[pi, ji + 1, prob.pos[idx][pi, ji]] = xh[pi, ji]
        rowmask = np.ones((n_p, w + 1), dtype=bool)
        rowmask[:, 1:] = prob.valid[idx]
        pts = pts[rowmask]
        owner = np.repeat(idx, prob.nfree[idx] + 1)
    else:
        ar = np.arange(w)
        pts[:, ar + 1, ar] = xh
        pts = pts.reshape(-1, k)
        owner = np.repeat(idx, w + 1)
    n_main = pts.shape[0]
    if extra is not None:
        pts = np.concatenate([pts, extra[0]])
        owner = np.concatenate([owner, extra[1]])
    vals = _call_fun(fun, pts, owner)
    extra_vals = vals[n_main:] if extra is not None else None
    vals = vals[:n_main]
    if prob.any_fixed:
        full = np.full((n_p, w + 1), np.nan)
        full[rowmask] = vals
    else:
        full = vals.reshape(n_p, w + 1)
    f0 = full[:, 0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        g = (full[:, 1:] - f0[:, None]) / step
    return f0, g, extra_vals


def _evaluate_exact(fun, prob, idx, xc, extra=None):
    """f and the exact gradient of problems ``idx`` at compact ``xc``: one point each.

    ``fun(X, owner)`` returns ``(f, g)`` with ``g`` in full coordinates; the
    gradient of variables fixed by ``lo == hi`` is dropped, as those
    variables are. Same returns as :func:`_evaluate`.
    """
    pts = prob.to_full(idx, xc, None)
    owner = idx
    n_main = pts.shape[0]
    if extra is not None:
        pts = np.concatenate([pts, extra[0]])
        owner = np.concatenate([owner, extra[1]])
    vals, grad = fun(pts, owner)
    vals = np.asarray(vals, dtype=np.float64).reshape(-1)
    grad = np.asarray(grad, dtype=np.float64)
    if vals.shape[0] != pts.shape[0] or grad.shape != pts.shape:
        raise ValueError(f"fun returned values of shape {vals.shape} and a gradient of shape "
                         f"{grad.shape} for {pts.shape[0]} points of {pts.shape[1]} variables.")
    g = grad[:n_main]
    if prob.any_fixed:
        g = np.take_along_axis(g, prob.pos[idx], axis=1)
    return vals[:n_main], g, (vals[n_main:] if extra is not None else None)
