"""Batched L-BFGS-B: many independent bounded problems, one objective call per round.

This private module solves ``N`` independent bound-constrained minimisation
problems so that every problem follows *exactly* the trajectory that
``scipy.optimize.minimize(fun_i, x0[i], method="L-BFGS-B", bounds=...)`` would
follow with its default 2-point finite-difference gradient (absolute step
``eps``), while all objective evaluations of all problems (the point itself
and its ``k`` finite-difference neighbours) are gathered into a single
vectorised call of the objective per round.

Two backends are provided:

``"setulb"``
    A reverse-communication driver over SciPy's private
    ``scipy.optimize._lbfgsb.setulb``.  Every problem keeps its own workspace
    and task state (rows of shared 2-D arrays); each round the problems that
    request ``f`` and ``g`` are evaluated together.
``"scipy"``
    A public fallback that runs ``scipy.optimize.minimize`` per problem and
    supplies ``f`` and the finite-difference gradient through ``jac=True``,
    each computed in one batched objective call of ``1 + k`` rows.

``"auto"`` uses ``"setulb"`` when the private API passes a guard (SciPy
version, call signature and a bit-for-bit self-test against
``scipy.optimize.minimize``) and ``"scipy"`` otherwise.

With ``jac=True`` the objective returns exact gradients with its values
(``fun(X, owner) -> (f, g)``, see
:meth:`avoidrl._core.likelihood.Objective.value_and_gradient`): one point per
evaluation instead of ``1 + k``, each problem then following
``scipy.optimize.minimize(..., jac=True)``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

__all__ = ["BatchOptimizeResult", "minimize_lbfgsb_batch", "setulb_available"]

# Relative step SciPy falls back to when ``x + eps == x`` (float64, 2-point):
# ``_eps_for_method(float64, float64, "2-point") == finfo(float64).eps ** 0.5``.
_EPS_REL = np.finfo(np.float64).eps ** 0.5

# Oldest SciPy whose ``setulb`` has the 17-argument integer-task signature
# used here (the C translation of L-BFGS-B landed in 1.15).
_MIN_SCIPY = (1, 15)
_SETULB_DOC = ("setulb(m,x,l,u,nbd,f,g,factr,pgtol,wa,iwa,task,lsave,isave,"
               "dsave,maxls,ln_task)")

# Task codes of the reverse-communication interface (``task[0]``).
_FG = 3
_NEW_X = 1
_CONVERGENCE = 4
_STOP = 5
_STOP_MAXFUN = 502
_STOP_MAXITER = 504

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


# --------------------------------------------------------------------------
# Problem set-up (shared by both backends)
# --------------------------------------------------------------------------
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


# --------------------------------------------------------------------------
# Guard for the private setulb API
# --------------------------------------------------------------------------
def _scipy_version():
    import scipy

    m = re.match(r"(\d+)\.(\d+)", scipy.__version__)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def _load_setulb():
    """Return ``(setulb, status_messages, task_messages)`` or raise."""
    from scipy.optimize import _lbfgsb
    from scipy.optimize._lbfgsb_py import status_messages, task_messages

    if _scipy_version() < _MIN_SCIPY:
        raise ImportError("SciPy older than 1.15 has a different setulb API.")
    doc = (_lbfgsb.setulb.__doc__ or "").strip().splitlines()
    if not doc or doc[0].replace(" ", "") != _SETULB_DOC:
        raise ImportError("unexpected scipy.optimize._lbfgsb.setulb signature.")
    return _lbfgsb.setulb, status_messages, task_messages


def _selftest_fun(X, owner=None):
    # Row-wise, element-wise only: identical bits for one row or many.
    a = X[:, 0] - 0.25
    b = X[:, 1] + 0.5
    c = X[:, 2] - 2.0
    return (a * a + 3.0 * (b * b) + (a * b)) + c * c * c * c


@functools.lru_cache(maxsize=None)
def _setulb_guard():
    """Check the private API once: ``(ok, reason)``."""
    try:
        _load_setulb()
        from scipy.optimize import minimize

        x0 = np.array([[0.9, 0.3, 1.0], [-0.4, 0.2, 1.5]])
        bounds = np.array([[-1.0, 1.0], [0.0, 1.0], [-3.0, 3.0]])
        res = _minimize_setulb(_selftest_fun, _Problems(x0, bounds, 1e-8),
                               maxcor=10, ftol=2.220446049250313e-09,
                               gtol=1e-5, maxiter=15000, maxfun=15000,
                               maxls=20)
        for i in range(len(x0)):
            ref = minimize(lambda x: _selftest_fun(x[None, :])[0], x0[i],
                           method="L-BFGS-B", bounds=bounds)
            if not (np.array_equal(ref.x, res.x[i]) and ref.fun == res.fun[i]
                    and ref.nit == res.nit[i] and ref.nfev == res.nfev[i]
                    and ref.message == res.message[i]):
                return False, "self-test did not reproduce scipy.optimize.minimize"
    except Exception as exc:  # pragma: no cover - depends on the SciPy build
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def setulb_available():
    """Whether the fast ``"setulb"`` backend can be used with this SciPy.

    Returns
    -------
    ok : bool
        True when SciPy >= 1.15 exposes ``setulb`` with the expected
        signature and a self-test reproduces ``scipy.optimize.minimize``
        bit for bit.
    reason : str
        Why not, when ``ok`` is False.
    """
    return _setulb_guard()


# --------------------------------------------------------------------------
# Backend 1: reverse-communication driver over setulb
# --------------------------------------------------------------------------
def _no_progress(n_finished):
    pass


def _minimize_setulb(fun, prob, *, maxcor, ftol, gtol, maxiter, maxfun, maxls, progress=None,
                     jac=False):
    setulb, status_messages, task_messages = _load_setulb()
    evaluate = _evaluate_exact if jac else _evaluate
    progress = progress or _no_progress
    m = int(maxcor)
    maxls = int(maxls)
    factr = ftol / np.finfo(float).eps
    pgtol = gtol
    n_prob, kk = prob.n, prob.kk
    live = prob.live
    nfree = prob.nfree

    # Per-problem state as rows of contiguous 2-D arrays (rows are contiguous,
    # which is what setulb checks); shorter problems use a row prefix.
    X = np.ascontiguousarray(prob.xc, dtype=np.float64)
    LO = np.where(np.isinf(prob.loc), 0.0, prob.loc)
    HI = np.where(np.isinf(prob.hic), 0.0, prob.hic)
    fin_lo = ~np.isinf(prob.loc)
    fin_hi = ~np.isinf(prob.hic)
    NBD = np.where(fin_lo & fin_hi, 2,
                   np.where(fin_lo, 1, np.where(fin_hi, 3, 0))).astype(np.int32)
    F = np.zeros(n_prob)
    G = np.zeros((n_prob, kk))
    nwa = 2 * m * kk + 5 * kk + 11 * m * m + 8 * m
    WA = np.zeros((n_prob, nwa))
    IWA = np.zeros((n_prob, 3 * kk), dtype=np.int32)
    TASK = np.zeros((n_prob, 2), dtype=np.int32)
    LNTASK = np.zeros((n_prob, 2), dtype=np.int32)
    LSAVE = np.zeros((n_prob, 4), dtype=np.int32)
    ISAVE = np.zeros((n_prob, 44), dtype=np.int32)
    DSAVE = np.zeros((n_prob, 29))
    nit = np.zeros(n_prob, dtype=np.int64)
    nfev = np.zeros(n_prob, dtype=np.int64)
    njev = np.zeros(n_prob, dtype=np.int64)
    if not maxls > 0:
        raise ValueError("maxls must be positive.")

    head = [None] * n_prob
    tail = [None] * n_prob
    for i in live.tolist():
        n = int(nfree[i])
        head[i] = (m, X[i, :n], LO[i, :n], HI[i, :n], NBD[i, :n])
        tail[i] = (G[i, :n], factr, pgtol, WA[i], IWA[i], TASK[i], LSAVE[i],
                   ISAVE[i], DSAVE[i], maxls, LNTASK[i])

    def drive(idx):
        """Call setulb for ``idx`` until each asks for f/g or stops."""
        wanting = []
        while idx.size:
            for i in idx.tolist():
                setulb(*head[i], F[i], *tail[i])
            t = TASK[idx, 0]
            wanting.append(idx[t == _FG])
            nx = idx[t == _NEW_X]
            if nx.size:
                nit[nx] += 1
                hit_it = nit[nx] >= maxiter
                hit_fev = ~hit_it & (nfev[nx] > maxfun)
                if hit_it.any():
                    TASK[nx[hit_it]] = (_STOP, _STOP_MAXITER)
                if hit_fev.any():
                    TASK[nx[hit_fev]] = (_STOP, _STOP_MAXFUN)
            idx = nx
        return np.concatenate(wanting) if wanting else idx

    # Round 0: ScalarFunction evaluates f and g at x0 before the first setulb
    # call; problems whose variables are all fixed are evaluated once at lo.
    fixed_idx = np.flatnonzero(prob.all_fixed)
    extra = None
    if fixed_idx.size:
        extra = (prob.lo[fixed_idx], fixed_idx)
    Xlast = X.copy()
    Flast = np.zeros(n_prob)
    Glast = np.zeros((n_prob, kk))
    f_fixed = None
    if live.size or fixed_idx.size:
        f0, g0, f_fixed = evaluate(fun, prob, live, X[live], extra)
        Flast[live] = f0
        Glast[live] = g0
        nfev[live] = 1 if jac else 1 + nfree[live]
        njev[live] = 1

    pend = drive(live)
    progress(n_prob - pend.size)
    while pend.size:
        xr = X[pend]
        new = ~np.all(xr == Xlast[pend], axis=1)
        ev = pend[new]
        if ev.size:
            f0, g0, _ = evaluate(fun, prob, ev, xr[new])
            Xlast[ev] = xr[new]
            Flast[ev] = f0
            Glast[ev] = g0
            nfev[ev] += 1 if jac else 1 + nfree[ev]
            njev[ev] += 1
        F[pend] = Flast[pend]
        G[pend] = Glast[pend]
        pend = drive(pend)
        progress(n_prob - pend.size)

    # Termination bookkeeping as in scipy's _minimize_lbfgsb.
    status = np.where(TASK[:, 0] == _CONVERGENCE, 0,
                      np.where((nfev > maxfun) | (nit >= maxiter), 1, 2))
    message = []
    for a, b in TASK.tolist():
        message.append(status_messages.get(a, str(a)) + ": "
                       + task_messages.get(b, str(b)))
    x_out = prob.to_full(np.arange(n_prob), X, None)
    jac = prob.to_full(np.arange(n_prob), G, np.nan)
    fun_out = Flast
    if fixed_idx.size:
        x_out = np.array(x_out, copy=True)
        x_out[fixed_idx] = prob.lo[fixed_idx]
        jac = np.array(jac, copy=True)
        jac[fixed_idx] = np.nan
        fun_out[fixed_idx] = f_fixed
        status[fixed_idx] = 0
        nit[fixed_idx] = 0
        nfev[fixed_idx] = 1
        njev[fixed_idx] = 0
        for i in fixed_idx.tolist():
            message[i] = _FIXED_MESSAGE
    return BatchOptimizeResult(
        x=np.array(x_out, copy=True), fun=fun_out, success=status == 0,
        status=status, message=message, nit=nit, nfev=nfev, njev=njev,
        jac=np.array(jac, copy=True), backend="setulb")


# --------------------------------------------------------------------------
# Backend 2: public scipy.optimize.minimize per problem
# --------------------------------------------------------------------------
def _minimize_scipy(fun, prob, *, maxcor, ftol, gtol, maxiter, maxfun, maxls, progress=None,
                    jac=False):
    from scipy.optimize import minimize

    exact = bool(jac)  # (``jac`` is the result's gradient array below)
    evaluate = _evaluate_exact if exact else _evaluate
    progress = progress or _no_progress
    n_prob, k = prob.n, prob.k
    x_out = np.empty((n_prob, k))
    jac = np.full((n_prob, k), np.nan)
    fun_out = np.empty(n_prob)
    status = np.zeros(n_prob, dtype=np.int64)
    nit = np.zeros(n_prob, dtype=np.int64)
    nfev = np.zeros(n_prob, dtype=np.int64)
    njev = np.zeros(n_prob, dtype=np.int64)
    message = [_FIXED_MESSAGE] * n_prob

    fixed_idx = np.flatnonzero(prob.all_fixed)
    if fixed_idx.size:
        x_out[fixed_idx] = prob.lo[fixed_idx]
        fun_out[fixed_idx] = (fun(prob.lo[fixed_idx], fixed_idx)[0] if exact
                              else _call_fun(fun, prob.lo[fixed_idx], fixed_idx))
        nfev[fixed_idx] = 1

    finished = n_prob - prob.live.size
    progress(finished)
    for i in prob.live.tolist():
        n = int(prob.nfree[i])
        idx = np.array([i])
        memo = {}

        def f_only(x, idx=idx, n=n, memo=memo):
            xc = np.zeros((1, prob.kk))
            xc[0, :n] = x
            f0, g0, _ = evaluate(fun, prob, idx, xc)
            memo["x"] = np.array(x, copy=True)
            memo["g"] = g0[0, :n].copy()
            return f0[0]

        def g_only(x, memo=memo, f_only=f_only):
            # ScalarFunction always asks for f, then g at the same x.  Unlike
            # MemoizeJac (jac=True) this cache also hits when x holds nan.
            if "x" not in memo or not np.array_equal(x, memo["x"],
                                                     equal_nan=True):
                f_only(x)
            return memo["g"]

        bounds = list(zip(prob.loc[i, :n].tolist(), prob.hic[i, :n].tolist()))
        # With a callable jac scipy counts one evaluation per point; its
        # maxfun test ``nfev > maxfun`` on the finite-difference count
        # (1 + n per point) equals ``points > maxfun // (1 + n)``.
        per_point = 1 if exact else 1 + n
        res = minimize(f_only, prob.xc[i, :n], jac=g_only, method="L-BFGS-B",
                       bounds=bounds,
                       options=dict(maxcor=maxcor, ftol=ftol, gtol=gtol,
                                    maxiter=maxiter,
                                    maxfun=int(maxfun) // per_point,
                                    maxls=maxls))
        xf = prob.to_full(idx, np.pad(res.x, (0, prob.kk - n))[None, :], None)
        x_out[i] = xf[0]
        jf = prob.to_full(idx, np.pad(res.jac, (0, prob.kk - n))[None, :],
                          np.nan)
        jac[i] = jf[0]
        fun_out[i] = res.fun
        status[i] = res.status
        nit[i] = res.nit
        nfev[i] = res.nfev * per_point
        njev[i] = res.njev
        message[i] = res.message
        finished += 1
        progress(finished)
    return BatchOptimizeResult(
        x=x_out, fun=fun_out, success=status == 0, status=status,
        message=list(message), nit=nit, nfev=nfev, njev=njev, jac=jac,
        backend="scipy")


# --------------------------------------------------------------------------
# Backend 3: avoidrl's batched BFGS-B (exact gradients only)
# --------------------------------------------------------------------------
def _bfgsb_fits(x0, bounds):
    """Whether 'auto' takes avoidrl's BFGS-B: every bound is finite (with or without numba)."""
    return bounds is not None and bool(np.all(np.isfinite(np.asarray(bounds, dtype=np.float64))))


def _bfgsb_engine():
    """The compiled BFGS-B where numba runs, else its numpy twin: the same iterates."""
    from . import _bfgsb

    if _bfgsb.available():
        return _bfgsb
    from . import _bfgsb_numpy

    return _bfgsb_numpy


def _minimize_bfgsb(fun, x0, bounds, *, progress=None, **options):
    from . import _bfgsb

    if x0.ndim == 1:
        x0 = x0[None, :]
    box = np.broadcast_to(np.asarray(bounds, dtype=np.float64), x0.shape + (2,))
    if not np.all(np.isfinite(box)):
        raise ValueError("the 'bfgsb' backend needs finite bounds.")
    if np.any(box[..., 1] < box[..., 0]):
        raise ValueError("An upper bound is less than the corresponding lower bound.")
    x, f, g, status, nit, nfev = _bfgsb_engine().minimize_bfgsb_batch(
        fun, x0, box[..., 0], box[..., 1], progress=progress, **options)
    code = np.where(np.isin(status, (_bfgsb.CONVERGED_F, _bfgsb.CONVERGED_PG, _bfgsb.STALLED)), 0,
                    np.where(np.isin(status, (_bfgsb.MAX_ITER, _bfgsb.MAX_FUN)), 1, 2))
    return BatchOptimizeResult(
        x=x, fun=f, success=code == 0, status=code,
        message=[_bfgsb.MESSAGES[s] for s in status.tolist()], nit=nit, nfev=nfev,
        njev=nfev.copy(), jac=g, backend="bfgsb")


# --------------------------------------------------------------------------
# Public-in-package entry point
# --------------------------------------------------------------------------
def minimize_lbfgsb_batch(fun, x0, bounds, *, eps=1e-8, maxcor=10,
                          ftol=2.220446049250313e-09, gtol=1e-5,
                          maxiter=15000, maxfun=15000, maxls=20,
                          backend="auto", progress=None, jac=False):
    """Minimise many independent bounded problems with batched L-BFGS-B.

    Each problem follows exactly the iterates of
    ``scipy.optimize.minimize(f_i, x0[i], method="L-BFGS-B", bounds=...)``
    with its default forward-difference gradient, but the objective is
    called once per round for all points of all still-running problems.

    Parameters
    ----------
    fun : callable
        ``fun(X, owner) -> ndarray of shape (M,)``.  ``X`` is an ``(M, k)``
        float array of points and ``owner`` an ``(M,)`` int array giving the
        problem (row of `x0`) each point belongs to.  Each value must depend
        only on its own row.  Non-finite values are allowed and are handled as
        SciPy handles them.
    x0 : array_like of shape (N, k)
        Start points (clipped into the bounds, as SciPy does).
    bounds : array_like of shape (k, 2) or (N, k, 2), or None
        ``(lo, hi)`` per variable, shared or per problem.  Infinite values
        mean unbounded; ``lo == hi`` fixes a variable (removed from the
        problem, as ``scipy.optimize.minimize`` does).
    eps : float or array_like of shape (k,), optional
        Absolute finite-difference step.
    maxcor, ftol, gtol, maxiter, maxfun, maxls : optional
        L-BFGS-B options, with SciPy's defaults and meaning.
    backend : {"auto", "setulb", "scipy", "bfgsb"}, optional
        ``"setulb"`` drives SciPy's private L-BFGS-B routine for all problems
        at once; ``"scipy"`` calls ``scipy.optimize.minimize`` per problem
        (one objective call per point); ``"bfgsb"`` (exact gradients and
        finite bounds only) is avoidrl's batched BFGS-B
        (:mod:`avoidrl._core._bfgsb`), which steps every problem in one
        compiled call per round, or, without numba, in one vectorised numpy
        pass (:mod:`avoidrl._core._bfgsb_numpy`) with the same iterates to
        the bit (its iterates are its own, not SciPy's). ``"auto"`` picks
        ``"bfgsb"`` for exact gradients when the bounds are finite, else
        ``"setulb"`` when :func:`setulb_available`, else ``"scipy"``.
    progress : callable, optional
        Called as ``progress(n_finished)`` as problems finish, with the
        number of problems finished so far (for progress bars; it must not
        change anything the optimizer reads).
    jac : bool, optional
        When True, ``fun(X, owner)`` returns ``(f, g)``, the values and the
        exact gradients (M, k), and each point costs one row instead of the
        ``1 + k`` of forward differences (``eps`` is then unused); ``nfev``
        counts points. The default reproduces SciPy's finite-difference path
        (with the ``"setulb"`` or ``"scipy"`` backend, ``jac=True`` follows
        ``scipy.optimize.minimize(..., jac=True)``).

    Returns
    -------
    result : BatchOptimizeResult
        Arrays ``x`` (N, k), ``fun``, ``success``, ``status``, ``nit``,
        ``nfev``, ``njev`` (N,), ``jac`` (N, k), the list ``message`` and the
        name of the ``backend`` used.

    Raises
    ------
    ValueError
        For inconsistent shapes, ``hi < lo``, ``maxls <= 0`` or an unknown
        backend.
    RuntimeError
        If ``backend="setulb"`` is requested but the guard fails.
    """
    if backend not in ("auto", "setulb", "scipy", "bfgsb"):
        raise ValueError(f"unknown backend {backend!r}.")
    if backend == "auto" and jac and _bfgsb_fits(x0, bounds):
        backend = "bfgsb"
    if backend == "bfgsb":
        if not jac:
            raise ValueError("the 'bfgsb' backend needs exact gradients (jac=True).")
        return _minimize_bfgsb(fun, np.asarray(x0, dtype=np.float64), bounds, maxcor=maxcor,
                               ftol=ftol, gtol=gtol, maxiter=maxiter, maxfun=maxfun, maxls=maxls,
                               progress=progress)
    if not maxls > 0:
        raise ValueError("maxls must be positive.")
    prob = _Problems(x0, bounds, eps)
    if backend == "auto":
        backend = "setulb" if _setulb_guard()[0] else "scipy"
    elif backend == "setulb":
        ok, reason = _setulb_guard()
        if not ok:
            raise RuntimeError(f"setulb backend unavailable: {reason}")
    opts = dict(maxcor=maxcor, ftol=ftol, gtol=gtol, maxiter=maxiter,
                maxfun=maxfun, maxls=maxls, progress=progress, jac=bool(jac))
    if backend == "setulb":
        return _minimize_setulb(fun, prob, **opts)
    return _minimize_scipy(fun, prob, **opts)
