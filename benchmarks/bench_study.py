"""Time a whole study of a given size: fit each model, then write the FIT report.

The study is simulated with avoidrl's own simulator: ``--participants``
participants on the standard task design (24 trials per learning pair, the 32
transfer pairs x 12), each simulated by QLearning+novel at the generating
parameters of an example participant drawn at random (with replacement), so
the three example groups and their spread are kept. Each model is then fitted
as the default ``avoidrl fit`` fits it (``make_model(name, random_state=seed,
n_jobs=jobs)``) and the report is written as ``avoidrl fit`` writes it
(``run_fit``'s figure formats, ``n_jobs`` and posterior-predictive
simulations).

Prints the wall time of each model's fit, of the report and of each step of
the report (the steps ``write_fit_report`` announces), so the cost of a real
study can be read off. Timings depend on the machine's load: compare runs
made one after the other.

Usage::

    python benchmarks/bench_study.py --participants 239 \\
        --models QLearning+novel,Hybrid2012+novel --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

import avoidrl
from avoidrl import QLearning, load_example, make_model
from avoidrl._workflows import DEFAULT_MODELS, DEFAULT_N_SIMULATIONS
from avoidrl.report import write_fit_report


def simulate_study(n_participants, seed):
    """``n_participants`` simulated participants in the example's three groups."""
    _, _, parameters = load_example(return_parameters=True)
    rng = np.random.RandomState(seed)
    drawn = parameters.iloc[rng.randint(len(parameters), size=n_participants)]
    ids = pd.Index([f"sim-{i + 1:04d}" for i in range(n_participants)], name="participant_id")
    model = QLearning(novel=True)
    learning, transfer = [], []
    for group, rows in drawn.set_axis(ids).groupby("group_code", sort=False):
        sim_learning, sim_transfer = model.sample(
            params=rows[model.parameter_names], random_state=rng)
        learning.append(sim_learning.assign(group_code=group))
        transfer.append(sim_transfer.assign(group_code=group))
    return pd.concat(learning, ignore_index=True), pd.concat(transfer, ignore_index=True)


class StepTimer:
    """The report's progress callback: the wall time of each announced step."""

    def __init__(self):
        self.steps = []
        self._last = time.perf_counter()

    def __call__(self, message):
        self.lap()
        self.steps.append([message, 0.0])

    def lap(self):
        now = time.perf_counter()
        if self.steps:
            self.steps[-1][1] += now - self._last
        self._last = now


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--participants", type=int, default=60)
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS),
                        help="comma-separated model names (default: the five of avoidrl fit)")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n-simulations", type=int, default=DEFAULT_N_SIMULATIONS,
                        dest="n_simulations")
    parser.add_argument("--formats", nargs="+", default=None,
                        help="figure formats (default: the reference's files)")
    parser.add_argument("--out", help="report folder (default: a temporary folder)")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.models.split(",") if n.strip()]

    start = time.perf_counter()
    learning, transfer = simulate_study(args.participants, args.seed)
    simulated = time.perf_counter() - start
    groups = learning.groupby("group_code", sort=False)["participant_id"].nunique()
    print(f"avoidrl {avoidrl.__version__}: {args.participants} simulated participants "
          f"({', '.join(f'{g} {n}' for g, n in groups.items())}; simulated in {simulated:.1f} s), "
          f"n_jobs={args.jobs}, seed={args.seed}\n")
    print(f"{'model':<24}{'fit s':>8}{'mean NLL':>11}")
    models = {}
    fit_total = 0.0
    for name in names:
        model = make_model(name, random_state=args.seed, n_jobs=args.jobs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            start = time.perf_counter()
            model.fit(learning, transfer)
            seconds = time.perf_counter() - start
        fit_total += seconds
        models[name] = model
        print(f"{name:<24}{seconds:>8.1f}{model.nll_.mean():>11.2f}", flush=True)

    steps = StepTimer()
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(args.out) if args.out else Path(scratch) / "study"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            start = time.perf_counter()
            write_fit_report(out, models, learning, transfer, random_state=args.seed,
                             overwrite=True, progress=steps, n_simulations=args.n_simulations,
                             formats=args.formats, n_jobs=args.jobs)
            steps.lap()
            report = time.perf_counter() - start
        figures = [p for p in out.rglob("*") if p.suffix in (".png", ".svg", ".pdf")]
    print(f"\n{'report':<24}{report:>8.1f}   ({len(figures)} figure files, "
          f"{args.n_simulations} simulations per participant)")
    for message, seconds in steps.steps:
        print(f"  {message[:60]:<60}{seconds:>6.1f}")
    print("  (figures are drawn during the other steps too when --jobs > 1; the last step also\n"
          "   publishes the folder)")
    print(f"\n{'total':<24}{fit_total + report:>8.1f}")


if __name__ == "__main__":
    main()
