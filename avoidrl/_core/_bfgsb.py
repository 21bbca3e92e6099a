"""Compiled, batched BFGS-B: many small bound-constrained problems with exact gradients.

SciPy's L-BFGS-B (driven problem by problem in :mod:`avoidrl._core.optimize`)
costs about 3 µs of C plus 1 µs of Python per problem per call, and a fit
of 239 Hybrid2012+novel participants makes four million such calls: with
exact gradients the optimizer's own step, not the likelihood, became the
largest cost. This module runs the step of every problem in one compiled
call per round instead. It is a projected quasi-Newton method of the
L-BFGS-B family (Byrd, Lu, Nocedal & Zhu 1995), written for problems of a
few variables, so its quasi-Newton matrix is formed densely:

1. the model: the L-BFGS matrix of the last ``maxcor`` pairs (``theta I``
   with ``theta = y'y / s'y`` of the newest pair, updated by each pair in
   turn), as L-BFGS-B's; a pair without positive curvature is not kept, and
   a variable held at its bound does not enter the pair's ``y`` (the
   likelihood can jump there, with gradients of 1e17 that would make every
   pair look curvature-free);
2. the generalized Cauchy point: the first local minimum of the model along
   the projected steepest-descent path (each variable stops at its bound in
   turn);
3. subspace minimisation: a Newton step of the model in the variables the
   Cauchy point left free, truncated to stay in the box;
4. the line search along ``d = x_bar - x`` from the step 1: a trial with
   sufficient decrease (Armijo, ``c1 = 1e-3``) whose slope is still below
   0.9 of the start's (weak Wolfe, SciPy's constants) is kept and the step
   lengthened, up to the box (1 on the first iteration, as SciPy's); a
   trial without sufficient decrease takes the last kept one or, with none,
   shortens the step by quadratic interpolation (to 10-50 %); after
   ``maxls`` trials the model is reset to the identity once, and a second
   failure stops the problem (``ABNORMAL``).

Stopping rules are SciPy's (relative reduction of ``f`` below ``ftol``,
projected gradient's largest entry below ``gtol``, ``maxiter``
iterations, ``maxfun`` evaluations) plus one for the likelihood's jumps: a
problem whose ``f`` fell by less than ``1e-5 max(|f|, 1)`` over its last 10
iterations stops (``STALLED``, a convergence). Descents crept along a
discontinuity at 1e-5 to 1e-4 NLL per iteration for thousands of
iterations (one of 30,000 starts for 7,715 evaluations), and the lock-step
batch waits for its slowest problem: at 1e-6 the longest descent of a
239-participant fit took 7,715 evaluations, at 1e-5 1,073; the mean end
NLL of 1,200 starts rose by 0.018 (still 0.03 below SciPy's) and no
participant's best changed by more than 1 NLL.

The iterates are not SciPy's (the finite-difference path of
:func:`avoidrl._core.optimize.minimize_lbfgsb_batch` reproduces those);
each problem's iterates depend only on its own evaluations, so a problem's
result is the same bits in any batch. Without numba the same steps run in
numpy (:mod:`avoidrl._core._bfgsb_numpy`, driven by :func:`_drive` as the
compiled :func:`_advance` is), with the same iterates to the bit: every
sum here is taken in index order (no ``fastmath``), and the twin sums in
that order too. A change to the arithmetic here must be made there as well
(``tests/core/test_bfgsb_numpy.py`` compares the two bit for bit).
"""

from __future__ import annotations


import numpy as np

from . import compiled

#: problem states (``status`` array): running, then why it stopped
RUNNING, CONVERGED_F, CONVERGED_PG, MAX_ITER, MAX_FUN, ABNORMAL, STALLED = range(7)
#: a problem whose f fell by less than STALL_TOLERANCE * max(|f|, 1) over its last
#: STALL_WINDOW iterations stops (see the module's docstring)
STALL_WINDOW, STALL_TOLERANCE = 10, 1e-5
MESSAGES = {
    CONVERGED_F: "CONVERGENCE: RELATIVE REDUCTION OF F <= FACTR*EPSMCH",
    CONVERGED_PG: "CONVERGENCE: NORM OF PROJECTED GRADIENT <= PGTOL",
    MAX_ITER: "STOP: TOTAL NO. OF ITERATIONS REACHED LIMIT",
    MAX_FUN: "STOP: TOTAL NO. OF F,G EVALUATIONS EXCEEDS LIMIT",
    ABNORMAL: "ABNORMAL: THE LINE SEARCH FOUND NO DECREASE, AFTER A RESET TOO",
    STALLED: "CONVERGENCE: F FELL BY LESS THAN 1E-5 * MAX(|F|, 1) IN 10 ITERATIONS",
}
_ARMIJO = 1e-3
#: the weak Wolfe (curvature) condition's constant, SciPy's gtol of its line search
_WOLFE = 0.9
_EPSMCH = np.finfo(np.float64).eps


def _projected_gradient_norm(x, g, lo, hi):
    """Largest entry of the projected gradient (SciPy's ``projgr``)."""
    norm = 0.0
    for i in range(x.shape[0]):
        gi = g[i]
        gi = max(x[i] - hi[i], gi) if gi < 0.0 else min(x[i] - lo[i], gi)
        norm = max(norm, abs(gi))
    return norm


def _cauchy_point(x, g, lo, hi, b, xc, d, breaks, bd, order):
    """First minimum of the model ``g's + s'Bs/2`` along the projected path ``x - t g``.

    ``B d`` is updated as each variable stops at its bound (one column), so a
    segment costs ``k``, not ``k^2``.
    """
    k = x.shape[0]
    for i in range(k):
        xc[i] = x[i]
        d[i] = -g[i]
        if g[i] < 0.0:
            breaks[i] = (x[i] - hi[i]) / g[i]
        elif g[i] > 0.0:
            breaks[i] = (x[i] - lo[i]) / g[i]
        else:
            breaks[i] = np.inf
        if breaks[i] <= 0.0:
            d[i] = 0.0
    for i in range(k):  # insertion sort of the breakpoints (k is small)
        order[i] = i
        j = i
        while j > 0 and breaks[order[j - 1]] > breaks[i]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = i
    for i in range(k):
        total = 0.0
        for j in range(k):
            total += b[i, j] * d[j]
        bd[i] = total
    elapsed = 0.0
    for n in range(k + 1):
        if n < k and breaks[order[n]] <= 0.0:
            continue  # held at its bound from the start
        # slope and curvature of the model along d at the current point
        slope, curvature = 0.0, 0.0
        for i in range(k):
            slope += g[i] * d[i] + (xc[i] - x[i]) * bd[i]
            curvature += d[i] * bd[i]
        if slope >= 0.0 or curvature <= 0.0:
            return
        step = -slope / curvature
        if n == k or breaks[order[n]] == np.inf:
            for i in range(k):
                xc[i] += step * d[i]
            return
        stop = order[n]
        segment = breaks[stop] - elapsed
        if step < segment:
            for i in range(k):
                xc[i] += step * d[i]
            return
        for i in range(k):
            xc[i] += segment * d[i]
        xc[stop] = hi[stop] if d[stop] > 0.0 else lo[stop]
        for i in range(k):
            bd[i] -= b[i, stop] * d[stop]
        d[stop] = 0.0
        elapsed = breaks[stop]


def _subspace_step(x, g, lo, hi, b, xc, xbar, free, work, chol):
    """The model's minimum over the variables free at ``xc``, truncated to the box."""
    k = x.shape[0]
    m = 0
    for i in range(k):
        xbar[i] = xc[i]
        if lo[i] < xc[i] < hi[i]:
            free[m] = i
            m += 1
    if m == 0:
        return
    # reduced gradient r = g + B (xc - x) on the free variables, then B_FF d = -r
    for a in range(m):
        i = free[a]
        total = g[i]
        for j in range(k):
            total += b[i, j] * (xc[j] - x[j])
        work[a] = -total
        for c in range(a + 1):
            chol[a, c] = b[i, free[c]]
    for a in range(m):  # Cholesky, in place (lower triangle)
        for c in range(a + 1):
            total = chol[a, c]
            for e in range(c):
                total -= chol[a, e] * chol[c, e]
            if a == c:
                if total <= 0.0:
                    return  # not positive definite: keep the Cauchy point
                chol[a, a] = np.sqrt(total)
            else:
                chol[a, c] = total / chol[c, c]
    for a in range(m):
        total = work[a]
        for e in range(a):
            total -= chol[a, e] * work[e]
        work[a] = total / chol[a, a]
    for a in range(m - 1, -1, -1):
        total = work[a]
        for e in range(a + 1, m):
            total -= chol[e, a] * work[e]
        work[a] = total / chol[a, a]
    scale = 1.0
    for a in range(m):
        i = free[a]
        if work[a] > 0.0:
            scale = min(scale, (hi[i] - xc[i]) / work[a])
        elif work[a] < 0.0:
            scale = min(scale, (lo[i] - xc[i]) / work[a])
    for a in range(m):
        i = free[a]
        xbar[i] = min(max(xc[i] + scale * work[a], lo[i]), hi[i])


def _direction(p, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step, slope, limit, best,
               nit, work):
    """Search direction and first trial point of problem ``p``; False if there is no descent.

    A model that gives no descent direction is dropped (the memory emptied)
    and the steepest-descent model tried once.
    """
    k = x.shape[1]
    b, chol, xc, breaks, bd, vector = work[0], work[1], work[2], work[3], work[4], work[5]
    free, order = work[8], work[9]
    for attempt in range(2):
        _model_matrix(b, pairs_s[p], pairs_y[p], count[p], bd)
        _cauchy_point(x[p], g[p], lo[p], hi[p], b, xc, d[p], breaks, bd, order)
        _subspace_step(x[p], g[p], lo[p], hi[p], b, xc, trial[p], free, vector, chol)
        total = 0.0
        for i in range(k):
            d[p, i] = trial[p, i] - x[p, i]
            total += g[p, i] * d[p, i]
        slope[p] = total
        if total < 0.0:
            step[p] = 1.0
            # the longest step along d inside the box (SciPy's stpmx: 1 on the first iteration)
            longest = np.inf
            for i in range(k):
                if d[p, i] > 0.0:
                    longest = min(longest, (hi[p, i] - x[p, i]) / d[p, i])
                elif d[p, i] < 0.0:
                    longest = min(longest, (lo[p, i] - x[p, i]) / d[p, i])
            limit[p] = 1.0 if nit[p] == 0 else max(1.0, longest)
            best[p] = 0.0
            return True
        if count[p] == 0:
            return False
        count[p] = 0
    return False


def _remember(pairs_s, pairs_y, count, s, y):
    """Keep the pair (s, y) in the problem's memory if its curvature ``s'y`` is positive.

    The memory holds the last ``m`` pairs, oldest first; returns the new count.
    """
    k = s.shape[0]
    sy, yy = 0.0, 0.0
    for i in range(k):
        sy += s[i] * y[i]
        yy += y[i] * y[i]
    if not sy > _EPSMCH * yy:
        return count
    m = pairs_s.shape[0]
    if count == m:
        for a in range(m - 1):
            for i in range(k):
                pairs_s[a, i] = pairs_s[a + 1, i]
                pairs_y[a, i] = pairs_y[a + 1, i]
        count -= 1
    for i in range(k):
        pairs_s[count, i] = s[i]
        pairs_y[count, i] = y[i]
    return count + 1


def _model_matrix(b, pairs_s, pairs_y, count, bs):
    """The L-BFGS matrix of the memory, dense: ``theta I`` updated by each pair in turn.

    ``theta = y'y / s'y`` of the newest pair (1 without pairs), as in
    L-BFGS-B; with ``k`` variables this costs ``count * k^2``, less than its
    compact form's bookkeeping.
    """
    k = b.shape[0]
    theta = 1.0
    if count:
        sy, yy = 0.0, 0.0
        for i in range(k):
            sy += pairs_s[count - 1, i] * pairs_y[count - 1, i]
            yy += pairs_y[count - 1, i] * pairs_y[count - 1, i]
        theta = yy / sy
    for i in range(k):
        for j in range(k):
            b[i, j] = theta if i == j else 0.0
    for a in range(count):
        s, y = pairs_s[a], pairs_y[a]
        # inner loops over contiguous rows, independent entries: they vectorise
        for i in range(k):
            bs[i] = 0.0
        for j in range(k):  # B s as a sum of B's rows (B is symmetric)
            weight = s[j]
            for i in range(k):
                bs[i] += b[j, i] * weight
        sy, sbs = 0.0, 0.0
        for i in range(k):
            sy += s[i] * y[i]
            sbs += s[i] * bs[i]
        for i in range(k):
            by_y, by_bs = y[i] / sy, bs[i] / sbs
            for j in range(k):
                b[i, j] += by_y * y[j] - by_bs * bs[j]


def _accept(p, xt, ft, gt, x, f, g, lo, hi, pairs_s, pairs_y, count, d, trial, step, slope,
            limit, best, history, status, nit, nfev, nls, reset, factr, pgtol, maxiter, maxfun,
            work):
    """Move problem ``p`` to the accepted point; check the stopping rules; next direction."""
    k = x.shape[1]
    s, y = work[6], work[7]
    for i in range(k):
        s[i] = xt[i] - x[p, i]
        y[i] = gt[i] - g[p, i]
        if s[i] == 0.0 and (xt[i] == lo[p, i] or xt[i] == hi[p, i]):
            # a variable held at its bound: its gradient can be huge (the actor's
            # normalisation makes the likelihood jump there) and would swamp the
            # pair's curvature, so that every pair was refused
            y[i] = 0.0
        x[p, i] = xt[i]
        g[p, i] = gt[i]
    f_old = f[p]
    f[p] = ft
    nit[p] += 1
    nls[p] = 0
    reset[p] = False
    count[p] = _remember(pairs_s[p], pairs_y[p], count[p], s, y)
    slot = nit[p] % history.shape[1]
    before = history[p, slot]  # f STALL_WINDOW iterations ago (+inf before that)
    history[p, slot] = ft
    if f_old - ft <= factr * _EPSMCH * max(abs(f_old), abs(ft), 1.0):
        status[p] = CONVERGED_F
    elif before - ft <= STALL_TOLERANCE * max(abs(ft), 1.0):
        status[p] = STALLED
    elif _projected_gradient_norm(x[p], g[p], lo[p], hi[p]) <= pgtol:
        status[p] = CONVERGED_PG
    elif nit[p] >= maxiter:
        status[p] = MAX_ITER
    elif nfev[p] >= maxfun:
        status[p] = MAX_FUN
    elif not _direction(p, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step, slope,
                        limit, best, nit, work):
        status[p] = CONVERGED_PG


def _advance(idx, f_trial, g_trial, x, f, g, lo, hi, pairs_s, pairs_y, count, d, trial,
             step, slope, limit, best, best_x, best_f, best_g, history, status, nit, nfev, nls,
             reset, factr, pgtol, maxiter, maxfun, maxls):
    """Take the evaluations at each problem's trial point; set its next trial point.

    ``nit[p] == -1`` marks a problem whose start point this evaluation was.
    The line search: a trial with sufficient decrease whose slope along
    ``d`` is still steeper than 0.9 of the start's (the weak Wolfe
    condition fails) is kept and the step lengthened (up to ``limit``); a
    trial without sufficient decrease takes the last kept one, or, with
    none, shortens the step by quadratic interpolation.
    """
    k = x.shape[1]
    # scratch: model, Cholesky factor, six vectors, two index vectors
    work = (np.empty((k, k)), np.empty((k, k)), np.empty(k), np.empty(k), np.empty(k),
            np.empty(k), np.empty(k), np.empty(k), np.empty(k, dtype=np.int64),
            np.empty(k, dtype=np.int64))
    for r in range(idx.shape[0]):
        p = idx[r]
        ft = f_trial[r]
        nfev[p] += 1
        if nit[p] < 0:  # the start point
            nit[p] = 0
            f[p] = ft
            for i in range(k):
                g[p, i] = g_trial[r, i]
            if not np.isfinite(ft):
                status[p] = ABNORMAL
            elif _projected_gradient_norm(x[p], g[p], lo[p], hi[p]) <= pgtol or not \
                    _direction(p, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step,
                               slope, limit, best, nit, work):
                status[p] = CONVERGED_PG
            continue
        nls[p] += 1
        if np.isfinite(ft) and ft <= f[p] + _ARMIJO * step[p] * slope[p]:
            along = 0.0
            for i in range(k):
                along += g_trial[r, i] * d[p, i]
            if along < _WOLFE * slope[p] and step[p] < limit[p] and nls[p] < maxls \
                    and nfev[p] < maxfun:
                # still descending steeply: keep this point and try further out
                best[p], best_f[p] = step[p], ft
                for i in range(k):
                    best_x[p, i] = trial[p, i]
                    best_g[p, i] = g_trial[r, i]
                secant = step[p] * slope[p] / (slope[p] - along) if along > slope[p] else np.inf
                step[p] = min(limit[p], min(max(secant, 1.1 * step[p]), 4.0 * step[p]))
                for i in range(k):
                    trial[p, i] = min(max(x[p, i] + step[p] * d[p, i], lo[p, i]), hi[p, i])
                continue
            _accept(p, trial[p], ft, g_trial[r], x, f, g, lo, hi, pairs_s, pairs_y, count, d,
                    trial, step, slope, limit, best, history, status, nit, nfev, nls, reset,
                    factr, pgtol, maxiter, maxfun, work)
            continue
        if best[p] > 0.0:  # overshot: the last point that was good enough
            _accept(p, best_x[p], best_f[p], best_g[p], x, f, g, lo, hi, pairs_s, pairs_y,
                    count, d, trial, step, slope, limit, best, history, status, nit, nfev, nls,
                    reset, factr, pgtol, maxiter, maxfun, work)
            continue
        if nfev[p] >= maxfun:
            status[p] = MAX_FUN
            continue
        if nls[p] >= maxls:
            if reset[p] or count[p] == 0:
                status[p] = ABNORMAL
                continue
            count[p] = 0  # restart from steepest descent, once
            reset[p] = True
            nls[p] = 0
            if not _direction(p, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step,
                              slope, limit, best, nit, work):
                status[p] = ABNORMAL
            continue
        # backtrack: the minimum of the quadratic through f, the slope and f(trial)
        last = step[p]
        new = 0.1 * last
        if np.isfinite(ft):
            excess = ft - f[p] - slope[p] * last
            if excess > 0.0:
                new = -slope[p] * last * last / (2.0 * excess)
        step[p] = min(max(new, 0.1 * last), 0.5 * last)
        for i in range(k):
            trial[p, i] = min(max(x[p, i] + step[p] * d[p, i], lo[p, i]), hi[p, i])


@compiled.once
def _compiled_advance():
    import numba

    for name in ("_projected_gradient_norm", "_cauchy_point", "_subspace_step", "_remember",
                 "_model_matrix", "_direction", "_accept"):
        # no fastmath: sums stay in index order, so the numpy twin matches to the bit
        globals()[name] = compiled._jit(numba, globals()[name], nogil=True)
    return compiled._jit(numba, _advance, nogil=True)


def available():
    """Whether the compiled BFGS-B can run (numba installed and compiled kernels enabled)."""
    return compiled.ENABLED


def minimize_bfgsb_batch(fun, x0, lo, hi, *, maxcor=10, ftol=2.220446049250313e-09,
                         gtol=1e-5, maxiter=15000, maxfun=15000, maxls=20, progress=None):
    """Minimise many bounded problems with exact gradients, one objective call per round.

    Parameters
    ----------
    fun : callable
        ``fun(X, problem) -> (f, g)``: values (M,) and gradients (M, k) at the
        points ``X`` (M, k) of the problems ``problem`` (M,).
    x0, lo, hi : ndarray of shape (N, k)
        Start points (clipped into the box) and bounds (finite; ``lo == hi``
        fixes a variable).
    maxcor, ftol, gtol, maxiter, maxfun, maxls
        As SciPy's L-BFGS-B options (``maxcor``: pairs kept in memory;
        ``maxfun`` counts points).
    progress : callable, optional
        ``progress(n_finished)`` after each round.

    Returns
    -------
    x, f, g : ndarray
        End points, values and gradients.
    status, nit, nfev : ndarray of int
        Why each problem stopped (:data:`MESSAGES`), its iterations and evaluations.
    """
    return _drive(_compiled_advance(), fun, x0, lo, hi, maxcor=maxcor, ftol=ftol, gtol=gtol,
                  maxiter=maxiter, maxfun=maxfun, maxls=maxls, progress=progress)


def _drive(advance, fun, x0, lo, hi, *, maxcor=10, ftol=2.220446049250313e-09, gtol=1e-5,
           maxiter=15000, maxfun=15000, maxls=20, progress=None):
    """The rounds of :func:`minimize_bfgsb_batch`, each problem stepped by ``advance``.

    ``advance`` is the compiled :func:`_advance` or its numpy twin
    (:mod:`avoidrl._core._bfgsb_numpy`); both update the same state arrays.
    """
    lo = np.ascontiguousarray(lo, dtype=np.float64)
    hi = np.ascontiguousarray(hi, dtype=np.float64)
    n, k = lo.shape
    x = np.ascontiguousarray(np.clip(x0, lo, hi), dtype=np.float64)
    f, g = np.zeros(n), np.zeros((n, k))
    pairs_s, pairs_y = np.zeros((n, maxcor, k)), np.zeros((n, maxcor, k))
    count, reset = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.bool_)
    d, trial = np.zeros((n, k)), x.copy()
    step, slope, limit, best = np.ones(n), np.zeros(n), np.ones(n), np.zeros(n)
    best_x, best_f, best_g = np.zeros((n, k)), np.zeros(n), np.zeros((n, k))
    history = np.full((n, STALL_WINDOW), np.inf)
    status = np.full(n, RUNNING, dtype=np.int64)
    nit = np.full(n, -1, dtype=np.int64)
    nfev, nls = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
    factr = ftol / _EPSMCH
    idx = np.arange(n)
    while idx.size:
        values, gradients = fun(trial[idx], idx)
        advance(idx, np.ascontiguousarray(values, dtype=np.float64),
                np.ascontiguousarray(gradients, dtype=np.float64), x, f, g, lo, hi, pairs_s,
                pairs_y, count, d, trial, step, slope, limit, best, best_x, best_f, best_g,
                history, status, nit, nfev, nls, reset, factr, gtol, maxiter, maxfun, maxls)
        idx = idx[status[idx] == RUNNING]
        if progress is not None:
            progress(n - idx.size)
    return x, f, g, status, nit, nfev
