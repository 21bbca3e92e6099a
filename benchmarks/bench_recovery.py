"""Wall time of model recovery, and how it grows with the number of datasets.

Model recovery of QLearning+novel, Relative+novel, Advantage+novel and
Hybrid2012+novel (every model fits every model's datasets) on the tutorial
participants as templates. Figures depend on the machine and its load.

Usage::

    python benchmarks/bench_recovery.py [--data-dir ../shared/data] [--jobs 1] [--sizes 10 25 50]
"""

import argparse
import time


from _tutorial import DEFAULT_DATA_DIR, load_tutorial
from avoidrl import make_model
from avoidrl.recovery import ModelRecovery

MODELS = ("QLearning+novel", "Relative+novel", "Advantage+novel", "Hybrid2012+novel")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                        help="folder holding tutorial_{learning,transfer}_data.csv")
    parser.add_argument("--jobs", type=int, default=1, help="n_jobs of ModelRecovery")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 25, 50],
                        help="datasets per generating model")
    parser.add_argument("--n-starts", type=int, default=None,
                        help="starts per fit (default: each model's default)")
    args = parser.parse_args(argv)
    learning, transfer = load_tutorial(args.data_dir)
    extra = {} if args.n_starts is None else {"n_starts": args.n_starts}
    estimators = [make_model(name, **extra) for name in MODELS]
    print(f"model recovery of {', '.join(MODELS)}; n_jobs={args.jobs}")
    print(f"{'datasets/model':>15} {'fits':>6} {'seconds':>9} {'ms/fit':>8}")
    for n in args.sizes:
        start = time.perf_counter()
        recovery = ModelRecovery(estimators, n_datasets=n, random_state=0,
                                 n_jobs=args.jobs).fit(learning, transfer)
        seconds = time.perf_counter() - start
        fits = len(recovery.fits_)
        print(f"{n:>15} {fits:>6} {seconds:>9.1f} {1000 * seconds / fits:>8.1f}")
    print("\nconfusion p(best fit | generating model), last size:")
    print(recovery.confusion_.round(2).to_string())


if __name__ == "__main__":
    main()
