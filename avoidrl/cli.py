"""The ``avoidrl`` command: ``avoidrl fit`` and ``avoidrl validate``.

The two subcommands are the reference pipeline's FIT and VALIDATION modes.
They run the same code as :class:`avoidrl.pipeline.Pipeline`
(:mod:`avoidrl._workflows`), so the same settings and seed give the same
output folder.

Errors a user can cause (a bad path, an unreadable CSV, an unknown model, an
invalid combination of options, a bad config file, an output file that
exists) print one line ``avoidrl: error: ...`` on stderr and exit with
status 2. Without ``--seed`` a seed is drawn, printed (the first line of the
summary on stdout) and recorded in the summary files, so every run can be
repeated. SIGINT exits with 130, SIGTERM with 143 (while the report is
written, after removing the staging folder); either ends the ``--jobs``
worker processes at once (they would otherwise finish their task first,
minutes for a recovery's dataset).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import sys
import time
import warnings
from contextlib import nullcontext

from . import __version__
from .models._builtin import BASE_MODELS, OPTIONS
from .report._folder import Terminated, terminate_raises
from ._utils.fitted import fit_methods
from ._utils.progress import Progress, report_to
from .plotting._style import STYLES
from .report import _figures
from .report._figures import FORMATS, REFERENCE_SVG_FOLDERS
from ._workflows import (
    DEFAULT_METHOD, DEFAULT_MODELS, DEFAULT_N_SIMULATIONS, DEFAULT_OUT_DIR, RECOVERY_KINDS,
    SAMPLERS, SEED_RANGE, START_MODES, check_models, default_starts_text, draw_seed,
    read_fit_parameters, run_fit, run_validation,
)
from ._cli_config import (  # noqa: F401  (CONFIG_SECTIONS: a public name of the module)
    CONFIG_KEYS, CONFIG_SECTIONS, METHOD_SETTINGS, UsageError, read_config,
)
from .datasets import load_example
from .estimators._settings import GRADIENTS, INTERVAL_METHODS
from ._tables import TRANSFER_PREDICTION_METHODS

PROG = "avoidrl"
EXIT_USAGE = 2

class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump) and never exit."""

    def error(self, message):
        raise UsageError(message)


# ---------------------------------------------------------------- progress
class ProgressBar(Progress):
    """A one-line text progress bar, redrawn in place on a terminal.

    The command line's :class:`~avoidrl._utils.progress.Progress`. A step is
    a model fitted, a recovery or the report; within a step the bar also
    moves with the step's own progress (starts descended, datasets
    recovered, EM iterations), which :meth:`within` receives as the listener
    of :func:`~avoidrl._utils.progress.report_to`. Nothing is drawn when
    ``enabled`` is False (``--quiet``, or stderr is not a terminal).
    """

    #: seconds between redraws for progress within a step
    REDRAW_INTERVAL = 0.1

    def __init__(self, stream=None, *, enabled=True, width=24):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.width = width
        self.total = 0
        self.done = 0
        self.label = ""
        self.part = 0.0
        self.detail = ""
        self._start = time.monotonic()
        self._drawn = False
        self._last_draw = 0.0

    def start(self, total):
        self.total = max(int(total), 1)
        self.done = 0
        self._start = time.monotonic()
        self._draw()

    def begin(self, label):
        self.label = label
        self.part, self.detail = 0.0, ""
        self._draw()

    def advance(self):
        self.done = min(self.done + 1, self.total)
        self.part, self.detail = 0.0, ""
        self._draw()

    def within(self, done, total, description):
        """Progress inside the current step (as the listener of :func:`report_to`)."""
        self.part = min(done / total, 1.0) if total else 0.0
        self.detail = f"{done}/{total}" if description == self.label else \
            f"{description} {done}/{total}"
        now = time.monotonic()
        if now - self._last_draw >= self.REDRAW_INTERVAL or done >= total:
            self._draw()

    def close(self):
        if self.enabled and self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def _draw(self):
        if not self.enabled or not self.total:
            return
        filled = min(round(self.width * (self.done + self.part) / self.total), self.width)
        elapsed = int(time.monotonic() - self._start)
        label = f"{self.label} ({self.detail})" if self.detail else self.label
        line = (f"[{'#' * filled}{'.' * (self.width - filled)}] {self.done}/{self.total} "
                f"{elapsed // 60:02d}:{elapsed % 60:02d} {label}")
        self._last_draw = time.monotonic()
        columns = max(shutil.get_terminal_size((80, 24)).columns - 1, 20)
        self.stream.write("\r" + line[:columns].ljust(columns))
        self.stream.flush()
        self._drawn = True


# ------------------------------------------------------------------ parser
def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _jobs(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value == 0:
        raise argparse.ArgumentTypeError("expected a positive number of workers or -1 (all "
                                          "cores), got 0")
    return value


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") \
            from None
    if not 0 <= value < SEED_RANGE:
        raise argparse.ArgumentTypeError(f"expected an integer in [0, 2**32), got {text!r}")
    return value


_MODELS_HELP = (
    "models to fit, reference-style names Base[+bias][+novel][+decay]; bases: "
    + ", ".join(BASE_MODELS) + f"; options: {', '.join(OPTIONS)} (bias: ActorCritic and the "
    "hybrids only; decay: not ActorCritic). Default: the reference's five, "
    + " ".join(DEFAULT_MODELS))


def _add_common(parser, *, validate):
    data = parser.add_argument_group("data")
    what = "template data: each synthetic dataset replays one participant's trials and " \
        "outcomes" if validate else "the data to fit"
    data.add_argument("--learning", metavar="CSV",
                      help=f"learning-phase CSV in the reference's format ({what}); give "
                           "--transfer too. Default: the bundled example data")
    data.add_argument("--transfer", metavar="CSV",
                      help="transfer-phase CSV; give --learning too. Default: the bundled "
                           "example data")
    data.add_argument("--participants", metavar="N", type=_positive_int,
                      help="keep only the first N participants of the data (quick runs)")
    keys = [k for k, commands in CONFIG_KEYS.items() if ("validate" if validate else "fit")
            in commands]
    model = parser.add_argument_group("models and fitting")
    model.add_argument("--models", metavar="M", nargs="+", help=_MODELS_HELP)
    model.add_argument("--n-starts", metavar="N", type=_positive_int, dest="n_starts",
                       help="optimizer starts per participant and model; the best is kept "
                            "(the reference's number_of_runs). Default: each model's own")
    model.add_argument("--start", choices=START_MODES,
                       help="how starts are drawn: 'normal' around the start values, 'random' "
                            "uniform within the bounds, 'fixed' at the start values (one "
                            "start); the reference's random_params. Default: each model's "
                            f"own ({default_starts_text()})")
    model.add_argument("--gradient", choices=GRADIENTS,
                       help="how fits descend: 'exact' (default) with the likelihood's exact "
                            "gradient, by avoidrl's batched BFGS-B; 'finite-difference': "
                            "SciPy's L-BFGS-B with forward differences, the reference's "
                            "optimizer path. Not with --method bayes (it needs no gradient)")
    model.add_argument("--intervals", choices=INTERVAL_METHODS,
                       help="the 95 %% intervals of maximum-likelihood estimates: 'wald' "
                            "(default) from the likelihood's curvature; 'profile': "
                            "profile-likelihood intervals, for every estimate, better "
                            "calibrated where the likelihood is not quadratic (the hybrids), "
                            "several times the fit's cost; a lower optimum the profile meets "
                            "becomes the fit's; 'calibrated-profile': their cut calibrated by "
                            "a parametric bootstrap of the group (about five times the cost "
                            "again). Only with --method ml")
    fitted = "each synthetic population" if validate else "all participants"
    model.add_argument("--method", choices=tuple(fit_methods()),
                       help="'ml' (default): maximum likelihood per participant, models compared "
                            "by AIC/BIC; 'eb': empirical Bayes (avoidrl.hierarchical."
                            f"EmpiricalBayes), a population prior fitted to {fitted} by EM, "
                            "models compared by Laplace evidence"
                            + ("" if validate else " and iBIC")
                            + "; 'bayes': full hierarchical Bayes (avoidrl.hierarchical."
                              "HierarchicalBayes), posterior draws by Metropolis-within-Gibbs, "
                              "models compared by PSIS-LOO. With 'eb' and 'bayes', start values "
                              "and starts are not used (--start and --n-starts are refused; the "
                              "config's are ignored)")
    model.add_argument("--n-chains", metavar="N", type=_positive_int, dest="n_chains",
                       help="--method bayes: independent chains (default: HierarchicalBayes's, 4)")
    model.add_argument("--n-warmup", metavar="N", type=_positive_int, dest="n_warmup",
                       help="--method bayes: warm-up sweeps per chain, discarded (default: "
                            "HierarchicalBayes's)")
    model.add_argument("--n-samples", metavar="N", type=_positive_int, dest="n_samples",
                       help="--method bayes: kept draws per chain (default: "
                            "HierarchicalBayes's); few warm-up sweeps and draws give a quick "
                            "look, not converged chains (see bayes_diagnostics.csv)")
    model.add_argument("--interval-calibration", metavar="N", type=_positive_int,
                       dest="interval_calibration",
                       help="--method eb: calibrate each parameter's credible level on N "
                            "groups simulated from the fit (EmpiricalBayes's "
                            "interval_calibration; about N more EM fits; 10 brought "
                            "Hybrid2012+novel's 95 %% intervals from .85-.93 to .92-.95 "
                            "coverage). Default: no calibration")
    model.add_argument("--config", metavar="FILE",
                       help="JSON or TOML file with sections 'bounds' ({Base: {param: [low, "
                            "high]}}) and 'init' ({Base: {param: value}}), keyed by base model "
                            "name as in the reference, plus optional defaults for the options "
                            f"({', '.join(keys)}); command-line options win. Paths in it are "
                            "relative to the file's folder. Unknown keys are an error")
    run = parser.add_argument_group("run")
    run.add_argument("--jobs", metavar="N", type=_jobs,
                     help="parallel workers (-1: all cores) of the fits and of the report's "
                          "figures. Default: 1. Results do not depend on it")
    run.add_argument("--seed", metavar="S", type=_seed,
                     help="random seed; the same seed gives the same results. Fits use "
                          "random_state=S for every model (as make_model(M, random_state=S)); "
                          "recoveries a seed derived from S and the model name. Default: a "
                          "seed is drawn, printed and recorded in the summary")
    run.add_argument("--out", metavar="DIR",
                     help=f"study folder (default: {DEFAULT_OUT_DIR}): 'fit' and 'validate' add "
                          "their files side by side, published at once when the run "
                          "succeeds. Existing files are never replaced without --overwrite. "
                          "A folder holding the input CSVs is refused")
    run.add_argument("--overwrite", action="store_true",
                     help="replace files an earlier avoidrl run wrote there (and remove that "
                          "kind of run's files this run no longer writes); files avoidrl did "
                          "not write are never replaced")
    svg = "" if validate else (" and an SVG of those in "
                               + " and ".join(f"{f}/" for f in REFERENCE_SVG_FOLDERS))
    run.add_argument("--formats", metavar="F", nargs="+", choices=FORMATS,
                     help=f"figure formats ({', '.join(FORMATS)}): every figure is written in "
                          f"each. Default: the reference's files, a PNG of every figure{svg}")
    run.add_argument("--style", choices=STYLES, default="screen",
                     help="figure style: 'screen' (default, sized for a monitor) or 'paper' "
                          "(at most 7 inches wide, print font sizes, one-line titles, PNG at "
                          "300 dpi)")
    run.add_argument("--quiet", action="store_true",
                     help="print nothing but errors (no progress bar, no summary)")


def build_parser():
    """The argument parser of the ``avoidrl`` command."""
    parser = _Parser(
        prog=PROG,
        description="Reinforcement-learning models of avoidance learning: fit models to "
                    "learning- and transfer-phase choices (fit) and validate them by "
                    "parameter and model recovery (validate).",
        epilog="Run 'avoidrl fit --help' or 'avoidrl validate --help' for the options.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="{fit,validate}",
                                     parser_class=_Parser)
    fit = commands.add_parser(
        "fit", help="fit models to task data and write the FIT folder",
        description="Fit every model to every participant by maximum likelihood (multi-start "
                    "bounded quasi-Newton descents), compare the models by AIC/BIC and random-effects Bayesian model "
                    "selection and write the results, intervals, group statistics and "
                    "posterior-predictive simulations to the output folder (the reference's FIT "
                    "mode). --method eb fits them by empirical Bayes instead, --method bayes by "
                    "full hierarchical Bayes.",
        epilog="Example: avoidrl fit --models QLearning+novel Relative+novel --learning "
               "learning.csv --transfer transfer.csv --seed 1 --out modelling")
    _add_common(fit, validate=False)
    report = fit.add_argument_group("report")
    report.add_argument(
        "--n-simulations", metavar="N", type=_positive_int, dest="n_simulations",
        help="posterior-predictive simulations per participant and model (the model curves "
             "of the behaviour figures and modelsimulation_*.csv). Default: "
             f"{DEFAULT_N_SIMULATIONS}")
    report.add_argument(
        "--transfer-prediction", action="store_true", dest="transfer_prediction",
        help="also write transfer_prediction.csv: every model (without +novel/+decay) "
             "refitted to the learning phase alone, scored on the transfer choices it never "
             "saw. Fits every model again; maximum likelihood only")
    validate = commands.add_parser(
        "validate", help="parameter or model recovery on simulated data",
        description="Simulate datasets from each model and fit them again: parameter "
                    "recovery (true vs fitted parameters) or model recovery (every model fits "
                    "every model's data; confusion matrix by BIC). The reference's VALIDATION "
                    "mode. Datasets replay the template participants' trial sequences and "
                    "outcomes (the bundled example data unless --learning/--transfer or "
                    "--default-design).",
        epilog="Example: avoidrl validate --recovery model --models QLearning+novel "
               "Relative+novel --n-datasets 30 --seed 1 --out validation")
    _add_common(validate, validate=True)
    recovery = validate.add_argument_group("recovery")
    recovery.add_argument("--recovery", choices=RECOVERY_KINDS,
                          help="'parameter' (default), 'model' (needs at least 2 models), or "
                               "'both': parameter recovery, then model recovery on the same "
                               "datasets")
    recovery.add_argument("--n-datasets", metavar="N", type=_positive_int, dest="n_datasets",
                          help="simulated datasets per model. Default: one per template "
                               "participant (15 with --default-design)")
    recovery.add_argument("--sampler", choices=SAMPLERS,
                          help="how the generating parameters are drawn: 'random' uniform "
                               "within the bounds (default) or 'normal' around the start values")
    recovery.add_argument("--default-design", action="store_true", dest="default_design",
                          help="simulate on the standard task design (24 trials per learning "
                               "pair, the 32 transfer pairs x 12) instead of replaying template "
                               "participants")
    recovery.add_argument("--fit-data", metavar="PKL", dest="fit_data",
                          help="take the generating parameters from a fit_data pickle (e.g. "
                               "fit_data_FIT.pkl of an 'avoidrl fit' folder) instead of drawing "
                               "them: each template participant is simulated at its fitted "
                               "parameters (a pickle: load only files you trust)")
    return parser


# -------------------------------------------------------------------- main
def _settings(args):
    """Option values: command line first, then the config file, then defaults."""
    config = read_config(args.config) if args.config else {}
    values = {}
    for key in CONFIG_KEYS:
        if args.command not in CONFIG_KEYS[key]:
            continue
        given = getattr(args, key, None)
        values[key] = given if given is not None else config.get(key)
    values["bounds"] = config.get("bounds")
    values["init"] = config.get("init")
    return values


def _check_combinations(args, values):
    method = values["method"] or DEFAULT_METHOD
    if not fit_methods()[method].uses_starts:
        # the config's start settings may serve other runs too; explicit options would be ignored
        reason = fit_methods()[method].unused_starts_reason
        for option, key in (("--n-starts", "n_starts"), ("--start", "start")):
            if getattr(args, key) is not None:
                raise UsageError(f"{option} has no effect with --method {method} ({reason}); "
                                 "drop it")
        values["n_starts"] = values["start"] = None
    if not getattr(fit_methods()[method], "uses_gradient", True):
        if args.gradient is not None:
            raise UsageError(f"--gradient has no effect with --method {method} (it needs no "
                             "gradient); drop it")
        values["gradient"] = None  # the config's may serve other runs
    if not getattr(fit_methods()[method], "takes_interval_method", False):
        if args.intervals is not None:
            raise UsageError(f"--intervals chooses maximum-likelihood intervals; --method "
                             f"{method} reports its own posterior intervals: drop it")
        values["intervals"] = None  # the config's may serve other runs
    allowed = getattr(fit_methods()[method], "front_end_settings", ())
    for key in METHOD_SETTINGS:
        if key not in allowed and getattr(args, key) is not None:
            owners = [label for label, cls in fit_methods().items()
                      if key in getattr(cls, "front_end_settings", ())]
            raise UsageError(f"--{key.replace('_', '-')} is a setting of --method "
                             f"{' or '.join(owners)}; it has no effect with --method "
                             f"{method}: drop it")
        if key not in allowed:
            values[key] = None  # the config's may serve other runs
    if values["start"] == "fixed" and values["n_starts"] is not None:
        raise UsageError("--n-starts has no effect with --start fixed (a fixed start is "
                         "deterministic: one start per participant); drop one of them")
    if (values["learning"] is None) != (values["transfer"] is None):
        given, missing = ("--learning", "--transfer") if values["transfer"] is None \
            else ("--transfer", "--learning")
        raise UsageError(f"{given} was given without {missing}; give both (or neither, for "
                         "the bundled example data)")
    if args.command != "validate":
        if args.transfer_prediction and method not in TRANSFER_PREDICTION_METHODS:
            raise UsageError(f"--transfer-prediction refits maximum-likelihood fits on the "
                             f"learning phase; it cannot be combined with --method {method}")
        return
    if args.default_design and values["learning"] is not None:
        raise UsageError("--default-design simulates on the standard task design; it cannot "
                         "be combined with --learning/--transfer")
    if args.default_design and values["participants"] is not None:
        raise UsageError("--participants selects template participants; with "
                         "--default-design use --n-datasets")
    if args.fit_data and args.sampler is not None:
        raise UsageError("--fit-data gives the generating parameters, so --sampler has no "
                         "effect; drop one of them")
    if args.fit_data and args.n_datasets is not None:
        raise UsageError("--fit-data simulates one dataset per fitted participant, so "
                         "--n-datasets has no effect; drop one of them")
    if args.fit_data and args.default_design:
        raise UsageError("--fit-data simulates each template participant at its fitted "
                         "parameters; it cannot be combined with --default-design")
    recovery = values["recovery"] or "parameter"
    models = values["models"] or DEFAULT_MODELS
    if recovery != "parameter" and len(models) < 2:
        raise UsageError(f"--recovery {recovery} compares models: give at least 2 models with "
                         f"--models (got {len(models)})")


def _run(args, values, progress):
    models = values["models"] or list(DEFAULT_MODELS)
    seed, drawn = values["seed"], values["seed"] is None
    if drawn:  # every run can be repeated: draw the seed here; main prints it
        seed = values["seed"] = draw_seed()
        values["seed_drawn"] = True
    common = dict(
        out_dir=values["out"] or DEFAULT_OUT_DIR, models=models,
        learning=values["learning"], transfer=values["transfer"],
        n_participants=values["participants"], bounds=values["bounds"], init=values["init"],
        start=values["start"], n_starts=values["n_starts"], seed=seed, seed_drawn=drawn,
        n_jobs=values["jobs"], overwrite=args.overwrite, progress=progress,
        method=values["method"] or DEFAULT_METHOD, formats=values["formats"],
        style=args.style, method_settings={key: values[key] for key in METHOD_SETTINGS},
        gradient=values["gradient"], intervals=values["intervals"])
    if args.command == "fit":
        n_simulations = values["n_simulations"]
        return run_fit(**common, n_simulations=DEFAULT_N_SIMULATIONS if n_simulations is None
                       else n_simulations, transfer_prediction=args.transfer_prediction)
    learning, transfer = common.pop("learning"), common.pop("transfer")
    if learning is None and not args.default_design:
        learning, transfer = load_example()
    parameters, n_datasets = None, values["n_datasets"]
    if args.fit_data:  # one dataset per fitted participant, at its fitted parameters
        parameters = read_fit_parameters(args.fit_data, check_models(models))
        n_datasets = None
    return run_validation(
        **common, learning=learning, transfer=transfer,
        recovery=values["recovery"] or "parameter", n_datasets=n_datasets,
        sampler=values["sampler"] or "random", parameters=parameters)


def _one_line(exc):
    if isinstance(exc, OSError) and exc.strerror:  # raised by the OS: "[Errno 21] ..."
        text = exc.strerror + (f": '{exc.filename}'" if exc.filename else "")
    else:
        text = str(exc)
    return " ".join(text.split()) or type(exc).__name__


def _stop_workers():
    """Kill joblib's (loky's) worker processes: an interrupted run's results are not wanted."""
    if "joblib.externals.loky" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    executor = reusable_executor._executor  # the one --jobs runs on (no public accessor)
    if executor is not None:
        executor.shutdown(wait=False, kill_workers=True)


def _end_quickly_at_exit():
    """At exit, skip the interpreter's last garbage collection and stop the figure workers.

    For the ``avoidrl`` command only (:func:`main` reading the process's own
    command line), whose objects are not needed once it returns: frozen
    (:func:`gc.freeze`), they are not walked by the final collection (0.35 s
    after a fit: the fitted models, pandas, matplotlib); every file was
    published and closed before. Registered once.
    """
    if not getattr(_end_quickly_at_exit, "registered", False):
        _figures.freeze_at_exit()
        atexit.register(_figures.stop_workers)  # runs first (atexit is last in, first out)
        _end_quickly_at_exit.registered = True


def main(argv=None):
    """Run the ``avoidrl`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 2 for an error the user can fix (one line on stderr),
        130 when interrupted (SIGINT), 143 when terminated (SIGTERM).
    """
    if argv is None:  # this process is the avoidrl command: it ends after main
        _end_quickly_at_exit()
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as exc:
        print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # --help and --version
        return exc.code if isinstance(exc.code, int) else 0
    if args.command is None:
        print(f"{PROG}: error: choose a command, 'fit' or 'validate' (see '{PROG} --help')",
              file=sys.stderr)
        return EXIT_USAGE
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            values = _settings(args)
            _check_combinations(args, values)
            progress = ProgressBar(enabled=not args.quiet and sys.stderr.isatty())
            try:
                listening = report_to(progress) if progress.enabled else nullcontext()
                with listening, terminate_raises():
                    result = _run(args, values, progress)
            finally:
                progress.close()
        except (UsageError, ValueError, OSError) as exc:
            # OSError: an unreadable input, an output folder that exists or cannot be written
            print(f"{PROG}: error: {_one_line(exc)}", file=sys.stderr)
            return EXIT_USAGE
        except KeyboardInterrupt as exc:  # Terminated (SIGTERM) too
            _stop_workers()
            written = getattr(exc, "avoidrl_written", None)
            what = "terminated" if isinstance(exc, Terminated) else "interrupted"
            if written is not None:
                print(f"{PROG}: {what} after the results were written to {written}",
                      file=sys.stderr)
            else:
                print(f"{PROG}: {what}; the output folder was left as it was",
                      file=sys.stderr)
            return 143 if isinstance(exc, Terminated) else 130
    if not args.quiet:
        seen = set()
        for warning in caught:
            text = _one_line(warning.message)
            if text not in seen:
                seen.add(text)
                print(f"{PROG}: warning: {text}", file=sys.stderr)
        if values.get("seed_drawn"):
            print(f"seed: {values['seed']} (drawn; pass --seed {values['seed']} to repeat)")
        print("\n".join(result.summary_lines()))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
