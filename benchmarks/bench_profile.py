"""Profile-likelihood intervals (``intervals='profile'``): what they cost and which optima they beat.

Per population of ``bench_hierarchical.py`` (parameters uniform within the
default bounds, temperature in [0.1, 0.2]; seeds 1000, 1001, ...): the
default maximum-likelihood fit with Wald intervals, then the same fit with
profile intervals (same ``random_state``, so the same starts). The profile
walk is also a search: where it meets an NLL more than 0.1 below the fit's
optimum the estimator descends from there and reports the lower optimum.
Printed: the participants that moved, by how much, how many of their old
optima two or more starts had confirmed (``optimum_hits_`` >= 2), and the wall
seconds of both fits with ``--jobs`` workers. Coverage of the intervals is in
``bench_hierarchical.py --report coverage``.

Measured 2026-12-06 (``--seeds 8``, 2 workers): Hybrid2012+novel, 24 of 480
participants moved to a lower optimum (23 of their old optima confirmed by
>= 2 of the 100-300 starts), by 0.107-3.42 NLL (median 0.35); none ended
higher; fit 2.2 s, with profile intervals 12.5 s (medians).

Usage::

    python benchmarks/bench_profile.py --models Hybrid2012+novel --seeds 8
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_hierarchical import population, quiet_fit  # noqa: E402

from avoidrl import make_model  # noqa: E402


def report(name, n, seeds, jobs):
    moved, confirmed, worse, wald_s, profile_s = [], 0, 0, [], []
    for seed in range(1000, 1000 + seeds):
        _, learning, transfer = population(name, n, seed)
        wald = make_model(name, random_state=seed, n_jobs=jobs)
        wald_s.append(quiet_fit(wald, learning, transfer))
        profiled = make_model(name, random_state=seed, n_jobs=jobs, intervals="profile")
        profile_s.append(quiet_fit(profiled, learning, transfer))
        gain = wald.nll_ - profiled.nll_
        better = gain[gain > 0]
        moved.extend(better)
        confirmed += int((wald.optimum_hits_[better.index] >= 2).sum())
        worse += int((gain < 0).sum())
        print(f"seed {seed}: {better.round(3).to_dict()}", file=sys.stderr, flush=True)
    print(f"{name}, {seeds} populations of {n}: {len(moved)} of {seeds * n} participants moved "
          f"to a lower optimum ({confirmed} of their old optima confirmed by >= 2 starts)"
          + (f", by {min(moved):.3f}-{max(moved):.3f} NLL (median {np.median(moved):.3f})"
             if moved else "") + f"; {worse} ended higher; wall s (median) fit "
          f"{np.median(wald_s):.1f}, with profile intervals {np.median(profile_s):.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=["Hybrid2012+novel"])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    for name in args.models:
        report(name, args.n, args.seeds, args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
