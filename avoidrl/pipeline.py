"""``Pipeline``: the reference pipeline's entry point, on avoidrl.

Scripts written for the reference (``from helpers.pipeline import Pipeline``)
run with one changed import::

    from avoidrl.pipeline import Pipeline
    from avoidrl.priors import fixed_priors

    models = ["QLearning+novel", "Relative+novel", "Hybrid2012+novel"]
    Pipeline(seed=1251).run(mode="fit", models=models,
                            learning_filename="learning.csv",
                            transfer_filename="transfer.csv",
                            random_params="normal", number_of_runs=10,
                            fixed=fixed_priors(models), multiprocessing=True)

``run`` writes the same output folder as the ``avoidrl`` command with the same
settings and seed (both call :mod:`avoidrl._workflows`). Differences from the
reference, on purpose:

* The output goes to ``out_dir`` (default ``modelling``, relative to the
  working directory), a study folder: the FIT, the parameter recovery and
  the model recovery add their own files side by side (as the reference's
  ``RL/modelling``), each published at once when the run succeeds. A run
  never replaces a file that exists unless ``overwrite=True``, and then only
  files avoidrl wrote. Nothing else is written and no file of the user's is
  ever deleted (``clear_data`` has nothing to clear).
* ``seed`` seeds everything (starts, generating parameters, simulated
  choices): the same seed gives the same folder, with or without
  ``multiprocessing``. ``seed=None`` draws a seed once (``pipeline.seed``)
  and records it in the summaries, so the runs can be repeated.
* Unknown parameters, misspelt model names and invalid values are errors
  (ValueError), not warnings.
* Recovery fits start as avoidrl's estimators do by default ('normal' or
  'random' starts, ``number_of_runs`` of them) instead of all at ``fixed``
  (the reference's Q7); ``random_params`` in VALIDATION mode sets how the
  generating parameters are drawn, as in the reference.
* ``number_of_runs`` defaults to each estimator's number of starts
  (10 to 100 by model) rather than 1.
* A model recovery run after a parameter recovery by the same Pipeline, into
  the same ``out_dir`` and for the same models, fits the parameter
  recovery's datasets and adds its files to that folder (the reference's
  ``recovery='parameter'`` then ``recovery='model', generate_data=False``
  workflow); the folder then holds what ``avoidrl validate --recovery both``
  writes.
* The torch backend (``training='torch'``, ``training_epochs``,
  ``optimizer_lr``) is not reproduced: it is not maximum likelihood.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._utils.fitted import fit_methods
from ._workflows import (
    DEFAULT_METHOD, DEFAULT_OUT_DIR, check_models, check_seed, draw_seed, read_fit_parameters,
    run_fit, run_validation,
)

if TYPE_CHECKING:
    from ._workflows import FitRun, ValidationRun

__all__ = ["Pipeline", "PARAMETERS"]

_BOTH = ("fit", "validation")

#: name -> (modes, type, default, description); the help text and the checks use it
PARAMETERS = {
    "mode": (_BOTH, "str", "required",
             "'fit' (fit models to data) or 'validation' (parameter or model recovery on "
             "simulated data); case-insensitive."),
    "models": (_BOTH, "list[str]", "required",
               "Model names Base[+bias][+novel][+decay]; bases QLearning, ActorCritic, "
               "Relative, Advantage, Hybrid2012, Hybrid2021, StandardHybrid2012, "
               "StandardHybrid2021. +bias is valid for ActorCritic and the hybrids, +decay for "
               "every model but ActorCritic. A misspelt name is an error listing the valid ones. "
               "Model recovery needs at least 2 models."),
    "learning_filename": (_BOTH, "str | DataFrame | None", "None",
                          "Learning-phase CSV in the reference's format. FIT: the data "
                          "(default: avoidrl's bundled example data). VALIDATION: template "
                          "data, each synthetic dataset replays one participant's trials and "
                          "outcomes (default: none, the standard task design)."),
    "transfer_filename": (_BOTH, "str | DataFrame | None", "None",
                          "Transfer-phase CSV; give it together with learning_filename."),
    "number_of_participants": (_BOTH, "int", "0",
                               "Keep only the first N participants of the data (0 = all)."),
    "fixed": (_BOTH, "dict | None", "None",
              "Start values {Base: {parameter: value}} (avoidrl.priors.fixed_priors(models) "
              "gives the defaults): the start of 'fixed' fits and the centre of 'normal' "
              "starts and of 'normal' generating parameters."),
    "bounds": (_BOTH, "dict | None", "None",
               "Bounds {Base: {parameter: (low, high)}} overriding the defaults "
               "(avoidrl.priors.default_bounds), for fitting and for drawing generating "
               "parameters."),
    "random_params": (_BOTH, "bool | str", "False (fit), 'random' (validation)",
                      "FIT: how fits start: False/True = at the 'fixed' values (one start), "
                      "'normal' = N(fixed, (high - low) / 15) clipped to the bounds, 'random' = "
                      "uniform within the bounds. VALIDATION: how generating parameters are "
                      "drawn, 'random' or 'normal' (the recovery fits start as each "
                      "estimator does by default)."),
    "number_of_runs": (_BOTH, "int | None", "None",
                       "Starts per participant and model; the best is kept (avoidrl's "
                       "n_starts). None: each estimator's default. Ignored by 'fixed' "
                       "starts."),
    "method": (_BOTH, "str", "'ml'",
               "Not in the reference. 'ml': per-participant maximum likelihood, compared by "
               "BIC (the reference's method). 'eb': empirical-Bayes hierarchical fitting "
               "(avoidrl.hierarchical.EmpiricalBayes: one Gaussian population prior per model, "
               "MAP estimates with Laplace intervals), compared by integrated BIC and Laplace "
               "evidence; the same as 'avoidrl fit|validate --method eb'. 'bayes': full "
               "hierarchical Bayes (avoidrl.hierarchical.HierarchicalBayes: posterior draws, "
               "credible intervals, group differences), compared by PSIS-LOO; the same as "
               "'avoidrl fit|validate --method bayes'."),
    "n_chains": (_BOTH, "int | None", "None",
                 "Not in the reference. method='bayes' only: independent chains (None: "
                 "HierarchicalBayes's default); as 'avoidrl fit --n-chains'."),
    "n_warmup": (_BOTH, "int | None", "None",
                 "Not in the reference. method='bayes' only: warm-up sweeps per chain (None: "
                 "HierarchicalBayes's default); as 'avoidrl fit --n-warmup'."),
    "n_samples": (_BOTH, "int | None", "None",
                  "Not in the reference. method='bayes' only: kept draws per chain (None: "
                  "HierarchicalBayes's default); as 'avoidrl fit --n-samples'."),
    "interval_calibration": (_BOTH, "int | None", "None",
                             "Not in the reference. method='eb' only: calibrate each "
                             "parameter's credible level on this many groups simulated from "
                             "the fit (EmpiricalBayes's interval_calibration; None: no "
                             "calibration); as 'avoidrl fit --interval-calibration'."),
    "gradient": (_BOTH, "str | None", "None",
                 "Not in the reference. How fits descend (ML and EB): None or 'exact' (the "
                 "default), with the likelihood's exact gradient by avoidrl's compiled BFGS-B; "
                 "'finite-difference', SciPy's L-BFGS-B with forward differences, the "
                 "reference's optimizer path; as 'avoidrl fit|validate --gradient'."),
    "intervals": (_BOTH, "str | None", "None",
                  "Not in the reference. method='ml' only: the 95 % intervals of the "
                  "estimates, None or 'wald' (the default, from the likelihood's curvature), "
                  "'profile' (profile-likelihood intervals, better calibrated where the "
                  "likelihood is not quadratic) or 'calibrated-profile' (their cut calibrated "
                  "by a parametric bootstrap of the group); as 'avoidrl fit|validate "
                  "--intervals'."),
    "style": (_BOTH, "str", "'screen'",
              "Not in the reference. The figures' style: 'screen' (sized for a monitor) or "
              "'paper' (at most 7 inches wide, print font sizes, one-line titles, PNG at 300 "
              "dpi); the same as 'avoidrl fit|validate --style'."),
    "multiprocessing": (_BOTH, "bool", "False",
                        "Use all cores (n_jobs=-1). Results do not depend on it."),
    "training": (_BOTH, "str", "'scipy'",
                 "Only 'scipy' (maximum likelihood with L-BFGS-B). The reference's 'torch' "
                 "backend is refused: it is not maximum likelihood."),
    "training_epochs": (_BOTH, "-", "-",
                        "Refused: torch backend only, not reproduced."),
    "optimizer_lr": (_BOTH, "-", "-", "Refused: torch backend only, not reproduced."),
    "generated": (("fit",), "bool", "False",
                  "Only False: avoidrl's simulated data are ordinary CSVs in the input format, "
                  "so there is no separate 'generated' format to read."),
    "recovery": (("validation",), "str", "'parameter'",
                 "'parameter', 'model' (every model fits every model's datasets) or 'both'."),
    "datasets_to_generate": (("validation",), "int | None", "None",
                             "Datasets per model (avoidrl's n_datasets). None: one per template "
                             "participant, or 15 on the task design."),
    "parameters": (("validation",), "dict | None", "None",
                   "Generating parameters {model: DataFrame (one row per dataset) or dict "
                   "(every dataset)} instead of drawing them. Not with fit_filename."),
    "fit_filename": (("validation",), "str | None", "None",
                     "A fit_data pickle ({model: DataFrame}, e.g. fit_data_FIT.pkl of a FIT "
                     "folder): each template participant (or, without templates, each row) is "
                     "simulated at its fitted parameters. Not with parameters."),
    "task_design": (("validation",), "dict | None", "None",
                    "Without template data: {'learning_phase': {'number_of_trials', "
                    "'number_of_blocks'}, 'transfer_phase': {'times_repeated'} or "
                    "{'number_of_trials'} (a multiple of 32)}. Default: 24 trials per pair, "
                    "the 32 transfer pairs x 12."),
    "generate_data": (("validation",), "bool", "True",
                      "Accepted. Datasets are regenerated from the seed; False reuses the "
                      "datasets of this Pipeline's previous validation run (the reference's "
                      "parameter-then-model recovery workflow)."),
    "clear_data": (("validation",), "bool", "True",
                   "Accepted, no effect: avoidrl never deletes data."),
    "out_dir": (_BOTH, "str | Path", f"'{DEFAULT_OUT_DIR}'",
                "The output folder (the reference's RL/modelling)."),
    "overwrite": (_BOTH, "bool", "False",
                  "Replace files an earlier avoidrl run wrote into out_dir (and remove an "
                  "earlier run's files of the same kind this run no longer writes). Without "
                  "it a run only adds files; a FIT, a parameter recovery and a model "
                  "recovery share one out_dir. Files avoidrl did not write are never "
                  "replaced."),
    "help": (_BOTH, "bool", "False", "Print this help and return."),
}

_HELP_HEADER = """\
avoidrl Pipeline: the reference pipeline's entry point (FIT and VALIDATION modes)

    from avoidrl.pipeline import Pipeline
    pipeline = Pipeline(seed=None, help=False)
    pipeline.run(mode='fit' | 'validation', models=[...], **parameters)

Pipeline(seed): seeds every random draw of every run (starts, generating parameters,
simulated choices); the same seed gives the same output folder. seed=None draws one
(pipeline.seed), recorded in the summaries. help=True prints this text.
Unknown parameters are errors. The same runs are available from the command line:
'avoidrl fit' and 'avoidrl validate' (see 'avoidrl --help').
"""


def help_text() -> str:
    """The text :class:`Pipeline` prints for ``help=True``."""
    lines = [_HELP_HEADER]
    for mode in _BOTH:
        lines.append(f"{mode.upper()} MODE PARAMETERS  (pipeline.run(mode='{mode}', ...))")
        lines.append("-" * 60)
        for name, (modes, kind, default, description) in PARAMETERS.items():
            if mode in modes:
                lines.append(f"{name}\n  {description}\n  TYPE: {kind}   DEFAULT: {default}")
        lines.append("")
    return "\n".join(lines)


class Pipeline:
    """Run the reference's FIT and VALIDATION modes on avoidrl.

    Parameters
    ----------
    seed : int or None, default=None
        Seeds every random draw of every run; the same seed gives the same
        output folder (unlike the reference, whose ``'normal'`` starts are
        never seeded). None draws a seed, kept in ``seed`` and recorded in
        the summaries, so the runs can be repeated.

    Attributes
    ----------
    seed : int
        The seed used (drawn when none was given).
    seed_drawn : bool
        Whether ``seed`` was drawn.
    help : bool, default=False
        Print what each parameter of :meth:`run` does.

    Examples
    --------
    >>> from avoidrl.pipeline import Pipeline
    >>> Pipeline(seed=1).run(mode="fit", models=["QLearning+novel"],
    ...                      number_of_participants=6, out_dir="modelling")  # doctest: +SKIP
    """

    def __init__(self, seed: int | None = None, help: bool = False) -> None:
        self.seed_drawn = seed is None
        self.seed = draw_seed() if seed is None else check_seed(seed)
        self.help = bool(help)
        self._last_validation = None
        if self.help:
            print(help_text())

    def run(self, **params: Any) -> FitRun | ValidationRun | None:
        """Run one mode; see ``Pipeline(help=True)`` for every parameter.

        Returns
        -------
        avoidrl._workflows.FitRun or ValidationRun
            The fitted models or recoveries, the output folder and a summary
            (``summary_lines()``); None for ``help=True``.

        Raises
        ------
        ValueError
            For an unknown parameter, a missing or invalid value, a misspelt
            model name or a torch-backend setting.
        FileExistsError
            If the run would replace a file in ``out_dir`` (without
            ``overwrite``, or one avoidrl did not write).
        """
        if params.pop("help", False):
            print(help_text())
            return None
        unknown = sorted(set(params) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown}; valid parameters are "
                             f"{sorted(p for p in PARAMETERS if p != 'help')} (see "
                             "Pipeline(help=True))")
        if "mode" not in params:
            raise ValueError("the parameter 'mode' is required: 'fit' or 'validation'")
        mode = params.pop("mode")
        mode = mode.lower() if isinstance(mode, str) else mode
        if mode not in _BOTH:
            raise ValueError(f"mode must be 'fit' or 'validation', got {mode!r}")
        elsewhere = sorted(p for p in params if mode not in PARAMETERS[p][0])
        if elsewhere:
            raise ValueError(f"parameter(s) {elsewhere} do not apply in {mode} mode")
        self._refuse_torch(params)
        if "models" not in params:
            raise ValueError("the parameter 'models' is required (a list of model names)")
        self._refuse_unused_starts(params, mode)
        common = self._common(params)
        if mode == "fit":
            return self._fit(params, common)
        return self._validation(params, common)

    # ------------------------------------------------------------- helpers
    @staticmethod
    def _refuse_unused_starts(params, mode):
        """As 'avoidrl fit --method eb' refuses --start and --n-starts: they would be ignored."""
        method = params.get("method", DEFAULT_METHOD)
        method_class = fit_methods().get(method) if isinstance(method, str) else None
        if method_class is None or method_class.uses_starts:
            return  # an unknown method is refused by the run, with the valid ones
        ignored = sorted(p for p in ("number_of_runs", "random_params")
                         if p in params and (mode == "fit" or p == "number_of_runs"))
        if ignored:
            raise ValueError(f"{', '.join(ignored)} has no effect with method={method!r} "
                             f"({method_class.unused_starts_reason}); drop it")

    @staticmethod
    def _refuse_torch(params):
        torch_only = sorted(p for p in ("training_epochs", "optimizer_lr") if p in params)
        training = params.pop("training", "scipy")
        if torch_only or not (isinstance(training, str) and training.lower() == "scipy"):
            what = f"training={training!r}" if not torch_only else ", ".join(torch_only)
            raise ValueError(
                f"{what}: the reference's torch backend is not reproduced (it steps per trial "
                "with truncated gradients, so it is not maximum likelihood); avoidrl fits by "
                "maximum likelihood with a bounded quasi-Newton descent (training='scipy'). "
                "Remove training, "
                "training_epochs and optimizer_lr")

    def _common(self, params):
        n = params.get("number_of_participants", 0)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            raise ValueError(f"number_of_participants must be a non-negative integer, got {n!r}")
        multiprocessing = params.get("multiprocessing", False)
        if not isinstance(multiprocessing, bool):
            raise ValueError(f"multiprocessing must be True or False, got {multiprocessing!r}")
        overwrite = params.get("overwrite", False)
        if not isinstance(overwrite, bool):
            raise ValueError(f"overwrite must be True or False, got {overwrite!r}")
        return dict(
            out_dir=params.get("out_dir", DEFAULT_OUT_DIR), models=params["models"],
            learning=params.get("learning_filename"), transfer=params.get("transfer_filename"),
            n_participants=n or None, bounds=params.get("bounds"), init=params.get("fixed"),
            n_starts=params.get("number_of_runs"), seed=self.seed, seed_drawn=self.seed_drawn,
            n_jobs=-1 if multiprocessing else None, overwrite=overwrite,
            method=params.get("method", DEFAULT_METHOD), style=params.get("style", "screen"),
            method_settings={key: params.get(key) for key in (
                "n_chains", "n_warmup", "n_samples", "interval_calibration")},
            gradient=params.get("gradient"), intervals=params.get("intervals"))

    def _fit(self, params, common):
        if params.get("generated", False) is not False:
            raise ValueError(
                "generated=True (the reference simulator's own CSV format) is not supported: "
                "avoidrl's simulated data are ordinary CSVs in the input format; pass them "
                "with generated=False")
        random_params = params.get("random_params", False)
        if random_params is True or random_params is False:
            start = "fixed"
        elif random_params in ("normal", "random"):
            start = random_params
        else:
            raise ValueError(f"random_params must be False, True, 'normal' or 'random', got "
                             f"{random_params!r}")
        if start == "fixed":
            common["n_starts"] = None  # one deterministic start, whatever number_of_runs says
        return run_fit(start=start, **common)

    def _validation(self, params, common):
        recovery = params.get("recovery", "parameter")
        recovery = recovery.lower() if isinstance(recovery, str) else recovery
        parameters = params.get("parameters")
        fit_filename = params.get("fit_filename")
        if parameters is not None and fit_filename is not None:
            raise ValueError("give either parameters or fit_filename, not both")
        random_params = params.get("random_params", "random")
        given = parameters is not None or fit_filename is not None
        if random_params in ("random", "normal"):
            sampler = random_params
        elif random_params is True or random_params is False:
            if not given:
                raise ValueError(
                    f"random_params={random_params!r} would give every dataset the same "
                    "generating parameters (the fixed values); in validation mode use "
                    "random_params='random' or 'normal', or give parameters or fit_filename")
            sampler = "random"
        else:
            raise ValueError(f"random_params must be 'random' or 'normal' in validation mode, "
                             f"got {random_params!r}")
        for flag in ("generate_data", "clear_data"):
            if not isinstance(params.get(flag, True), bool):
                raise ValueError(f"{flag} must be True or False, got {params[flag]!r}")
        if fit_filename is not None:
            parameters = read_fit_parameters(fit_filename, check_models(common["models"]))
        n_datasets = params.get("datasets_to_generate")

        previous = self._last_validation
        earlier = None
        if previous is not None and recovery == "model" and previous["run"].parameter_recovery:
            same_folder = previous["out_dir"] == _resolved(common["out_dir"])
            same_models = list(previous["run"].parameter_recovery) == \
                check_models(common["models"])
            if same_folder and same_models:
                earlier = previous["run"]
        datasets = None
        if params.get("generate_data", True) is False and previous is not None and \
                set(previous["run"].datasets) >= set(check_models(common["models"])):
            datasets = {n: previous["run"].datasets[n] for n in check_models(common["models"])}

        if earlier is not None:
            # The reference's workflow: parameter recovery, then model recovery into the
            # same folder, on the parameter recovery's datasets. The model recovery adds
            # its own files; the generated data it shares are the same bytes.
            datasets = datasets or earlier.datasets
        run = run_validation(recovery=recovery, sampler=sampler, n_datasets=n_datasets,
                             task_design=params.get("task_design"), parameters=parameters,
                             datasets=datasets, **common)
        self._last_validation = {"out_dir": _resolved(common["out_dir"]), "run": run}
        return run


def _resolved(path):
    return Path(os.fspath(path)).expanduser().resolve()

