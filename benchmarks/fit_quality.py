"""How many starts does a fit need? The trade-off behind the default ``n_starts``.

For each base model (+novel) on the tutorial data:

1. Two pools of fits per participant: ``--random`` uniform starts
   (``start='random'``) and ``--normal`` starts drawn as the estimator draws
   them by default (``start='normal'``, N(init, range / 15) clipped). The
   *many-start best* of a participant is the lowest NLL found by any fit in
   this script.
2. For n_starts in (1, 3, 10, 30, 100) and each start mode: the expected gap
   between the best of n starts and the many-start best, and the chance of
   ending within 1 NLL of it. Because each start is an independent,
   deterministic L-BFGS-B run from an iid draw, "fit with n_starts=n and a
   fresh seed" is distributed exactly as "the best of n starts drawn at random
   from the pool"; the expectation over all such subsets is computed exactly
   (hypergeometric weights), i.e. the limit of infinitely many seeds, instead
   of a noisy average over a handful.
3. Direct fits with the model's current defaults and ``--seeds`` different
   random_state values, scored against the many-start best: "first round" is
   the best of each fit's first ``n_starts`` drawn starts (what a fit without
   the robust multi-start returns: same draws, no nested-model start, no
   extra rounds), "robust" is the fit's result (extra rounds for participants
   whose best optimum was reached only once, plus the nested model's optimum
   as a start for Advantage and Hybrid2012/2021). Both columns give the mean
   gap and the share of participants within 1 NLL, and the mean starts run.

Usage::

    python benchmarks/fit_quality.py [--data-dir ../shared/data] [--models ...]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import numpy as np
import pandas as pd
from scipy.special import comb
from sklearn.exceptions import ConvergenceWarning

from _tutorial import DEFAULT_DATA_DIR, load_tutorial
from avoidrl import make_model

BASES = ("QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012", "Hybrid2021",
         "StandardHybrid2012", "StandardHybrid2021")
HYBRIDS = {"Hybrid2012", "Hybrid2021", "StandardHybrid2012", "StandardHybrid2021"}
N_GRID = (1, 3, 10, 30, 100)



def fit_starts(name, learning, transfer, **params):
    """Every drawn start's end NLL: a (participant x start) table (one round, no nested start)."""
    model = make_model(name, n_jobs=1, max_starts=params["n_starts"], **params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(learning, transfer)
    fits = model.fits_[model.fits_["kind"] != "nested"]
    nll = fits.pivot(index="participant_id", columns="start", values="nll")
    converged = fits.pivot(index="participant_id", columns="start", values="converged")
    return nll.loc[model.nll_.index], converged.loc[model.nll_.index], model


def expected_best_of(pool, n, reference, tolerance=1.0):
    """Exact expectations over all n-subsets of each participant's pool.

    Returns the mean over participants of E[min of n] - reference and of
    P(min of n <= reference + tolerance).
    """
    gaps, within = [], []
    for values, ref in zip(pool, reference):
        values = np.sort(np.where(np.isfinite(values), values, np.nanmax(values)))
        size = len(values)
        # P(the subset's minimum is the i-th smallest) = C(size - i, n - 1) / C(size, n)
        weight = comb(size - np.arange(1, size + 1), n - 1) / comb(size, n)
        gaps.append(float(weight @ values) - ref)
        close = int(np.sum(values <= ref + tolerance))
        within.append(1.0 - comb(size - close, n) / comb(size, n))
    return float(np.mean(gaps)), float(np.mean(within))


def summarise(pool, reference, threshold):
    """Cells of one row: expected gap and share within 1 NLL for each n of the grid."""
    cells, recommended, largest = {}, None, None
    for n in N_GRID:
        if n > pool.shape[1]:
            cells[f"n={n}"] = "-"
            continue
        largest = n
        gap, within = expected_best_of(pool, n, reference)
        # n equal to the pool size is a single realisation, not an expectation
        mark = "*" if n == pool.shape[1] else " "
        cells[f"n={n}"] = f"{gap:6.2f} ({within:4.0%}){mark}"
        if recommended is None and within >= threshold and gap <= 1.0:
            recommended = n
    cells["recommend"] = f">{largest}" if recommended is None else str(recommended)
    return cells


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                        help="folder with the tutorial CSVs (default: %(default)s)")
    parser.add_argument("--models", nargs="*", default=None,
                        help="model names (default: every base model +novel)")
    parser.add_argument("--participants", type=int, default=None,
                        help="use only the first N participants (default: all)")
    parser.add_argument("--random", type=int, default=None,
                        help="uniform starts in the pool (default: 200 hybrids, 100 others)")
    parser.add_argument("--normal", type=int, default=None,
                        help="'normal' starts in the pool (default: 200 hybrids, 150 others)")
    parser.add_argument("--seeds", type=int, default=3,
                        help="direct fits with the default n_starts (different seeds)")
    parser.add_argument("--threshold", type=float, default=0.9,
                        help="share within 1 NLL that a recommended n_starts must reach")
    args = parser.parse_args(argv)

    learning, transfer = load_tutorial(args.data_dir, args.participants)
    n_participants = learning["participant_id"].nunique()
    names = args.models or [f"{base}+novel" for base in BASES]
    print(f"{n_participants} participants. Cells: mean gap of the best of n starts to the "
          "many-start best (share of participants within 1 NLL), expected over all n-subsets "
          "of the pool of that start mode.\n")
    rows = []
    total = time.perf_counter()
    for name in names:
        hybrid = name.split("+")[0] in HYBRIDS
        n_random = args.random or (200 if hybrid else 100)
        n_normal = args.normal or (200 if hybrid else 150)
        start = time.perf_counter()
        pools = {}
        pools["random"], conv_random, _ = fit_starts(
            name, learning, transfer, start="random", n_starts=n_random, random_state=1000)
        pools["normal"], conv_normal, model = fit_starts(
            name, learning, transfer, start="normal", n_starts=n_normal, random_state=2000)
        seconds_per_start = (time.perf_counter() - start) / (n_random + n_normal)
        default_n = model._default_n_starts
        direct, first_round, used, seconds = [], [], [], []
        for seed in range(args.seeds):
            fitted = make_model(name, n_jobs=1, random_state=seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                tic = time.perf_counter()
                fitted.fit(learning, transfer)
                seconds.append(time.perf_counter() - tic)
            fits = fitted.fits_
            drawn = fits[(fits["kind"] != "nested") & (fits["round"] == 0)]
            first_round.append(drawn.groupby("participant_id")["nll"].min()
                               .loc[fitted.nll_.index])
            direct.append(fitted.nll_)
            used.append(fitted.n_starts_used_.mean())
        everything = pd.concat(list(pools.values()) + [d.to_frame() for d in direct], axis=1)
        reference = everything.min(axis=1).to_numpy()

        def score(fits):
            return (np.mean([d.to_numpy() - reference for d in fits]),
                    np.mean([d.to_numpy() <= reference + 1.0 for d in fits]))

        first_gap, first_within = score(first_round)
        direct_gap, direct_within = score(direct)
        for mode, converged in (("normal", conv_normal), ("random", conv_random)):
            pool = pools[mode].to_numpy()
            row = {"model": name, "start": mode, "pool": pool.shape[1],
                   "best NLL": reference.mean(),
                   "conv": float(converged.to_numpy().mean()),
                   "s/10 starts": seconds_per_start * 10}
            row.update(summarise(pool, reference, args.threshold))
            own = mode == model._default_start
            row["first round"] = (f"n={default_n}: {first_gap:5.2f} ({first_within:4.0%})"
                                  if own else "")
            row["robust"] = (f"{direct_gap:5.2f} ({direct_within:4.0%}), "
                             f"{np.mean(used):.0f} starts, {np.mean(seconds):.1f} s"
                             if own else "")
            rows.append(row)
        print(f"  {name}: {time.perf_counter() - start:.1f} s", file=sys.stderr)

    table = pd.DataFrame(rows).set_index(["model", "start"])
    with pd.option_context("display.width", 250, "display.max_columns", 30,
                           "display.float_format", "{:.2f}".format):
        print(table.to_string(formatters={"conv": "{:.0%}".format}))
    print(f"\npool: fits of that start mode per participant (the many-start best is the best "
          f"of both pools and the direct fits); best NLL: mean many-start best per participant; "
          f"conv: share of the pool's starts that converged; s/10 starts: fit seconds for all "
          f"participants per 10 starts; *: n equals the pool size (one realisation); first "
          f"round / robust (on the row of the model's default start mode): {args.seeds} real "
          f"fits with the current defaults (seeds 0..{args.seeds - 1}), mean gap (share within "
          f"1 NLL) of the best of the first round of drawn starts, and of the robust fit's "
          f"result, with its mean starts per participant and seconds per fit; "
          f"recommend: smallest n whose expected share within 1 NLL is >= "
          f"{args.threshold:.0%} and mean gap <= 1 NLL.")
    print(f"total {time.perf_counter() - total:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
