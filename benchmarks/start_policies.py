"""Can a fit spend fewer descents at the same quality? Start policies measured on a pool.

The default Hybrid2012+novel fit descends from 100 uniform random starts per
participant (plus the robust extra rounds), and that is where a default
``avoidrl fit`` spends most of its time. This script measures whether cheaper
policies keep the quality, scored as the share of participants whose best fit
is within 1 NLL of the best known (the criterion of ``fit_quality.py``):

* **stopping rules** (first round of ``n0`` starts, rounds of ``m`` more until
  the best optimum was reached ``h`` times or ``M`` starts ran), evaluated
  exactly on a pool of ``--pool`` full descents per participant by random
  permutations (no refitting);
* **screening**: evaluate many random points in one batched kernel call and
  descend only from the ``n`` lowest-NLL ones;
* **successive halving**: run every start for a few iterations, continue only
  the best;
* **loose exploration**: descend with a loose ``ftol`` / small ``maxls``,
  then polish the best 3 with the default settings.

The cost column is kernel rows (participant x parameter-vector evaluations)
per participant, which is what time is proportional to.

Usage::

    python benchmarks/start_policies.py [--model Hybrid2012+novel] [--pool 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from threadpoolctl import threadpool_limits

from _tutorial import DEFAULT_DATA_DIR, load_tutorial
from avoidrl import make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective
from avoidrl._core.optimize import minimize_lbfgsb_batch


class Counted:
    """The objective, counting the kernel rows it evaluates."""

    def __init__(self, objective):
        self.objective = objective
        self.rows = 0

    def __call__(self, X, owner):
        self.rows += len(X)
        return self.objective(X, owner)


def descend(fun, starts, owner, box, **options):
    result = minimize_lbfgsb_batch(lambda X, prob: fun(X, owner[prob]), starts, box, **options)
    values = fun.objective(result.x, owner)
    return result, np.where(np.isnan(values), np.inf, values)


def best_per(owner, values, n):
    return np.array([values[owner == p].min() for p in range(n)])


def lowest(owner, values, n, keep):
    rows = []
    for p in range(n):
        mine = np.flatnonzero(owner == p)
        rows.extend(mine[np.argsort(values[mine], kind="stable")[:keep]])
    return np.array(rows)


def stopping_rule(pool_nll, pool_rows, reference, n0, m, most, hits, rng, repeats=400):
    within, cost = [], []
    n, size = pool_nll.shape
    for p in range(n):
        for _ in range(repeats):
            order = rng.permutation(size)
            k = n0
            while True:
                chosen = pool_nll[p, order[:k]]
                if np.sum(chosen <= chosen.min() + 0.1) >= hits or k >= most:
                    break
                k = min(k + m, most)
            within.append(chosen.min() <= reference[p] + 1.0)
            cost.append(pool_rows[p, order[:k]].sum())
    return np.mean(within), np.mean(cost)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="Hybrid2012+novel")
    parser.add_argument("--pool", type=int, default=300)
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    learning, transfer = load_tutorial(args.data_dir)
    data = load_task_data(learning, transfer)
    estimator = make_model(args.model)
    variant = estimator._variant()
    bounds, _ = estimator._resolve_bounds_init(variant)
    box = np.array([bounds[name] for name in variant.parameter_names])
    low, high = box[:, 0], box[:, 1]
    fun = Counted(Objective(variant, data))
    n, k = data.n_participants, len(box)
    rng = np.random.default_rng(args.seed)
    uniform = lambda size: low + (high - low) * rng.random((size, k))  # noqa: E731
    with threadpool_limits(1):
        start = time.perf_counter()
        owner = np.repeat(np.arange(n), args.pool)
        result, values = descend(fun, uniform(n * args.pool), owner, box)
        pool_nll, pool_rows = values.reshape(n, -1), result.nfev.reshape(n, -1)
        print(f"{args.model}, {n} tutorial participants, pool of {args.pool} uniform starts "
              f"each ({time.perf_counter() - start:.0f} s); "
              f"{result.nit.mean():.0f} iterations and {result.nfev.mean():.0f} kernel rows "
              "per descent\n")
        reference = pool_nll.min(axis=1)
        rows = []
        for policy in [(100, 100, 100, 1), (100, 100, 300, 2), (30, 30, 90, 2), (20, 10, 300, 3),
                       (20, 10, 300, 4), (30, 10, 300, 4), (20, 10, 200, 5)]:
            within, cost = stopping_rule(pool_nll, pool_rows, reference, *policy, rng)
            n0, m, most, hits = policy
            rows.append((f"stop: {n0} starts, +{m} until best reached {hits}x (max {most})",
                         within, cost))
        for n_points, n_descents in [(2000, 20), (2000, 40)]:
            fun.rows = 0
            cand_owner = np.repeat(np.arange(n), n_points)
            candidates = uniform(n * n_points)
            chosen = lowest(cand_owner, fun(candidates, cand_owner), n, n_descents)
            _, v = descend(fun, candidates[chosen], cand_owner[chosen], box)
            best = best_per(cand_owner[chosen], v, n)
            rows.append((f"screen {n_points} points, descend the best {n_descents}",
                         np.mean(best <= reference + 1), fun.rows / n))
        for schedule in [((5, 30), (15, 10)), ((8, 20), (25, 5))]:
            fun.rows = 0
            points, who = uniform(n * 100), np.repeat(np.arange(n), 100)
            for maxiter, keep in schedule:
                result, v = descend(fun, points, who, box, maxiter=maxiter)
                chosen = lowest(who, v, n, keep)
                points, who = result.x[chosen], who[chosen]
            _, v = descend(fun, points, who, box)
            best = best_per(who, v, n)
            text = " -> ".join(f"{keep} after {it} iterations" for it, keep in schedule)
            rows.append((f"halving: 100 starts, {text}", np.mean(best <= reference + 1),
                         fun.rows / n))
        for options in [dict(ftol=1e-6), dict(maxls=5), dict(ftol=1e-5, maxls=5)]:
            fun.rows = 0
            who = np.repeat(np.arange(n), 100)
            result, v = descend(fun, uniform(n * 100), who, box, **options)
            chosen = lowest(who, v, n, 3)
            _, polished = descend(fun, result.x[chosen], who[chosen], box)
            best = np.minimum(best_per(who[chosen], polished, n), best_per(who, v, n))
            rows.append((f"loose {options}, polish best 3", np.mean(best <= reference + 1),
                         fun.rows / n))
    print(f"{'policy':<72}{'within 1 NLL':>13}{'kernel rows':>13}")
    for text, within, cost in rows:
        print(f"{text:<72}{within:>13.2f}{cost:>13,.0f}")


if __name__ == "__main__":
    main()
