"""The sampler's per-sweep arithmetic, in numpy and (optionally) compiled by numba.

Between two calls of the likelihood kernel a sweep of :mod:`._mcmc` makes
many small array operations on (chains, participants, parameters) arrays:
the random walk's proposal, the log-prior difference and the acceptance of
every proposal, the independence mixture's density. Each is one pass over a
few thousand numbers, so in numpy the time goes to the calls' overhead
(measured: about as much as the kernel itself). Here each of them is one
function with two implementations: vectorised numpy (:data:`NUMPY`) and a
loop that numba compiles (:data:`COMPILED`, with the ``fast`` extra).

The two agree to rounding (summation order differs), not bit for bit, so a
fit uses one of them throughout: :func:`steps_for` decides from the fit's
size alone (never from the process), so every worker of a fit makes the
same choice and a chain's draws do not depend on ``n_jobs``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.special import logsumexp

from .._core import compiled
from .._core.transform import Z_LIMIT


# ------------------------------------------------------------------ numpy
def walk_proposal(z, chol, log_scale, normal):
    """``clip(z + exp(log_scale) * chol @ normal)``: the random walk's proposals (c, n, k)."""
    step = np.matmul(chol, normal[..., None])[..., 0]
    step *= np.exp(log_scale)[..., None]
    step += z
    return np.clip(step, -Z_LIMIT, Z_LIMIT, out=step)


def metropolis(z, nll, proposal, proposal_nll, mu, group_index, sigma, log_u, extra,
               with_prior):
    """Accept or reject every row's proposal; updates ``z`` and ``nll`` in place.

    The log acceptance ratio is ``nll - proposal_nll + extra``, plus (when
    ``with_prior``) the population prior's log ratio ``-0.5 sum(((proposal -
    mu[g]) / sigma)^2 - ((z - mu[g]) / sigma)^2)``. Rows whose proposal has
    no finite likelihood are rejected.

    Parameters
    ----------
    z, proposal : ndarray (c, n, k)
    nll, proposal_nll, log_u, extra : ndarray (c, n)
        ``log_u``: logs of uniform draws.
    mu : ndarray (c, g, k)
    group_index : int ndarray (n,)
    sigma : ndarray (c, k)
    with_prior : bool

    Returns
    -------
    bool ndarray (c, n)
    """
    log_ratio = nll - proposal_nll + extra
    if with_prior:
        mean = mu[:, group_index]
        inverse = 1.0 / sigma[:, None, :]
        new, old = (proposal - mean) * inverse, (z - mean) * inverse
        log_ratio -= 0.5 * (np.einsum("cnk,cnk->cn", new, new)
                            - np.einsum("cnk,cnk->cn", old, old))
    accepted = (log_u < log_ratio) & np.isfinite(proposal_nll)
    z[accepted] = proposal[accepted]
    nll[accepted] = proposal_nll[accepted]
    return accepted


def mixture_log_density(z, means, inverse, constant, df):
    """Log density (c, n) of every row of ``z`` (c, n, k) under a per-row t mixture.

    ``means`` (m, n, k), ``inverse`` (m, n, k, k) the inverse Cholesky factors,
    ``constant`` (m, n) each component's log normalising constant and weight.
    """
    k = z.shape[-1]
    deviation = z[:, None] - means                                    # (c, m, n, k)
    white = np.matmul(inverse, deviation[..., None])[..., 0]
    distance = np.einsum("cmnk,cmnk->cmn", white, white)
    terms = constant - 0.5 * (df + k) * np.log1p(distance / df)
    return logsumexp(terms, axis=1)


# --------------------------------------------------------- compiled loops
def _walk_proposal_loop(z, chol, log_scale, normal):
    c, n, k = z.shape
    out = np.empty_like(z)
    for a in range(c):
        for i in range(n):
            scale = math.exp(log_scale[a, i])
            for p in range(k):
                total = 0.0
                for q in range(k):
                    total += chol[a, i, p, q] * normal[a, i, q]
                value = z[a, i, p] + scale * total
                out[a, i, p] = min(max(value, -Z_LIMIT), Z_LIMIT)
    return out


def _metropolis_loop(z, nll, proposal, proposal_nll, mu, group_index, sigma, log_u, extra,
                     with_prior):
    c, n, k = z.shape
    accepted = np.zeros((c, n), np.bool_)
    for a in range(c):
        for i in range(n):
            if not math.isfinite(proposal_nll[a, i]):
                continue
            log_ratio = nll[a, i] - proposal_nll[a, i] + extra[a, i]
            if with_prior:
                g = group_index[i]
                new = 0.0
                old = 0.0
                for p in range(k):
                    d_new = (proposal[a, i, p] - mu[a, g, p]) / sigma[a, p]
                    d_old = (z[a, i, p] - mu[a, g, p]) / sigma[a, p]
                    new += d_new * d_new
                    old += d_old * d_old
                log_ratio -= 0.5 * (new - old)
            if log_u[a, i] < log_ratio:
                accepted[a, i] = True
                nll[a, i] = proposal_nll[a, i]
                for p in range(k):
                    z[a, i, p] = proposal[a, i, p]
    return accepted


def _mixture_log_density_loop(z, means, inverse, constant, df):
    c, n, k = z.shape
    m = means.shape[0]
    out = np.empty((c, n))
    terms = np.empty(m)
    deviation = np.empty(k)
    for a in range(c):
        for i in range(n):
            for j in range(m):
                for p in range(k):
                    deviation[p] = z[a, i, p] - means[j, i, p]
                distance = 0.0
                for p in range(k):
                    white = 0.0
                    for q in range(k):
                        white += inverse[j, i, p, q] * deviation[q]
                    distance += white * white
                terms[j] = constant[j, i] - 0.5 * (df + k) * math.log1p(distance / df)
            top = terms.max()
            if not math.isfinite(top):
                out[a, i] = top
                continue
            total = 0.0
            for j in range(m):
                total += math.exp(terms[j] - top)
            out[a, i] = top + math.log(total)
    return out


class Steps:
    """One implementation of the per-sweep arithmetic (see the module's docstring)."""

    def __init__(self, name, walk_proposal, metropolis, mixture_log_density):
        self.name = name
        self.walk_proposal = walk_proposal
        self.metropolis = metropolis
        self.mixture_log_density = mixture_log_density


NUMPY = Steps("numpy", walk_proposal, metropolis, mixture_log_density)


@compiled.once
def compiled_steps():
    """The numba-compiled :class:`Steps` (compiled, or loaded from numba's cache, on first use)."""
    import numba

    def jit(function):
        return compiled._jit(numba, function, nogil=True)

    return Steps("compiled", jit(_walk_proposal_loop), jit(_metropolis_loop),
                 jit(_mixture_log_density_loop))


#: participant-sweeps per chain below which compiling does not pay (about two
#: seconds, once per machine, then loaded from numba's cache in a few tenths)
COMPILE_AFTER = 25_000


def steps_for(n_rows):
    """The implementation for chains of ``n_rows`` participant-sweeps each.

    Compiled when numba is installed and enabled (``AVOIDRL_COMPILE``) and
    the chains are long enough; decided from the fit's settings alone (not
    from how chains are split over workers), so every worker of a fit
    computes alike.
    """
    return compiled_steps() if compiled.ENABLED and n_rows >= COMPILE_AFTER else NUMPY
