"""Metropolis-within-Gibbs kernels of the full hierarchical Bayesian model.

Sits between the batched likelihood (:class:`avoidrl._core.likelihood.Objective`)
and the estimator :class:`avoidrl.hierarchical.HierarchicalBayes`
(``_bayes.py``), which validates settings, runs :func:`warm_up` and
:func:`draw_samples` on joblib workers and summarises the draws. Nothing here
knows about data frames. The arithmetic of the moves between kernel calls is
in ``_mcmc_steps.py`` (numpy, or compiled by numba for long chains).

The model, in the logit space of the bounds (``z = logit((x - low) / (high -
low))``), parameter ``k`` and participant ``i`` of group ``g(i)``::

    mu[g, k]  ~ Normal(mu_mean[k], mu_sd[k])
    sigma[k]  ~ HalfNormal(sigma_scale[k])
    z[i, k]   ~ Normal(mu[g(i), k], sigma[k])
    y[i]      ~ the model's likelihood at x(z[i])

One sweep of a chain:

1. every participant's ``z[i]`` takes a k-dimensional Gaussian random-walk
   Metropolis step (its covariance and scale adapted during warm-up only);
   every participant of every chain of the worker is proposed in ONE call of
   the likelihood kernel;
2. every ``population_every``-th sweep, each participant also proposes one of
   its coordinates afresh from the population, ``z'[i, j] ~ Normal(mu[g(i), j],
   sigma[j])`` (accepted with the likelihood ratio alone);
3. in warm-up, multiple-try jumps from the population
   (:meth:`ChainBlock.multiple_try_jump`) move chains out of poor local modes
   (measured on Hybrid2012+novel: chains otherwise stayed for thousands of
   sweeps in modes 5-40 nats below the best one); in sampling, an
   independence step from :class:`MixtureProposal` (one t component per
   chain's warm-up mode, frozen) lets every chain move between the modes any
   chain found;
4. ``mu`` is drawn exactly from its Gaussian full conditional
   (:func:`draw_group_means`);
5. ``sigma`` takes an independence Metropolis-Hastings step from an
   inverse-gamma proposal, corrected for the half-normal prior
   (:func:`update_scales`).

The warm-up (:func:`warm_up`) and the sampling (:func:`draw_samples`) are run
apart, so that the mixture can be built from all chains in between
(:func:`mixture_of`). Every chain draws its random numbers from its own stream, in an order that
does not depend on which other chains share its worker, so a chain's draws are
the same whatever ``n_jobs``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln, logsumexp

from .._core import compiled
from .._core.likelihood import Objective
from .._core.transform import Z_LIMIT, to_bounded
from ._mcmc_steps import NUMPY, compiled_steps, steps_for

#: acceptance rate the random-walk scale is adapted toward (Roberts et al. 1997)
TARGET_ACCEPTANCE = 0.234
#: starts of z are drawn uniformly in +-START_SPREAD (over-dispersed: x from 12 %
#: to 88 % of the range), independently per chain and participant
START_SPREAD = 2.0
#: share of the warm-up, at its start and at its end, in which only the
#: proposal's scale (not its covariance) adapts
SCALE_ONLY_SHARE = 0.1
#: length of the first covariance-adaptation window (sweeps); windows then double
FIRST_WINDOW = 50
#: prior weight (pseudo-draws) of the regularising diagonal of a window's covariance
COV_SHRINK = 5.0
#: the regularising diagonal's variance, in z
COV_FLOOR = 1e-3
#: sweeps between multiple-try jumps at the start of the warm-up
EARLY_JUMP_EVERY = 5
#: the independence mixture's covariance inflation and degrees of freedom
INFLATION = 1.5
DF = 5.0
#: proposal covariance before the first window closes (variance per coordinate, in z)
INITIAL_VARIANCE = 0.25


@dataclass
class Hyperpriors:
    """Hyperpriors in z, one entry per parameter: ``mu ~ N(mu_mean, mu_sd)``,
    ``sigma ~ HalfNormal(sigma_scale)``."""

    mu_mean: np.ndarray
    mu_sd: np.ndarray
    sigma_scale: np.ndarray


def draw_group_means(z, membership, sigma, hyper, normal):
    """Exact Gibbs draw of every group's mean given the participants' z and sigma.

    Parameters
    ----------
    z : ndarray (..., n, k)
        Participants' parameters in z (leading axes: chains).
    membership : ndarray (g, n)
        One-hot group membership (row ``g`` is 1 for the members of group ``g``).
    sigma : ndarray (..., k)
    hyper : Hyperpriors
    normal : ndarray (..., g, k)
        Standard normal draws.

    Returns
    -------
    ndarray (..., g, k)
        ``m_post + normal / sqrt(p_post)`` with ``p_post = n_g / sigma^2 + 1 /
        mu_sd^2`` and ``m_post = (sum_g z / sigma^2 + mu_mean / mu_sd^2) / p_post``.
    """
    sums = np.matmul(membership, z)
    counts = membership.sum(axis=1)[:, None]
    variance = sigma[..., None, :] ** 2
    precision = counts / variance + 1.0 / hyper.mu_sd ** 2
    mean = (sums / variance + hyper.mu_mean / hyper.mu_sd ** 2) / precision
    return mean + normal / np.sqrt(precision)


def update_scales(sigma, squares, n, hyper, gamma, uniform):
    """One independence Metropolis-Hastings step of every population sd.

    The full conditional of ``v = sigma^2`` given ``n`` deviations with sum of
    squares ``S`` is proportional to ``v^-(n+1)/2 exp(-S / 2v) exp(-v / 2s^2)``
    (``s`` the half-normal scale). The proposal ``v' ~ InvGamma(n/2, S/2)``
    matches its first two factors up to ``v^1/2``, so the acceptance ratio is
    ``(v'/v)^1/2 exp(-(v' - v) / 2s^2)``: close to 1 when ``s`` is broad.

    Parameters
    ----------
    sigma, squares : ndarray (..., k)
        Current sds and sums of squared deviations from the group means.
    n : int
        Participants (deviations) in all.
    hyper : Hyperpriors
    gamma : ndarray (..., k)
        ``Gamma(n / 2, 1)`` draws.
    uniform : ndarray (..., k)
        Uniform(0, 1) draws.

    Returns
    -------
    sigma : ndarray (..., k)
    accepted : bool ndarray (..., k)
    """
    variance = sigma ** 2
    proposal = np.maximum(0.5 * squares / gamma, 1e-12)
    log_ratio = 0.5 * np.log(proposal / variance) \
        - (proposal - variance) / (2.0 * hyper.sigma_scale ** 2)
    accepted = np.log(uniform) < log_ratio
    return np.where(accepted, np.sqrt(proposal), sigma), accepted


def adaptation_windows(n_warmup):
    """Sweeps (1-based) at which the proposal covariance is re-estimated.

    Windows of ``FIRST_WINDOW``, then doubling, between ``SCALE_ONLY_SHARE``
    of the warm-up and ``1 - SCALE_ONLY_SHARE`` of it (the last window absorbs
    the remainder), as Stan's warm-up does.
    """
    start = int(SCALE_ONLY_SHARE * n_warmup)
    stop = int((1.0 - SCALE_ONLY_SHARE) * n_warmup)
    ends, size, at = [], FIRST_WINDOW, start
    while at + size <= stop:
        at += size
        ends.append(at)
        size *= 2
    if ends and ends[-1] < stop:
        ends[-1] = stop
    return start, ends


class ChainBlock:
    """Chains run in lock-step by one worker: one kernel call per move per sweep.

    Parameters
    ----------
    objective : Objective
        The likelihood of the participants.
    low, high : ndarray (k,)
        The bounds.
    group_index : int ndarray (n,)
    n_groups : int
    hyper : Hyperpriors
    seeds : list of numpy SeedSequence
        One per chain; each chain draws only from its own stream.
    compiled : bool
        Whether the per-sweep arithmetic is the numba-compiled one
        (:mod:`._mcmc_steps`); every block of a fit must agree.
    """

    def __init__(self, objective, low, high, group_index, n_groups, hyper, seeds,
                 compiled=False):
        self.compiled = compiled
        self.objective, self.low, self.high = objective, low, high
        self.group_index, self.n_groups, self.hyper = group_index, n_groups, hyper
        self.membership = (np.arange(n_groups)[:, None] == group_index[None, :]).astype(float)
        self.rngs = [np.random.default_rng(seed) for seed in seeds]
        c, n, k = len(seeds), len(group_index), len(low)
        self.shape = (c, n, k)
        self.owner = np.tile(np.arange(n), c)
        self.z = np.stack([rng.uniform(-START_SPREAD, START_SPREAD, (n, k)) for rng in self.rngs])
        self.mu = np.stack([rng.normal(0.0, 1.0, (n_groups, k)) for rng in self.rngs])
        self.sigma = np.full((c, k), 2.0)
        self._no_extra = np.zeros((c, n))
        self.nll = self._nll(self.z)
        self.chol = np.broadcast_to(np.sqrt(INITIAL_VARIANCE) * np.eye(k), (c, n, k, k)).copy()
        self.log_scale = np.full((c, n), np.log(2.38 / np.sqrt(k)))
        self.window_mean = self.z.copy()
        self.window_cov = np.broadcast_to(INITIAL_VARIANCE * np.eye(k), (c, n, k, k)).copy()
        self._reset_window()

    def __getstate__(self):
        # shipped between processes without the data: the receiver re-attaches it
        state = dict(self.__dict__)
        state["objective"] = None
        return state

    @property
    def steps(self):
        """The per-sweep arithmetic (:class:`._mcmc_steps.Steps`)."""
        return compiled_steps() if self.compiled else NUMPY

    def _nll(self, z):
        values = self.objective(to_bounded(z.reshape(-1, self.shape[2]), self.low, self.high),
                                self.owner).reshape(self.shape[:2])
        return np.where(np.isfinite(values), values, np.inf)

    def _normals(self, size):
        return np.stack([rng.standard_normal(size) for rng in self.rngs])

    def _uniforms(self, size):
        return np.stack([rng.random(size) for rng in self.rngs])

    def _accept(self, proposal, extra=None, with_prior=True):
        """Metropolis-Hastings acceptance of ``proposal`` (z and nll updated in place).

        ``extra``: the proposal's log density ratio, q(z) / q(proposal), when
        it is not symmetric; ``with_prior``: whether the population prior's
        ratio enters (not when the proposal is the population itself).
        """
        nll = self._nll(proposal)
        log_u = np.log(self._uniforms(self.shape[1]))
        return self.steps.metropolis(self.z, self.nll, proposal, nll, self.mu, self.group_index,
                                     self.sigma, log_u,
                                     self._no_extra if extra is None else extra, with_prior)

    def random_walk(self):
        """One adaptive random-walk Metropolis step of every participant; returns acceptances."""
        n, k = self.shape[1:]
        proposal = self.steps.walk_proposal(self.z, self.chol, self.log_scale,
                                            self._normals((n, k)))
        return self._accept(proposal)

    def population_jump(self):
        """Propose one coordinate per participant from the population; accept by likelihood."""
        c, n, k = self.shape
        coordinate = np.stack([rng.integers(k, size=n) for rng in self.rngs])
        fresh = self._normals(n)
        chains, rows = np.indices((c, n))
        proposal = self.z.copy()
        mean = self.mu[chains, self.group_index[None, :], coordinate]
        proposal[chains, rows, coordinate] = np.clip(
            mean + self.sigma[chains, coordinate] * fresh, -Z_LIMIT, Z_LIMIT)
        return self._accept(proposal, with_prior=False)

    def multiple_try_jump(self, n_tries):
        """Multiple-try independence Metropolis step of every participant's whole vector.

        ``n_tries`` candidates per participant are drawn from its population
        ``N(mu[g(i)], sigma)``, all evaluated in one kernel call; one is selected
        with probability proportional to its likelihood ``w`` and accepted with
        probability ``min(1, sum w(candidates) / (sum w(candidates) - w(selected)
        + w(current)))`` (Liu, Liang & Wong 2000, independent proposals): the
        importance weight of a population draw is its likelihood. Lets a chain
        leave a poor local mode for a better one anywhere in the population.
        """
        c, n, k = self.shape
        m = n_tries
        fresh = np.stack([rng.standard_normal((n, m, k)) for rng in self.rngs])
        candidates = np.clip(self.mu[:, self.group_index][:, :, None, :]
                             + self.sigma[:, None, None, :] * fresh, -Z_LIMIT, Z_LIMIT)
        values = self.objective(
            to_bounded(candidates.reshape(-1, k), self.low, self.high),
            np.tile(np.repeat(np.arange(n), m), c)).reshape(c, n, m)
        log_w = np.where(np.isfinite(values), -values, -np.inf)
        total = logsumexp(log_w, axis=2)
        gumbel = -np.log(-np.log(self._uniforms((n, m))))
        pick = np.argmax(log_w + gumbel, axis=2)
        chains, rows = np.indices((c, n))
        chosen = log_w[chains, rows, pick]
        others = np.where(np.arange(m) == pick[..., None], -np.inf, log_w)
        reverse = np.logaddexp(logsumexp(others, axis=2), -self.nll)
        accepted = (np.log(self._uniforms(n)) < total - reverse) & np.isfinite(chosen)
        self.z[accepted] = candidates[chains, rows, pick][accepted]
        self.nll[accepted] = -chosen[accepted]
        return accepted

    def independence_step(self, mixture):
        """Independence Metropolis-Hastings step of every participant from ``mixture``."""
        c = self.shape[0]
        proposal = np.stack([mixture.draw(rng) for rng in self.rngs])
        # both densities in one pass: the current rows, then the proposals
        density = mixture.log_density(np.concatenate([self.z, proposal]), self.steps)
        return self._accept(proposal, density[:c] - density[c:])

    def population_step(self):
        """Gibbs draw of the group means, then the MH step of the population sds."""
        n, k = self.shape[1:]
        g = self.n_groups
        normal = np.stack([rng.standard_normal((g, k)) for rng in self.rngs])
        self.mu = draw_group_means(self.z, self.membership, self.sigma, self.hyper, normal)
        deviation = self.z - self.mu[:, self.group_index]
        gamma = np.stack([rng.standard_gamma(0.5 * n, k) for rng in self.rngs])
        self.sigma, _ = update_scales(self.sigma, np.einsum("cnk,cnk->ck", deviation, deviation),
                                      n, self.hyper, gamma, self._uniforms(k))

    # ------------------------------------------------------------ adaptation
    def _reset_window(self):
        c, n, k = self.shape
        self._count = 0
        self._sum = np.zeros((c, n, k))
        self._outer = np.zeros((c, n, k, k))
        self._since_update = 0

    def adapt(self, accepted, accumulate):
        """Robbins-Monro step of the log scale; accumulate the window's moments."""
        self._since_update += 1
        rate = (self._since_update + 1.0) ** -0.6
        self.log_scale += rate * (accepted - TARGET_ACCEPTANCE)
        if accumulate:
            self._count += 1
            self._sum += self.z
            self._outer += np.einsum("cni,cnj->cnij", self.z, self.z)

    def close_window(self):
        """Set each proposal covariance to its window's (regularised) covariance."""
        m = self._count
        k = self.shape[2]
        if m < 2:
            return
        mean = self._sum / m
        cov = self._outer / m - np.einsum("cni,cnj->cnij", mean, mean)
        cov = (m * cov + COV_SHRINK * COV_FLOOR * np.eye(k)) / (m + COV_SHRINK)
        self.window_mean, self.window_cov = mean, cov
        self.chol = np.linalg.cholesky(cov + 1e-9 * np.eye(k))
        self.log_scale[...] = np.log(2.38 / np.sqrt(k))
        self._reset_window()


class MixtureProposal:
    """Per participant, an equal mixture of multivariate t distributions in z.

    Built after the warm-up from every chain's last adaptation window (its
    mean and covariance, inflated by ``INFLATION``): one component per chain,
    so a mode that any chain found is proposed to every chain. Fixed during
    sampling, so the independence step it drives leaves the posterior
    invariant; heavier tails than the posterior (``DF``) keep it robust.

    Parameters
    ----------
    means : ndarray (m, n, k)
    covs : ndarray (m, n, k, k)
    """

    def __init__(self, means, covs):
        k = means.shape[-1]
        self.means = means
        self.chol = np.linalg.cholesky(INFLATION ** 2 * covs + 1e-9 * np.eye(k))
        self.inverse = np.linalg.inv(self.chol)
        log_det = np.log(np.diagonal(self.chol, axis1=-2, axis2=-1)).sum(axis=-1)
        self.constant = gammaln((DF + k) / 2) - gammaln(DF / 2) - 0.5 * k * np.log(DF * np.pi) \
            - log_det - np.log(len(means))                       # (m, n)

    def draw(self, rng):
        """One draw per participant, shape (n, k)."""
        m, n, k = self.means.shape
        component = rng.integers(m, size=n)
        rows = np.arange(n)
        normal = rng.standard_normal((n, k))
        scale = np.sqrt(DF / rng.chisquare(DF, size=n))
        step = np.matmul(self.chol[component, rows], normal[..., None])[..., 0]
        return self.means[component, rows] + scale[:, None] * step

    def log_density(self, z, steps=NUMPY):
        """Log density of z (c, n, k); shape (c, n)."""
        return steps.mixture_log_density(z, self.means, self.inverse, self.constant, DF)


@dataclass
class Moves:
    """Which moves a sweep makes, and how often (sweeps between them; 0: never).

    ``population_every``: single-coordinate population jumps;
    ``jump_every`` / ``n_tries``: multiple-try population jumps (warm-up only;
    every ``EARLY_JUMP_EVERY`` sweeps in its first ``SCALE_ONLY_SHARE``);
    ``independence``: an independence step from the warm-up's mixture every
    sampling sweep.
    """

    population_every: int = 5
    jump_every: int = 40
    n_tries: int = 32
    independence: bool = True


def _sweep(block, sweep, moves, warmup_start, mixture):
    """One sweep of moves; returns the random walk's and the independence step's acceptances."""
    accepted = block.random_walk()
    if moves.population_every and sweep % moves.population_every == 0:
        block.population_jump()
    independent = None
    if mixture is not None:
        independent = block.independence_step(mixture)
    elif moves.n_tries:
        every = EARLY_JUMP_EVERY if sweep <= warmup_start else moves.jump_every
        if every and sweep % every == 0:
            block.multiple_try_jump(moves.n_tries)
    block.population_step()
    return accepted, independent


def _objective(variant, data, n_rows):
    # the sampler is certain to evaluate n_rows rows: compile the kernel now,
    # not after the numpy kernel's first COMPILE_AFTER_ROWS rows
    compiled.kernel_for(variant.base, n_rows)
    return Objective(variant, data)


def warm_up(variant, data, low, high, group_index, n_groups, hyper, seeds, n_warmup, moves,
            n_planned=0, callback=None):
    """Start and warm up a block of chains (adapting their proposals); returns the block.

    ``n_planned``: sweeps of the sampling to come (to compile the kernel at once);
    ``callback(sweeps_done)`` is called every 100 sweeps.
    """
    objective = _objective(variant, data,
                           (n_warmup + n_planned) * len(seeds) * data.n_participants)
    # from the fit's size per chain, so every worker of a fit chooses alike
    compiled = steps_for((n_warmup + n_planned) * data.n_participants) is not NUMPY
    block = ChainBlock(objective, low, high, group_index, n_groups, hyper, seeds, compiled)
    start, window_ends = adaptation_windows(n_warmup)
    ends = set(window_ends)
    last = window_ends[-1] if window_ends else 0
    for sweep in range(1, n_warmup + 1):
        accepted, _ = _sweep(block, sweep, moves, start, None)
        block.adapt(accepted, accumulate=start < sweep <= last)
        if sweep in ends:
            block.close_window()
        if callback is not None and sweep % 100 == 0:
            callback(100)
    block.objective = None
    return block


def mixture_of(blocks):
    """The independence proposal from the warmed-up blocks (all chains, in order)."""
    means = np.concatenate([b.window_mean for b in blocks])
    covs = np.concatenate([b.window_cov for b in blocks])
    return MixtureProposal(means, covs)


def draw_samples(variant, data, block, mixture, n_samples, thin, moves, callback=None):
    """Sample a warmed-up block with frozen proposals.

    Returns
    -------
    dict of arrays, chains first: ``z`` (c, s, n, k), ``log_likelihood`` (c, s, n),
    ``mu`` (c, s, g, k), ``sigma`` (c, s, k), ``acceptance`` and
    ``independence_acceptance`` (c, n), the rates of the two steps.
    """
    block.objective = _objective(variant, data, 0)
    c, n, k = block.shape
    out = {"z": np.empty((c, n_samples, n, k)), "log_likelihood": np.empty((c, n_samples, n)),
           "mu": np.empty((c, n_samples, block.n_groups, k)),
           "sigma": np.empty((c, n_samples, k))}
    walk, independent = np.zeros((c, n)), np.zeros((c, n))
    mixture = mixture if moves.independence else None
    for sweep in range(1, n_samples * thin + 1):
        accepted, jumped = _sweep(block, sweep, moves, 0, mixture)
        walk += accepted
        if jumped is not None:
            independent += jumped
        if sweep % thin == 0:
            s = sweep // thin - 1
            out["z"][:, s], out["log_likelihood"][:, s] = block.z, -block.nll
            out["mu"][:, s], out["sigma"][:, s] = block.mu, block.sigma
        if callback is not None and sweep % 100 == 0:
            callback(100)
    out["acceptance"] = walk / (n_samples * thin)
    out["independence_acceptance"] = independent / (n_samples * thin)
    return out
