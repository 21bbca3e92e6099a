"""Benchmark the batched likelihood kernel on the tutorial data.

For each model (default: every base model with ``+novel``) and each batch size
(default 1, 150 and 1500), evaluates random parameter vectors drawn uniformly
within the default bounds, with owners cycling over the participants, and
prints microseconds per (participant x parameter vector) evaluation: the best
of ``--repeat`` timings, after one warm-up call. Both kernels are timed: the
numpy one, and the compiled one generated from the same declarations (when
numba is installed; ``compile s`` is the time to build it, paid once per
model and process). The two give bit-identical NLLs; a fit switches to the
compiled kernel once it has evaluated enough rows for the compile to pay.

Targets (batch >= 150): QLearning+novel <= 3 us, Hybrid2012+novel <= 6 us with
numpy, and <= 1 us, <= 2 us compiled; the two user-model examples
(examples/custom_asymmetric_q.py, a 4-learning-rate Q-learning, and
examples/custom_perseveration.py, Q-learning with a choice bonus), written
with the public avoidrl.models helpers, within 1.5x the time of Relative+novel,
the built-in of their size (Q values and 4 parameters + novel), measured in
the same run with the numpy kernel (AsymmetricQ picks its rate by the sign of
the error, which the compiler does not take: it always runs on numpy).

Each call gathers its rows' data, as every round of a fit does (about 0.13 us
per row of the figures).

The numbers depend on the machine and on its load at the time of the run
(other processes, CPU frequency scaling); compare runs made on the same
machine under similar load, and prefer a higher ``--repeat`` on a busy one.

Usage::

    python benchmarks/bench_likelihood.py [--repeat 7] [--models QLearning+novel Hybrid2012+novel]
                                          [--batches 1 150 1500] [--data-dir PATH]

User models are named by import path (``module:Class+options``); the
examples folder is on the path, e.g. ``custom_asymmetric_q:AsymmetricQ+novel``.
"""

from __future__ import annotations

import argparse
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "examples"))  # the user-model examples, by import path

from _tutorial import DEFAULT_DATA_DIR, load_tutorial  # noqa: E402
from avoidrl._core import compiled as _compiled  # noqa: E402
from avoidrl._core.data import load_task_data  # noqa: E402
from avoidrl._core.likelihood import negative_log_likelihood  # noqa: E402
from avoidrl.models._builtin import BASE_MODELS, make_variant  # noqa: E402

USER_MODELS = ["custom_asymmetric_q:AsymmetricQ+novel",
               "custom_perseveration:PerseverationQ+novel"]
DEFAULT_MODELS = [f"{base}+novel" for base in BASE_MODELS] + USER_MODELS
#: µs per evaluation that a model must reach at every batch size >= TARGET_BATCH,
#: per kernel: the speed issue's targets, which are the compiled kernel's (the numpy
#: kernel is the fallback without numba, at ~0.33 µs of call overhead per numpy call).
TARGETS = {"numpy": {},
           "compiled": {"QLearning+novel": 1.0, "Hybrid2012+novel": 2.0}}
#: At most this multiple of a built-in model's time of the same size (same run,
#: same batch sizes): a user model written with the helpers costs about what a
#: built-in one does.
RELATIVE_TARGETS = {"AsymmetricQ+novel": ("Relative+novel", 1.5),
                    "PerseverationQ+novel": ("Relative+novel", 1.5)}
TARGET_BATCH = 150
#: Minimum duration of one timed repeat (several calls when one is shorter).
MIN_REPEAT_SECONDS = 0.05


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7,
                        help="timed repeats per (model, batch); the best is reported (default 7)")
    parser.add_argument("--models", nargs="+", default=DEFAULT_MODELS, metavar="MODEL",
                        help="model names such as QLearning+novel (default: every base +novel)")
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 150, 1500], metavar="B",
                        help="batch sizes (default: 1 150 1500)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR,
                        help="folder with tutorial_learning_data.csv and tutorial_transfer_data.csv "
                             f"(default: {DEFAULT_DATA_DIR})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the parameter draws")
    parser.add_argument("--kernels", nargs="+", choices=["numpy", "compiled"],
                        default=["numpy", "compiled"] if _compiled.AVAILABLE else ["numpy"],
                        help="kernels to time (default: both when numba is installed)")
    args = parser.parse_args(argv)
    if "compiled" in args.kernels and not _compiled.AVAILABLE:
        parser.error("the compiled kernel needs numba (pip install numba)")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if any(b < 1 for b in args.batches):
        parser.error("--batches must be positive")
    for name in args.models:
        try:
            make_variant(name)
        except ValueError as exc:
            parser.error(str(exc))
    return args


def use_kernel(kernel):
    """Make every following evaluation use ``kernel`` ('numpy' or 'compiled')."""
    _compiled.ENABLED = kernel == "compiled"
    _compiled.COMPILE_AFTER_ROWS = 0


def compile_seconds(variant, data):
    """Seconds to build the compiled kernel of ``variant`` (and check it) on a first call."""
    use_kernel("compiled")
    params = np.array([[p.init for p in variant.parameters]])
    start = time.perf_counter()
    negative_log_likelihood(variant, data, params, [0])
    seconds = time.perf_counter() - start
    if _compiled._KERNELS.get(variant.base) is None:
        return None  # not compiled: the numpy kernel runs it
    return seconds


def time_per_evaluation(variant, data, batch, repeat, rng):
    """Best-of-``repeat`` seconds per (participant x parameter vector) evaluation."""
    low = np.array([p.low for p in variant.parameters])
    high = np.array([p.high for p in variant.parameters])
    params = rng.uniform(low, high, size=(batch, len(low)))
    owner = np.arange(batch) % data.n_participants
    start = time.perf_counter()
    def evaluate():
        negative_log_likelihood(variant, data, params, owner)

    evaluate()  # warm-up (and calibration)
    once = time.perf_counter() - start
    number = max(1, int(MIN_REPEAT_SECONDS / max(once, 1e-9)))
    best = np.inf
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            evaluate()
        best = min(best, (time.perf_counter() - start) / number)
    return best / batch


def main(argv=None):
    args = parse_args(argv)
    data = load_task_data(*load_tutorial(args.data_dir))
    rng = np.random.default_rng(args.seed)
    print(f"{data.n_participants} participants, {int(data.n_learning[0])} learning + "
          f"{int(data.n_transfer[0])} transfer trials each; best of {args.repeat} repeats; "
          f"numpy {np.__version__}"
          + (f", numba {version('numba')}" if _compiled.AVAILABLE else ""))
    print("µs per (participant x parameter vector) evaluation; depends on machine load\n")
    batch_columns = [f"B={b}" for b in args.batches]
    names = [make_variant(m).name for m in args.models]  # user models without their path
    name_width = max(len("model"), *(len(m) for m in names))
    header = (f"{'model':<{name_width}}  {'kernel':>8}  "
              + "  ".join(f"{c:>9}" for c in batch_columns)
              + f"  {'compile s':>9}  {'target (B>=' + str(TARGET_BATCH) + ')':>16}  status")
    print(header)
    print("-" * len(header))
    missed = []
    measured = {}
    for given, name in zip(args.models, names):
        variant = make_variant(given)
        for kernel in args.kernels:
            compile_text = ""
            if kernel == "compiled":
                seconds = compile_seconds(variant, data)
                if seconds is None:
                    print(f"{name:<{name_width}}  {kernel:>8}  (not compiled: runs on numpy)")
                    continue
                compile_text = f"{seconds:.2f}"
            use_kernel(kernel)
            timings = {b: 1e6 * time_per_evaluation(variant, data, b, args.repeat, rng)
                       for b in args.batches}
            measured[name, kernel] = timings
            judged = [b for b in args.batches if b >= TARGET_BATCH]
            status, target_text = "", ""
            if name in TARGETS[kernel]:
                target = TARGETS[kernel][name]
                target_text = f"<= {target:g} µs"
                if judged:
                    status = "ok" if max(timings[b] for b in judged) <= target else "MISSED"
            elif name in RELATIVE_TARGETS and kernel == "numpy":
                reference, factor = RELATIVE_TARGETS[name]
                target_text = f"<= {factor:g}x {reference.split('+')[0]}"
                if judged and (reference, kernel) in measured:
                    ratio = max(timings[b] / measured[reference, kernel][b] for b in judged)
                    status = f"{'ok' if ratio <= factor else 'MISSED'} ({ratio:.2f}x)"
            if status.startswith("MISSED"):
                missed.append(f"{name} ({kernel})")
            print(f"{name:<{name_width}}  {kernel:>8}  "
                  + "  ".join(f"{timings[b]:>9.2f}" for b in args.batches)
                  + f"  {compile_text:>9}  {target_text:>16}  {status}")
    if missed:
        print(f"\ntargets missed by: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
