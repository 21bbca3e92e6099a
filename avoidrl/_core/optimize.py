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

import numpy as np

from ._batch import (
    _FIXED_MESSAGE, BatchOptimizeResult, _call_fun, _evaluate, _evaluate_exact, _no_progress,
    _Problems,
)
from ._setulb import _minimize_setulb, _setulb_guard, setulb_available

__all__ = ["BatchOptimizeResult", "minimize_lbfgsb_batch", "setulb_available"]


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
