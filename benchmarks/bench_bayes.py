"""Full hierarchical Bayes against maximum likelihood and empirical Bayes: recovery, coverage, R-hat, time.

The populations of ``bench_hierarchical.py`` (``population(name, N, seed)``:
parameters uniform within their default bounds, temperature in [0.1, 0.2],
the default design). Per population: Pearson r of the true parameters against
ML's estimates, EmpiricalBayes's MAPs and HierarchicalBayes's posterior means;
the share of true values inside HierarchicalBayes's 90 % equal-tailed credible
intervals; the share of participant-parameters with R-hat <= 1.05 (and <= 1.01);
wall and CPU seconds of each fit with ``--jobs`` workers (CPU: this process and
its worker processes, through psutil when installed; HierarchicalBayes's first
fit in a process includes starting the workers and loading the compiled kernel);
HierarchicalBayes's median bulk ESS per participant-parameter, and the load
average at the start of each population.

Measured 2026 (branch bayesspeed, defaults 2500 warm-up sweeps + 500 draws thinned
by 8, n_jobs=2, the machine shared: load average 5.7-10.3 on 2 cores, so wall
seconds are 2-3x the CPU seconds / 2):

* Hybrid2012+novel, seeds 1000-1007: mean r of the four learning rates ML .585,
  EB .700, HB .746 (HB - EB +.046, SE .009, min +.014); critic_lr .608; 90 %
  coverage .827 (critic_lr) to .910; R-hat <= 1.05 for 98.9 % of
  participant-parameters (worst population 97.1 %); HB 40 s wall, 17 CPU s
  median (the former 5000 + 5000 sweeps: 59 s wall, 28 CPU s; side by side
  at load 8: 55 s / 29.5 CPU s before, 28 s / 13.7 CPU s after).
* QLearning+novel: r within .001 of EB, R-hat <= 1.01 everywhere, 90 %
  coverage .873-.917; HB 20 s wall, 10 CPU s median (before: 41 s, 21 CPU s).

Usage::

    python benchmarks/bench_bayes.py --models Hybrid2012+novel --seeds 8
    python benchmarks/bench_bayes.py --models QLearning+novel --seeds 8 --no-ml
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_hierarchical import pearson, population  # noqa: E402

from avoidrl import make_model  # noqa: E402
from avoidrl.hierarchical import EmpiricalBayes, HierarchicalBayes  # noqa: E402


def cpu_seconds():
    """CPU seconds of this process and its live children (joblib's workers)."""
    try:
        import psutil
    except ImportError:
        return time.process_time()
    me = psutil.Process()
    total = sum(me.cpu_times()[:2])
    for child in me.children(recursive=True):
        try:
            total += sum(child.cpu_times()[:2])
        except psutil.NoSuchProcess:
            pass
    return total


def timed_fit(estimator, learning, transfer):
    """Fit; returns (wall seconds, CPU seconds)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        cpu, tic = cpu_seconds(), time.perf_counter()
        estimator.fit(learning, transfer)
        return time.perf_counter() - tic, cpu_seconds() - cpu


def one_population(name, n, seed, args):
    """Recovery, coverage, R-hat and times of one population."""
    truth, learning, transfer = population(name, n, seed)
    fits, times = {}, {}
    if args.ml:
        fits["ML"] = make_model(name, random_state=seed, n_jobs=args.jobs)
        times["ML"], times["ML cpu"] = timed_fit(fits["ML"], learning, transfer)
    fits["EB"] = EmpiricalBayes(make_model(name), random_state=seed, n_jobs=args.jobs)
    times["EB"], times["EB cpu"] = timed_fit(fits["EB"], learning, transfer)
    options = {k: v for k, v in (("n_warmup", args.warmup), ("n_samples", args.samples),
                                 ("thin", args.thin)) if v is not None}
    hb = HierarchicalBayes(make_model(name), random_state=seed, n_jobs=args.jobs, **options)
    times["HB"], times["HB cpu"] = timed_fit(hb, learning, transfer)
    fits["HB"] = hb
    rows = {}
    for method, fit in fits.items():
        rows[f"{method} r"] = {p: pearson(fit.params_[p], truth[p]) for p in truth.columns}
    interval = hb.credible_intervals(0.9)
    true = truth.stack().rename("truth")
    true.index.names = ["participant_id", "parameter"]
    inside = ((interval["lower"] <= true) & (true <= interval["upper"])).groupby(
        level="parameter").mean()
    rows["HB cover90"] = inside.to_dict()
    rows["HB Rhat<=1.05"] = (hb.rhat_ <= 1.05).mean().to_dict()
    rows["HB Rhat<=1.01"] = (hb.rhat_ <= 1.01).mean().to_dict()
    rows["HB ESS bulk"] = hb.ess_bulk_.median().to_dict()
    table = pd.DataFrame(rows).loc[list(truth.columns)]
    population_rhat = float(hb.population_diagnostics_["r_hat"].max())
    return table, times, population_rhat, hb


def report(name, n, args):
    tables, all_times = [], []
    for s in range(args.seeds):
        seed = 1000 + s
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        table, times, population_rhat, hb = one_population(name, n, seed, args)
        tables.append(table)
        all_times.append({**times, "load": load})
        rates = [p for p in table.index if p.startswith(("factual", "counterfactual"))]
        line = {"seed": seed, "load": round(load, 2), **{k: round(v, 1) for k, v in times.items()},
                "HB lr r": round(table.loc[rates, "HB r"].mean(), 3) if rates else None,
                "EB lr r": round(table.loc[rates, "EB r"].mean(), 3) if rates else None,
                "share Rhat<=1.05": round(float((hb.rhat_ <= 1.05).to_numpy().mean()), 4),
                "max population Rhat": round(population_rhat, 3),
                "independence acceptance": round(float(hb.independence_acceptance_.mean().mean()), 3)}
        print(line, file=sys.stderr, flush=True)
    mean = sum(tables) / len(tables)
    print(f"\n{name}, N = {n}, {len(tables)} populations (seeds 1000-{999 + len(tables)}), "
          f"jobs = {args.jobs}")
    print(mean.round(3).to_string())
    rates = [p for p in mean.index if p.startswith(("factual", "counterfactual"))]
    if rates:
        gains = [t.loc[rates, "HB r"].mean() - t.loc[rates, "EB r"].mean() for t in tables]
        error = np.std(gains, ddof=1) / np.sqrt(len(gains)) if len(gains) > 1 else float("nan")
        print(f"mean r of {', '.join(rates)}: " + ", ".join(
            f"{m} {mean.loc[rates, f'{m} r'].mean():.3f}" for m in ("ML", "EB", "HB")
            if f"{m} r" in mean) + f"; HB - EB {np.mean(gains):+.3f} (SE {error:.3f}, "
            f"min {min(gains):+.3f})")
    shares = [float((t["HB Rhat<=1.05"]).mean()) for t in tables]
    print(f"share of participant-parameters with R-hat <= 1.05: {np.mean(shares):.4f} "
          f"(worst population {min(shares):.4f})")
    times = pd.DataFrame(all_times)
    print("seconds per population (median / max): " + ", ".join(
        f"{m} {times[m].median():.1f} / {times[m].max():.1f}" for m in times.columns
        if m != "load") + f"; load average {times['load'].min():.1f}-{times['load'].max():.1f}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="*", default=["Hybrid2012+novel", "QLearning+novel"])
    parser.add_argument("--n", type=int, default=60)
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--no-ml", dest="ml", action="store_false",
                        help="skip the maximum-likelihood fits (the slowest for Hybrid2012)")
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--samples", type=int, default=None)
    parser.add_argument("--thin", type=int, default=None)
    args = parser.parse_args(argv)
    for name in args.models:
        report(name, args.n, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
