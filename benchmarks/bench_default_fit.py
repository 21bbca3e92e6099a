"""Time the default fit of each model on the bundled example data (60 participants).

Each model is fitted with its own default starts (``make_model(name,
random_state=seed)``, ``n_jobs`` as given) to the example data, as the
default ``avoidrl fit`` does. Prints per model: wall-clock seconds (median of
``--repeats`` runs after one untimed warm-up), the mean best NLL, the starts
run per participant (mean and max: the robust multi-start adds rounds for
participants whose best optimum was reached only once) and the number of
participants whose optimum is still unconfirmed.

It runs against older avoidrl versions too (without the robust multi-start
those columns show the fixed number of starts), so the cost of a change can
be read off by running it on both: ``PYTHONPATH=<old checkout> python
benchmarks/bench_default_fit.py``.

Usage::

    python benchmarks/bench_default_fit.py [--models ...] [--repeats 1] [--jobs 1]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings

from sklearn.exceptions import ConvergenceWarning

import avoidrl
from avoidrl import load_example, make_model

DEFAULT_MODELS = ("QLearning+novel", "ActorCritic+novel", "Relative+novel", "Advantage+novel",
                  "Hybrid2012+novel")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    learning, transfer = load_example()
    print(f"avoidrl {avoidrl.__version__} from {avoidrl.__file__}")
    print(f"{learning['participant_id'].nunique()} example participants, n_jobs={args.jobs}, "
          f"random_state={args.seed}, median of {args.repeats}\n")
    header = (f"{'model':<22}{'seconds':>9}{'mean NLL':>10}{'starts mean':>13}"
              f"{'starts max':>11}{'unconfirmed':>13}")
    print(header)
    print("-" * len(header))
    total = 0.0
    for name in args.models:
        def fit():
            model = make_model(name, random_state=args.seed, n_jobs=args.jobs)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ConvergenceWarning)
                start = time.perf_counter()
                model.fit(learning, transfer)
            return model, time.perf_counter() - start

        fit() if args.repeats > 1 else None  # warm-up only when several timed runs follow
        runs = [fit() for _ in range(args.repeats)]
        model = runs[0][0]
        seconds = statistics.median(s for _, s in runs)
        total += seconds
        used = model.fits_.groupby("participant_id").size()
        hits = getattr(model, "optimum_hits_", None)
        unconfirmed = "-" if hits is None else str(int((hits < 2).sum()))
        print(f"{name:<22}{seconds:>9.2f}{model.nll_.mean():>10.3f}{used.mean():>13.1f}"
              f"{used.max():>11d}{unconfirmed:>13}")
    print(f"\ntotal {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
