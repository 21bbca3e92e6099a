"""Compare the exact-gradient descents from the same starts: SciPy's L-BFGS-B and avoidrl's BFGS-B.

Each of ``--participants`` example participants gets ``--starts`` random
starts within the default bounds of ``--model``; both backends of
``avoidrl._core.optimize.minimize_lbfgsb_batch`` descend from them with the
likelihood's exact gradient (``jac=True``). The script prints, per backend,
the CPU seconds of the whole descent (gradients and optimizer steps), the
iterations and evaluations per start (mean and percentiles), the mean end
NLL and the sum over participants of their best NLL, then how often the
BFGS-B ends more than 0.1 NLL below or above SciPy from the same start and
how many participants' best differ by more than 1 NLL.

Usage::

    python benchmarks/bench_descent.py [--model Hybrid2012+novel] [--starts 20]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from threadpoolctl import threadpool_limits

from avoidrl import load_example, make_model
from avoidrl._core.data import load_task_data
from avoidrl._core.likelihood import Objective
from avoidrl._core.optimize import minimize_lbfgsb_batch


def main(argv=None):
    # as the estimators descend: one BLAS thread (SciPy's setulb calls LAPACK, whose idle
    # threads otherwise spin and bill CPU to this process)
    with threadpool_limits(1):
        _compare(argv)


def _compare(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="Hybrid2012+novel")
    parser.add_argument("--starts", type=int, default=20)
    parser.add_argument("--participants", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    settings = make_model(args.model)._fit_settings()
    variant = settings.variant
    learning, transfer = load_example()
    if args.participants:
        keep = learning["participant_id"].drop_duplicates().iloc[:args.participants]
        learning = learning[learning["participant_id"].isin(keep)]
        transfer = transfer[transfer["participant_id"].isin(keep)]
    data = load_task_data(learning, transfer)
    box = np.array([settings.bounds[name] for name in variant.parameter_names])
    objective = Objective(variant, data)
    owner = np.repeat(np.arange(data.n_participants), args.starts)
    rng = np.random.default_rng(args.seed)
    starts = box[:, 0] + (box[:, 1] - box[:, 0]) * rng.random((owner.size, len(box)))

    def fun(points, problem):
        return objective.value_and_gradient(points, owner[problem])

    minimize_lbfgsb_batch(fun, starts[:20], box, jac=True, backend="bfgsb")  # compile, load
    print(f"{args.model}: {data.n_participants} participants x {args.starts} random starts\n")
    ends = {}
    for backend in ("setulb", "bfgsb"):
        tic = time.process_time()
        result = minimize_lbfgsb_batch(fun, starts, box, jac=True, backend=backend)
        cpu = time.process_time() - tic
        nll = objective(result.x, owner)
        best = np.array([nll[owner == p].min() for p in range(data.n_participants)])
        ends[backend] = nll, best
        print(f"{backend:7s} CPU {cpu:6.2f} s; iterations mean {result.nit.mean():5.1f} "
              f"(50/99/max {np.percentile(result.nit, [50, 99, 100]).round().tolist()}); "
              f"evaluations mean {result.nfev.mean():5.1f} "
              f"(50/99/max {np.percentile(result.nfev, [50, 99, 100]).round().tolist()}); "
              f"mean end NLL {nll.mean():.3f}; sum of bests {best.sum():.2f}")
    (scipy_nll, scipy_best), (own_nll, own_best) = ends["setulb"], ends["bfgsb"]
    print(f"\nfrom the same start, BFGS-B ends > 0.1 NLL lower for "
          f"{np.mean(own_nll < scipy_nll - 0.1):.1%} and > 0.1 higher for "
          f"{np.mean(own_nll > scipy_nll + 0.1):.1%} of starts; participants whose best is "
          f"> 1 NLL higher: {int(np.sum(own_best > scipy_best + 1))}, lower: "
          f"{int(np.sum(own_best < scipy_best - 1))}")


if __name__ == "__main__":
    main()
