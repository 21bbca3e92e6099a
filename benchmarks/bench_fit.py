"""Time the fit of every base model (+novel) on the tutorial data.

Fits each model with 10 starts (fixed ``random_state``, ``n_jobs=1``) to the
15 tutorial participants and prints, per model: the wall-clock seconds of the
fit (median over ``--repeats`` runs, after one untimed warm-up fit), the mean
best NLL, the share of participants whose best start converged, the target
and the reference implementation's figure where one is known.

Usage::

    python benchmarks/bench_fit.py [--data-dir ../shared/data] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

from _tutorial import DEFAULT_DATA_DIR, load_tutorial
from avoidrl import make_model

BASES = ("QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012", "Hybrid2021",
         "StandardHybrid2012", "StandardHybrid2021")
#: seconds the reference implementation needs for the same fit (reference-spec.md,
#: performance-notes.md); only QLearning+novel with 10 starts is documented
REFERENCE_SECONDS = {"QLearning+novel": 235.0}
TARGET_SECONDS = {"QLearning+novel": 0.3, "Hybrid2012+novel": 2.0}



def time_fit(name, learning, transfer, n_starts, seed, repeats):
    def fit():
        model = make_model(name, n_starts=n_starts, random_state=seed, n_jobs=1)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(learning, transfer)
            return model, time.perf_counter() - start

    fit()  # warm-up: imports, the optimizer's one-off self-test, caches
    runs = [fit() for _ in range(repeats)]
    model = runs[0][0]
    return model, statistics.median(seconds for _, seconds in runs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=str(DEFAULT_DATA_DIR),
                        help="folder with the tutorial CSVs (default: %(default)s)")
    parser.add_argument("--n-starts", type=int, default=10, help="starts per participant")
    parser.add_argument("--seed", type=int, default=0, help="random_state of the fits")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed fits per model; the median is reported")
    parser.add_argument("--models", nargs="*", default=None,
                        help="model names (default: every base model +novel)")
    args = parser.parse_args(argv)

    learning, transfer = load_tutorial(args.data_dir)
    n_participants = learning["participant_id"].nunique()
    names = args.models or [f"{base}+novel" for base in BASES]
    print(f"{n_participants} participants, {args.n_starts} starts, random_state={args.seed}, "
          f"n_jobs=1, median of {args.repeats} timed fits\n")
    header = (f"{'model':<26}{'seconds':>9}{'mean best NLL':>15}{'converged':>11}"
              f"{'target s':>10}{'reference s':>13}{'speed-up':>10}")
    print(header)
    print("-" * len(header))
    failed = []
    for name in names:
        model, seconds = time_fit(name, learning, transfer, args.n_starts, args.seed,
                                  args.repeats)
        target = TARGET_SECONDS.get(name)
        reference = REFERENCE_SECONDS.get(name)
        if target is not None and seconds > target:
            failed.append(f"{name}: {seconds:.2f} s > {target} s")
        print(f"{name:<26}{seconds:>9.3f}{model.nll_.mean():>15.3f}"
              f"{model.converged_.mean():>11.0%}"
              f"{'' if target is None else f'{target:.1f}':>10}"
              f"{'' if reference is None else f'{reference:.0f}':>13}"
              f"{'' if reference is None else f'{reference / seconds:.0f}x':>10}")
    if failed:
        print("\nslower than target: " + "; ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
