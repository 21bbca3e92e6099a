"""The ``"setulb"`` backend: one reverse-communication driver over SciPy's L-BFGS-B.

Every problem keeps its own workspace and task state (rows of shared 2-D
arrays) for SciPy's private ``scipy.optimize._lbfgsb.setulb``; each round the
problems that ask for ``f`` and ``g`` are evaluated together. The private API
is used only after :func:`setulb_available`'s guard: the SciPy version, the
call signature and a bit-for-bit self-test against ``scipy.optimize.minimize``.
"""

from __future__ import annotations

import functools
import re

import numpy as np

from ._batch import (
    _FIXED_MESSAGE, BatchOptimizeResult, _evaluate, _evaluate_exact, _no_progress, _Problems,
)

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
