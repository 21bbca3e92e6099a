"""The batched BFGS-B of :mod:`avoidrl._core._bfgsb` in numpy, for installs without numba.

The same algorithm, constants, memory and reset rules, stopping rules and
statuses as the compiled loops, vectorised over the problems of a round:
per-problem branches become masks, the ``k + 1`` segments of the Cauchy path
``k + 1`` masked steps, and the Cholesky factor of the free variables is
taken batched over the free variables moved to the front (each problem's
positive definiteness decided on its own leading rows, as the loop decides
it). Every sum is taken in index order from ``0.0``, and ``min``/``max``
keep numba's rule (the first argument unless the second is strictly
beyond it), so each problem's iterates are the compiled ones to the bit
wherever the compiled code keeps IEEE order; a problem's result is still
independent of its batch.
"""

from __future__ import annotations

import numpy as np

from ._bfgsb import (
    _ARMIJO,
    _EPSMCH,
    _WOLFE,
    ABNORMAL,
    CONVERGED_F,
    CONVERGED_PG,
    MAX_FUN,
    MAX_ITER,
    STALL_TOLERANCE,
    STALLED,
    _drive,
)


def _max(a, b):
    """numba's ``max(a, b)``: ``a`` unless ``b > a`` (NaN and signed zeros included)."""
    return np.where(b > a, b, a)


def _min(a, b):
    """numba's ``min(a, b)``: ``a`` unless ``b < a``."""
    return np.where(b < a, b, a)


def _dot(a, b):
    """``sum_i a_i b_i`` over the last axis, from 0.0 in index order (as the loops sum)."""
    total = np.zeros(np.broadcast_shapes(a.shape, b.shape)[:-1])
    for i in range(a.shape[-1]):
        total += a[..., i] * b[..., i]
    return total


def _sum(terms):
    """Sum over the last axis from 0.0 in index order."""
    total = np.zeros(terms.shape[:-1])
    for i in range(terms.shape[-1]):
        total += terms[..., i]
    return total


def _matvec(b, v, start=None):
    """``start + B v`` per problem, each row summed over ``j`` in index order."""
    total = np.zeros(v.shape) if start is None else start.copy()
    for j in range(v.shape[1]):
        total += b[:, :, j] * v[:, j, None]
    return total


def _projected_gradient_norm(x, g, lo, hi):
    """Largest entry of each problem's projected gradient (SciPy's ``projgr``)."""
    projected = np.where(g < 0.0, _max(x - hi, g), _min(x - lo, g))
    norm = np.zeros(x.shape[0])
    for i in range(x.shape[1]):
        norm = _max(norm, np.abs(projected[:, i]))
    return norm


def _model_matrix(pairs_s, pairs_y, count):
    """The dense L-BFGS matrices of the memories: ``theta I`` updated by each pair in turn."""
    n, _, k = pairs_s.shape
    rows = np.arange(n)
    newest = np.maximum(count - 1, 0)
    s_new, y_new = pairs_s[rows, newest], pairs_y[rows, newest]
    theta = np.where(count > 0, _dot(y_new, y_new) / _dot(s_new, y_new), 1.0)
    b = np.zeros((n, k, k))
    b[:, np.arange(k), np.arange(k)] = theta[:, None]
    for a in range(int(count.max(initial=0))):
        has = np.flatnonzero(count > a)
        s, y, ba = pairs_s[has, a], pairs_y[has, a], b[has]
        # B s as a sum of B's rows (B is symmetric), as the loop takes it
        bs = np.zeros(s.shape)
        for j in range(k):
            bs += ba[:, j, :] * s[:, j, None]
        by_y, by_bs = y / _dot(s, y)[:, None], bs / _dot(s, bs)[:, None]
        b[has] = ba + (by_y[:, :, None] * y[:, None, :] - by_bs[:, :, None] * bs[:, None, :])
    return b


def _cauchy_point(x, g, lo, hi, b):
    """First minimum of each model along its projected path ``x - t g``: ``xc`` and ``d``."""
    n, k = x.shape
    rows = np.arange(n)
    xc, d = x.copy(), -g
    breaks = np.full((n, k), np.inf)
    down, up = g < 0.0, g > 0.0
    breaks[down] = ((x - hi) / g)[down]
    breaks[up] = ((x - lo) / g)[up]
    d[breaks <= 0.0] = 0.0
    order = np.argsort(breaks, axis=1, kind="stable")  # the loop's insertion sort is stable
    bd = _matvec(b, d)
    elapsed = np.zeros(n)
    running = np.ones(n, dtype=bool)
    for segment_index in range(k + 1):
        if segment_index < k:
            stop = order[:, segment_index]
            bound = breaks[rows, stop]
            go = running & ~(bound <= 0.0)  # held at its bound from the start: skipped
        else:
            go = running.copy()
        p = np.flatnonzero(go)
        if p.size == 0:
            continue
        slope = _sum(g[p] * d[p] + (xc[p] - x[p]) * bd[p])
        curvature = _dot(d[p], bd[p])
        flat = (slope >= 0.0) | (curvature <= 0.0)
        running[p[flat]] = False
        p, slope, curvature = p[~flat], slope[~flat], curvature[~flat]
        step = -slope / curvature
        if segment_index == k:
            last = np.ones(p.size, dtype=bool)
        else:
            segment = bound[p] - elapsed[p]
            last = (bound[p] == np.inf) | (step < segment)
        q = p[last]
        xc[q] += step[last, None] * d[q]
        running[q] = False
        if segment_index == k:
            continue
        q, segment, stop_q = p[~last], segment[~last], stop[p[~last]]
        xc[q] += segment[:, None] * d[q]
        xc[q, stop_q] = np.where(d[q, stop_q] > 0.0, hi[q, stop_q], lo[q, stop_q])
        bd[q] -= b[q, :, stop_q] * d[q, stop_q, None]
        d[q, stop_q] = 0.0
        elapsed[q] = bound[q]
    return xc


def _cholesky_solve(chol, rhs, m):
    """Solve ``A v = rhs`` for the leading ``m x m`` block of each ``A``; ``ok`` if it is PD.

    ``chol`` holds the matrices (lower triangle read, overwritten); rows at
    or beyond a problem's ``m`` are computed but never enter its leading
    block's results, nor its positive-definiteness verdict.
    """
    n, k, _ = chol.shape
    ok = np.ones(n, dtype=bool)
    for a in range(k):
        lead = a < m
        for c in range(a + 1):
            total = chol[:, a, c].copy()
            for e in range(c):
                total -= chol[:, a, e] * chol[:, c, e]
            if a == c:
                ok &= ~(lead & (total <= 0.0))
                chol[:, a, a] = np.sqrt(total)
            else:
                chol[:, a, c] = total / chol[:, c, c]
    work = rhs.copy()
    for a in range(k):
        total = work[:, a].copy()
        for e in range(a):
            total -= chol[:, a, e] * work[:, e]
        work[:, a] = total / chol[:, a, a]
    for a in range(k - 1, -1, -1):
        total = work[:, a].copy()
        for e in range(a + 1, k):
            # x - (+0.0) is x: rows beyond m drop out exactly
            total -= np.where(e < m, chol[:, e, a] * work[:, e], 0.0)
        work[:, a] = total / chol[:, a, a]
    return work, ok


def _subspace_step(x, g, lo, hi, b, xc):
    """Each model's minimum over the variables free at ``xc``, truncated to the box."""
    k = x.shape[1]
    xbar = xc.copy()
    free = (lo < xc) & (xc < hi)
    m = free.sum(axis=1)
    p = np.flatnonzero(m > 0)
    if p.size == 0:
        return xbar
    x, g, lo, hi, b, xc, free, m = x[p], g[p], lo[p], hi[p], b[p], xc[p], free[p], m[p]
    rows = np.arange(p.size)[:, None]
    # the free variables first, in index order: the loop's compacted system is the leading block
    perm = np.argsort(~free, axis=1, kind="stable")
    reduced = _matvec(b, xc - x, start=g)  # g + B (xc - x), the model's gradient at xc
    chol = b[rows[:, :, None], perm[:, :, None], perm[:, None, :]]
    work, ok = _cholesky_solve(chol, -reduced[rows, perm], m)
    lead = np.arange(k) < m[:, None]
    lo_f, hi_f, xc_f = lo[rows, perm], hi[rows, perm], xc[rows, perm]
    ceiling = np.where(work > 0.0, (hi_f - xc_f) / work,
                       np.where(work < 0.0, (lo_f - xc_f) / work, np.inf))
    scale = np.ones(p.size)
    for a in range(k):
        scale = np.where(lead[:, a], _min(scale, ceiling[:, a]), scale)
    moved = _min(_max(xc_f + scale[:, None] * work, lo_f), hi_f)
    take = lead & ok[:, None]
    target = xbar[p]
    target[np.broadcast_to(rows, perm.shape)[take], perm[take]] = moved[take]
    xbar[p] = target
    return xbar


def _direction(problems, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step, slope, limit,
               best, nit):
    """Search directions and first trial points; False where a problem has no descent.

    A model that gives no descent direction is dropped (the memory emptied)
    and the steepest-descent model tried once.
    """
    found = np.zeros(problems.size, dtype=bool)
    pending = np.arange(problems.size)
    for _attempt in range(2):
        p = problems[pending]
        b = _model_matrix(pairs_s[p], pairs_y[p], count[p])
        xc = _cauchy_point(x[p], g[p], lo[p], hi[p], b)
        trial[p] = _subspace_step(x[p], g[p], lo[p], hi[p], b, xc)
        d[p] = trial[p] - x[p]
        slope[p] = _dot(g[p], d[p])
        descent = slope[p] < 0.0
        q = p[descent]
        found[pending[descent]] = True
        step[q] = 1.0
        # the longest step along d inside the box (SciPy's stpmx: 1 on the first iteration)
        dq = d[q]
        ceiling = np.where(dq > 0.0, (hi[q] - x[q]) / dq,
                           np.where(dq < 0.0, (lo[q] - x[q]) / dq, np.inf))
        longest = np.full(q.size, np.inf)
        for i in range(dq.shape[1]):
            longest = _min(longest, ceiling[:, i])
        limit[q] = np.where(nit[q] == 0, 1.0, _max(1.0, longest))
        best[q] = 0.0
        pending = pending[~descent]
        pending = pending[count[problems[pending]] != 0]
        count[problems[pending]] = 0
    return found


def _remember(problems, pairs_s, pairs_y, count, s, y):
    """Keep each pair (s, y) whose curvature ``s'y`` is positive; the oldest makes way."""
    keep = _dot(s, y) > _EPSMCH * _dot(y, y)
    p, s, y = problems[keep], s[keep], y[keep]
    full = count[p] == pairs_s.shape[1]
    shift = p[full]
    pairs_s[shift, :-1] = pairs_s[shift, 1:]
    pairs_y[shift, :-1] = pairs_y[shift, 1:]
    count[shift] -= 1
    pairs_s[p, count[p]] = s
    pairs_y[p, count[p]] = y
    count[p] += 1


def _accept(problems, xt, ft, gt, state, factr, pgtol, maxiter, maxfun):
    """Move the problems to their accepted points; stopping rules; who needs a direction."""
    (x, f, g, lo, hi, pairs_s, pairs_y, count, history, status, nit, nfev, nls, reset) = state
    p = problems
    s, y = xt - x[p], gt - g[p]
    # a variable held at its bound: its gradient can be huge (see _bfgsb._accept)
    y[(s == 0.0) & ((xt == lo[p]) | (xt == hi[p]))] = 0.0
    x[p], g[p] = xt, gt
    f_old = f[p]
    f[p] = ft
    nit[p] += 1
    nls[p] = 0
    reset[p] = False
    _remember(p, pairs_s, pairs_y, count, s, y)
    slot = nit[p] % history.shape[1]
    before = history[p, slot]
    history[p, slot] = ft
    rules = [
        (f_old - ft <= factr * _EPSMCH * _max(_max(np.abs(f_old), np.abs(ft)), 1.0),
         CONVERGED_F),
        (before - ft <= STALL_TOLERANCE * _max(np.abs(ft), 1.0), STALLED),
        (_projected_gradient_norm(x[p], g[p], lo[p], hi[p]) <= pgtol, CONVERGED_PG),
        (nit[p] >= maxiter, MAX_ITER),
        (nfev[p] >= maxfun, MAX_FUN),
    ]
    undecided = np.ones(p.size, dtype=bool)
    for stops, code in rules:
        stops &= undecided
        status[p[stops]] = code
        undecided &= ~stops
    return p[undecided]


def _advance(idx, f_trial, g_trial, x, f, g, lo, hi, pairs_s, pairs_y, count, d, trial,
             step, slope, limit, best, best_x, best_f, best_g, history, status, nit, nfev, nls,
             reset, factr, pgtol, maxiter, maxfun, maxls):
    """Take the evaluations at each problem's trial point; set its next trial point.

    The numpy twin of :func:`avoidrl._core._bfgsb._advance` (same arguments,
    same in-place updates).
    """
    with np.errstate(all="ignore"):  # masked-out lanes may divide by zero or take sqrt(-x)
        _advance_masked(idx, f_trial, g_trial, x, f, g, lo, hi, pairs_s, pairs_y, count, d,
                        trial, step, slope, limit, best, best_x, best_f, best_g, history,
                        status, nit, nfev, nls, reset, factr, pgtol, maxiter, maxfun, maxls)


def _advance_masked(idx, f_trial, g_trial, x, f, g, lo, hi, pairs_s, pairs_y, count, d, trial,
                    step, slope, limit, best, best_x, best_f, best_g, history, status, nit,
                    nfev, nls, reset, factr, pgtol, maxiter, maxfun, maxls):
    state = (x, f, g, lo, hi, pairs_s, pairs_y, count, history, status, nit, nfev, nls, reset)
    nfev[idx] += 1
    first = nit[idx] < 0
    # start points: a non-finite value stops; a small projected gradient converges
    p, ft = idx[first], f_trial[first]
    nit[p], f[p], g[p] = 0, ft, g_trial[first]
    status[p[~np.isfinite(ft)]] = ABNORMAL
    p = p[np.isfinite(ft)]
    small = _projected_gradient_norm(x[p], g[p], lo[p], hi[p]) <= pgtol
    status[p[small]] = CONVERGED_PG
    started = p[~small]
    # the line search of every other problem
    p, ft, gt = idx[~first], f_trial[~first], g_trial[~first]
    nls[p] += 1
    decrease = np.isfinite(ft) & (ft <= f[p] + _ARMIJO * step[p] * slope[p])
    along = _dot(gt, d[p])
    further = decrease & (along < _WOLFE * slope[p]) & (step[p] < limit[p]) & \
        (nls[p] < maxls) & (nfev[p] < maxfun)
    q = p[further]  # still descending steeply: keep this point and try further out
    best[q], best_f[q], best_x[q], best_g[q] = step[q], ft[further], trial[q], gt[further]
    secant = np.where(along[further] > slope[q],
                      step[q] * slope[q] / (slope[q] - along[further]), np.inf)
    step[q] = _min(limit[q], _min(_max(secant, 1.1 * step[q]), 4.0 * step[q]))
    trial[q] = _min(_max(x[q] + step[q, None] * d[q], lo[q]), hi[q])
    at_trial = decrease & ~further
    overshot = ~decrease & (best[p] > 0.0)  # the last point that was good enough
    moved = np.concatenate([p[at_trial], p[overshot]])
    accepted = _accept(moved, np.concatenate([trial[p[at_trial]], best_x[p[overshot]]]),
                       np.concatenate([ft[at_trial], best_f[p[overshot]]]),
                       np.concatenate([gt[at_trial], best_g[p[overshot]]]), state, factr,
                       pgtol, maxiter, maxfun)
    failed = ~decrease & ~(best[p] > 0.0)
    out_of_evaluations = failed & (nfev[p] >= maxfun)
    status[p[out_of_evaluations]] = MAX_FUN
    failed &= ~out_of_evaluations
    exhausted = failed & (nls[p] >= maxls)
    give_up = exhausted & (reset[p] | (count[p] == 0))
    status[p[give_up]] = ABNORMAL
    restarted = p[exhausted & ~give_up]  # restart from steepest descent, once
    count[restarted], reset[restarted], nls[restarted] = 0, True, 0
    # backtrack: the minimum of the quadratic through f, the slope and f(trial)
    back = failed & ~exhausted
    q, fq = p[back], ft[back]
    last = step[q]
    excess = fq - f[q] - slope[q] * last
    quadratic = np.isfinite(fq) & (excess > 0.0)
    new = np.where(quadratic, -slope[q] * last * last / (2.0 * excess), 0.1 * last)
    step[q] = _min(_max(new, 0.1 * last), 0.5 * last)
    trial[q] = _min(_max(x[q] + step[q, None] * d[q], lo[q]), hi[q])
    # one batch of new directions: after a start, an accepted step, or a restart
    need = np.concatenate([started, accepted, restarted])
    otherwise = np.repeat([CONVERGED_PG, CONVERGED_PG, ABNORMAL],
                          [started.size, accepted.size, restarted.size])
    found = _direction(need, x, g, lo, hi, pairs_s, pairs_y, count, d, trial, step, slope,
                       limit, best, nit)
    status[need[~found]] = otherwise[~found]


def minimize_bfgsb_batch(fun, x0, lo, hi, **options):
    """:func:`avoidrl._core._bfgsb.minimize_bfgsb_batch` stepped in numpy (same arguments)."""
    return _drive(_advance, fun, x0, lo, hi, **options)
