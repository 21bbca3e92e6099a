"""Before/after table: the default fits and the whole ``avoidrl fit`` of two avoidrl checkouts.

Runs the same measurements in fresh subprocesses, once with the checkout given by
``--before`` first on ``PYTHONPATH`` and once with the checkout holding this
script ("now", or ``--now``), alternating the two ``--repeats`` times so that load changes
hit both alike, and prints the median wall time of each with the ratio:

* the default fit of each model on the 60 example participants
  (``make_model(name, random_state=seed, n_jobs=jobs)``, timed after one
  warm-up fit in the process);
* the whole ``avoidrl fit --jobs <jobs>`` on the example data (5 models and the
  report), unless ``--no-cli``.

It also checks that both versions reach the same fits: the sum of ``nll_`` per
model must be equal to the last printed digit.

Usage::

    git worktree add /tmp/before <commit>
    python benchmarks/before_after.py --before /tmp/before --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

DEFAULT_MODELS = ("QLearning+novel", "ActorCritic+novel", "Relative+novel", "Advantage+novel",
                  "Hybrid2012+novel")

_FITS = """
import json, sys, time, warnings
from avoidrl import load_example, make_model
models, jobs, seed = json.loads(sys.argv[1])
learning, transfer = load_example()
warnings.simplefilter("ignore")
out = {}
for name in models:
    make_model(name, random_state=seed, n_jobs=jobs).fit(learning, transfer)  # warm-up
    model = make_model(name, random_state=seed, n_jobs=jobs)
    start = time.perf_counter()
    model.fit(learning, transfer)
    out[name] = [time.perf_counter() - start, float(model.nll_.sum())]
print(json.dumps(out))
"""

_CLI = """
import json, os, sys, tempfile, time, warnings
from avoidrl.cli import main
jobs, seed = json.loads(sys.argv[1])
warnings.simplefilter("ignore")
with tempfile.TemporaryDirectory() as folder:
    start = time.perf_counter()
    code = main(["fit", "--jobs", str(jobs), "--seed", str(seed), "--quiet",
                 "--out", os.path.join(folder, "modelling")])
    print(json.dumps([time.perf_counter() - start, code]))
"""


def _run(snippet, argument, pythonpath):
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory() as cwd:  # never import avoidrl from the caller's folder
        result = subprocess.run([sys.executable, "-c", snippet, json.dumps(argument)], env=env,
                                cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"a benchmark subprocess failed:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", required=True,
                        help="folder of the older checkout (holding its avoidrl/ package)")
    parser.add_argument("--now", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        help="folder of the newer checkout (default: the one holding this script)")
    parser.add_argument("--models", nargs="*", default=list(DEFAULT_MODELS))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--no-cli", action="store_true", dest="no_cli",
                        help="skip the whole 'avoidrl fit' run")
    args = parser.parse_args(argv)
    for option, folder in (("--before", args.before), ("--now", args.now)):
        if not os.path.isdir(os.path.join(folder, "avoidrl")):
            parser.error(f"{option} {folder!r} holds no avoidrl/ package")
    versions = {"before": os.path.abspath(args.before), "now": os.path.abspath(args.now)}
    fits = {v: [] for v in versions}
    runs = {v: [] for v in versions}
    for _ in range(args.repeats):
        for version, path in versions.items():
            fits[version].append(_run(_FITS, [args.models, args.jobs, args.seed], path))
            if not args.no_cli:
                seconds, code = _run(_CLI, [args.jobs, args.seed], path)
                if code != 0:
                    raise SystemExit(f"avoidrl fit ({version}) exited with {code}")
                runs[version].append(seconds)

    print(f"before: {versions['before']}\nnow: {versions['now']}\n"
          f"n_jobs={args.jobs}, seed={args.seed}, median of {args.repeats} alternating runs\n")
    print("| | before | now | ratio | same fits |")
    print("|---|---|---|---|---|")
    total = {v: 0.0 for v in versions}
    for name in args.models:
        seconds = {v: statistics.median(r[name][0] for r in fits[v]) for v in versions}
        nll = {v: fits[v][0][name][1] for v in versions}
        for v in versions:
            total[v] += seconds[v]
        same = "yes" if f"{nll['before']:.6f}" == f"{nll['now']:.6f}" else \
            f"no (sum NLL {nll['before']:.4f} vs {nll['now']:.4f})"
        print(f"| default fit {name}, 60 example participants | {seconds['before']:.2f} s | "
              f"{seconds['now']:.2f} s | {seconds['before'] / seconds['now']:.1f}x | {same} |")
    print(f"| all {len(args.models)} default fits | {total['before']:.1f} s | {total['now']:.1f} s"
          f" | {total['before'] / total['now']:.1f}x | |")
    if not args.no_cli:
        seconds = {v: statistics.median(runs[v]) for v in versions}
        print(f"| `avoidrl fit --jobs {args.jobs}` (5 models and the report) | "
              f"{seconds['before']:.1f} s | {seconds['now']:.1f} s | "
              f"{seconds['before'] / seconds['now']:.1f}x | |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
