"""The FIT and VALIDATION runs: settings -> data -> fits or recoveries -> report folder.

:func:`run_fit` and :func:`run_validation` are the whole flow of one run,
written as short sequences of named steps: check the settings and build
the estimators (:mod:`._settings`), read the data or make the templates
(:mod:`._inputs`), check the output folder, fit (or recover), then write
the report (:mod:`avoidrl.report`). Progress goes to a
:class:`~avoidrl._utils.progress.Progress`. :class:`FitRun` and
:class:`ValidationRun` hold what a run did and its summary lines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .._tables import DEFAULT_N_SIMULATIONS
from .._utils.progress import Progress
from ..recovery import ModelRecovery, ParameterRecovery
from ..recovery._common import SAMPLERS
from ..plotting._style import check_style
from ..report._figures import check_formats
from ._inputs import (
    _paths, check_out_dir, given_parameter_datasets, load_data, recovery_templates,
)
from ._settings import (
    DEFAULT_METHOD, DEFAULT_MODELS, DEFAULT_OUT_DIR, RECOVERY_KINDS, START_MODES, check_choice,
    check_count, check_method, check_models, check_seed, method_estimators, recovery_seed,
)


# ------------------------------------------------------------------ results
@dataclass
class FitRun:
    """What :func:`run_fit` did: the fitted models and where the folder is."""

    out_dir: Path
    models: dict
    n_participants: int
    groups: list
    method: str = DEFAULT_METHOD

    @property
    def _fitted(self):
        """One of the fitted estimators: they answer for their inference method."""
        return next(iter(self.models.values()))

    @property
    def mean_bic(self):
        """Mean BIC over participants, per model (fits with a BIC only)."""
        if "bic" not in self._fitted.comparison_criteria.values():
            raise AttributeError(f"{self.method!r} fits have no BIC; see mean_criterion")
        return pd.Series({name: float(est.bic_.mean()) for name, est in self.models.items()},
                         name="mean_bic")

    @property
    def mean_laplace(self):
        """Mean -2 x Laplace log evidence over participants, per model (EB fits only)."""
        return pd.Series({name: float(-2.0 * est.log_evidence_.mean())
                          for name, est in self.models.items()}, name="mean_laplace")

    @property
    def ibic(self):
        """Integrated BIC per model (EB fits only)."""
        return pd.Series({name: float(est.ibic_) for name, est in self.models.items()},
                         name="ibic")

    @property
    def mean_criterion(self):
        """Mean -2 x log evidence over participants, per model (the mean BIC of ML fits)."""
        return pd.Series({name: float((-2.0 * est.evidence_).mean())
                          for name, est in self.models.items()}, name="mean_criterion")

    @property
    def group_criteria(self):
        """``{label: Series}`` of the model-level criteria of the fits (lower is better)."""
        return {label: pd.Series({name: float(getattr(est, attribute))
                                  for name, est in self.models.items()}, name=label)
                for label, attribute in self._fitted.group_criteria.items()}

    @property
    def best_model(self):
        """Lowest model-level criterion (EB: iBIC), or lowest mean criterion (ML: mean BIC)."""
        criteria = list(self.group_criteria.values())
        return (criteria[-1] if criteria else self.mean_criterion).idxmin()

    def summary_lines(self):
        fitted = self._fitted
        lines = [f"fitted {len(self.models)} model(s) to {self.n_participants} participants "
                 f"({len(self.groups)} group(s): {', '.join(map(str, self.groups))})"
                 + fitted.summary_suffix]
        width = max(len(n) for n in self.models)
        group = self.group_criteria
        lines.append(f"mean {fitted.summary_evidence_label} per participant"
                     + "".join(f", and {label}" for label in group) + " (lower is better):")
        best = self.best_model
        for name, mean in self.mean_criterion.items():
            values = [f"{mean:10.2f}"] + [f"{label} {table[name]:10.2f}"
                                          for label, table in group.items()]
            mark = "  <- best" if name == best else ""
            lines.append(f"  {name:<{width}}  {'  '.join(values)}{mark}")
        lines.append(f"best model{''.join(f' (by {label})' for label in group)}: {best}")
        lines.append(f"results written to {self.out_dir}")
        return lines


@dataclass
class ValidationRun:
    """What :func:`run_validation` did."""

    out_dir: Path
    parameter_recovery: dict = field(default_factory=dict)
    model_recovery: object = None

    @property
    def datasets(self):
        """The synthetic datasets, by generating model (for a later model recovery)."""
        if self.parameter_recovery:
            return {n: list(r.datasets_) for n, r in self.parameter_recovery.items()}
        if self.model_recovery is not None:
            out = {}
            for d in self.model_recovery.datasets_:
                out.setdefault(d.model, []).append(d)
            return out
        return {}

    def summary_lines(self):
        lines = []
        if self.parameter_recovery:
            lines.append("parameter recovery: Pearson r of true vs fitted values")
            for name, recovery in self.parameter_recovery.items():
                r = ", ".join(f"{p} {v:.2f}" for p, v in recovery.correlations_.items())
                lines.append(f"  {name} ({len(recovery.datasets_)} datasets): {r}")
        if self.model_recovery is not None:
            lines += self._model_recovery_lines()
        lines.append(f"results written to {self.out_dir}")
        return lines

    def _model_recovery_lines(self):
        confusion = self.model_recovery.confusion_
        bic = self.model_recovery.bic_
        # name the criterion the matrix holds (BIC, Laplace evidence, ...)
        names = set(getattr(self.model_recovery, "criterion_name_", {"": "BIC"}).values())
        criterion = names.pop() if len(names) == 1 else "criterion"
        lines = [f"model recovery: best fit (by mean {criterion}) for each generating model"]
        # rows = generating models, columns = fitting models
        width = max(len(str(n)) for n in bic.index)
        best_width = max(len(str(n)) for n in bic.columns)
        for generator in bic.index:
            best = bic.loc[generator].idxmin()
            share = confusion.loc[generator, generator] if generator in confusion.columns \
                else np.nan
            lines.append(f"  {generator:<{width}} -> {best:<{best_width}}  (recovered in "
                         f"{100 * share:.0f}% of datasets)")
        return lines


# ---------------------------------------------------------------- the steps
def _report():
    # imported late: the report's figures pull in matplotlib, which runs that fail
    # their checks, and the command line's --help, never need
    from ..report import _write

    return _write


def _write_report(progress, write, *args, **kwargs):
    """The report step: ``write(*args, progress=..., **kwargs)``, its sub-steps shown."""
    progress.begin("writing the report")
    out_dir = write(*args, progress=progress.sub_steps("writing the report"), **kwargs)
    progress.advance()
    progress.begin("done")
    progress.close()
    return out_dir


def _fit_models(estimators, learning, transfer, progress):
    """Fit every estimator to the data, one step each."""
    for name, estimator in estimators.items():
        progress.begin(f"fitting {name}")
        estimator.fit(learning, transfer)
        progress.advance()


def run_fit(out_dir=DEFAULT_OUT_DIR, models=DEFAULT_MODELS, learning=None, transfer=None, *,
            n_participants=None, bounds=None, init=None, start=None, n_starts=None,
            seed=None, n_jobs=None, overwrite=False, progress=None, seed_drawn=False,
            method=DEFAULT_METHOD, n_simulations=DEFAULT_N_SIMULATIONS, formats=None,
            style="screen", transfer_prediction=False, method_settings=None, gradient=None,
            intervals=None):
    """Fit every model to the data and write the FIT into the study folder.

    Parameters
    ----------
    out_dir : path
        The study folder (see :mod:`avoidrl.report._folder`: the FIT's files are
        added; files avoidrl wrote are replaced only with ``overwrite``).
    models : list of str
        Reference-style model names.
    learning, transfer : path or DataFrame, optional
        The task data; both None for the bundled example data.
    n_participants : int, optional
        Keep the first N participants.
    bounds, init : dict, optional
        ``{Base: {parameter: (low, high)}}`` and ``{Base: {parameter: value}}``.
    start, n_starts, n_jobs
        As the estimators' parameters (None: each model's own default).
    seed : int, optional
        Every model is fitted with ``random_state=seed``; the report's
        simulations use it too.
    overwrite : bool
    progress : Progress, optional
    seed_drawn : bool
        Recorded in the summary: the front end drew ``seed``.
    method : str, default='ml'
        The inference method, a label of ``avoidrl._utils.fitted.fit_methods()``.
        'ml': maximum likelihood per participant. 'eb': each model is fitted
        by ``EmpiricalBayes(make_model(name, bounds=...), random_state=seed,
        n_jobs=n_jobs)``, 'bayes' by ``HierarchicalBayes`` likewise (with
        ``method_settings``); ``init``, ``start`` and ``n_starts`` are checked
        but not used by a method that does not use starts (EB starts its MAP
        searches from the prior, full Bayes its chains from random points).
    n_simulations : int
        Posterior-predictive simulations per participant and model.
    formats : list of str, optional
        Figure formats (None: the reference's files); see
        :func:`avoidrl.report.write_fit_report`. The report's figures are
        drawn by ``n_jobs`` processes.
    style : {'screen', 'paper'}
        The figures' style; see :func:`avoidrl.report.write_fit_report`.
    transfer_prediction : bool, default=False
        Also refit every model to the learning phase alone and write
        transfer_prediction.csv (maximum likelihood only); see
        :func:`avoidrl.report.write_fit_report`.
    method_settings : dict, optional
        The inference method's own settings (its ``front_end_settings``):
        with 'bayes', ``n_chains``, ``n_warmup`` and ``n_samples`` of
        ``HierarchicalBayes`` (None or missing: the class's defaults).
    gradient : {'exact', 'finite-difference'}, optional
        The estimators' ``gradient`` (None: their default, 'exact');
        'finite-difference' descends on the reference's optimizer path. Not
        with 'bayes' (it needs no gradient).
    intervals : {'wald', 'profile', 'calibrated-profile'}, optional
        The maximum-likelihood estimators' ``intervals`` (None: their default,
        'wald'); 'profile' writes profile-likelihood intervals, 'calibrated-profile'
        the same with cuts calibrated by a parametric bootstrap. Only with 'ml'.

    Returns
    -------
    FitRun
    """
    progress = progress or Progress()
    method_class = check_method(method)
    models = check_models(models)
    check_choice(start, START_MODES + (None,), "start")
    seed = check_seed(seed)
    n_simulations = check_count(n_simulations, "n_simulations", allow_none=False)
    formats, style = check_formats(formats), check_style(style)  # before any fitting
    transfer_prediction = _report().check_transfer_prediction(transfer_prediction, method)
    estimators = method_estimators(method_class, models, bounds=bounds, init=init, start=start,
                                   n_starts=check_count(n_starts, "n_starts"),
                                   random_state=seed, n_jobs=n_jobs,
                                   method_settings=method_settings, gradient=gradient,
                                   intervals=intervals)
    inputs = _paths(learning, transfer)
    learning, transfer = load_data(learning, transfer, n_participants)
    groups = pd.unique(learning["group_code"]) if "group_code" in learning.columns else []
    out_dir = check_out_dir(out_dir, ("FIT",),
                            _report().fit_files(estimators, groups, method=method,
                                                formats=formats,
                                                transfer_prediction=transfer_prediction),
                            inputs=inputs, overwrite=overwrite)
    progress.start(len(estimators) + 1)
    # the report's figure workers import while the fits run (their threads leave room)
    _report()._figures.start_workers(n_jobs)
    _fit_models(estimators, learning, transfer, progress)
    out_dir = _write_report(progress, _report().write_fit_report, out_dir, estimators,
                            learning, transfer, random_state=seed, overwrite=overwrite,
                            inputs=inputs, run_info={"seed": seed, "seed_drawn": seed_drawn},
                            n_simulations=n_simulations, formats=formats, n_jobs=n_jobs,
                            style=style, transfer_prediction=transfer_prediction)
    first = next(iter(estimators.values()))
    return FitRun(out_dir=out_dir, models=estimators, n_participants=len(first.params_),
                  groups=list(pd.unique(first.groups_)), method=method)


def run_validation(out_dir=DEFAULT_OUT_DIR, models=DEFAULT_MODELS, recovery="parameter",
                   learning=None, transfer=None, *, n_participants=None, n_datasets=None,
                   sampler="random", bounds=None, init=None, start=None, n_starts=None,
                   seed=None, n_jobs=None, task_design=None, parameters=None,
                   datasets=None, keep_parameter_recovery=None, overwrite=False,
                   progress=None, seed_drawn=False, method=DEFAULT_METHOD, formats=None,
                   style="screen", method_settings=None, gradient=None, intervals=None):
    """Parameter and/or model recovery, written to a VALIDATION folder.

    Parameters
    ----------
    out_dir : path
    models : list of str
    recovery : {'parameter', 'model', 'both'}
        'both' runs parameter recovery, then model recovery on the same
        datasets.
    learning, transfer : path, DataFrame or None
        Template data: each synthetic dataset replays one template
        participant's trials and outcomes. Both None: the standard task
        design (or ``task_design``).
    n_participants : int, optional
        Keep the first N template participants.
    n_datasets : int, optional
        Datasets per model (None: one per template participant, or 15 on the
        task design).
    sampler : {'random', 'normal'}
        How generating parameters are drawn.
    bounds, init, start, n_starts, n_jobs
        As in :func:`run_fit`; the recovery fits use the estimators' starts.
    seed : int, optional
        Each model's recovery is seeded with :func:`recovery_seed`.
    task_design : dict, optional
        The reference's task design (see :func:`task_design_templates`);
        only without template data.
    parameters : dict, optional
        ``{model: DataFrame}`` of generating parameters (one row per dataset,
        or indexed by template participant), instead of drawing them.
    datasets : dict, optional
        ``{model: [SyntheticDataset]}`` made by an earlier run (reused as is).
    keep_parameter_recovery : dict, optional
        ``{model: fitted ParameterRecovery}`` of an earlier run, written to
        the folder along with this run's model recovery (whose datasets they
        provide unless ``datasets`` is given); only with ``recovery='model'``.
    overwrite : bool
    progress : Progress, optional
    seed_drawn : bool
        Recorded in the summaries: the front end drew ``seed``.
    method : str, default='ml'
        The inference method, as in :func:`run_fit`. The models simulate the
        datasets; the method's estimators fit them. 'eb': every model is
        wrapped in ``EmpiricalBayes``, so each recovery fits a generator's
        synthetic participants jointly, as one population (seeded by the
        recovery objects); ``init``, ``start`` and ``n_starts`` are then not
        used.
    formats : list of str, optional
        Figure formats (None: PNG); see
        :func:`avoidrl.report.write_validation_report`.
    style : {'screen', 'paper'}
        The figures' style; see :func:`avoidrl.report.write_fit_report`.
    method_settings : dict, optional
        The inference method's own settings, as in :func:`run_fit`.
    gradient : {'exact', 'finite-difference'}, optional
        The fitting estimators' ``gradient``, as in :func:`run_fit`.
    intervals : {'wald', 'profile', 'calibrated-profile'}, optional
        The fitting estimators' ``intervals``, as in :func:`run_fit` (the
        recovery's coverage is then that of profile intervals).

    Returns
    -------
    ValidationRun
    """
    progress = progress or Progress()
    method_class = check_method(method)
    check_choice(recovery, RECOVERY_KINDS, "recovery")
    models = check_models(models, at_least=1 if recovery == "parameter" else 2,
                          what="models" if recovery == "parameter"
                          else "models (model recovery compares models)")
    check_choice(start, START_MODES + (None,), "start")
    check_choice(sampler, SAMPLERS, "sampler")
    seed = check_seed(seed)
    n_datasets = check_count(n_datasets, "the number of datasets")
    formats, style = check_formats(formats), check_style(style)  # before any fitting
    fitters = method_estimators(method_class, models, bounds=bounds, init=init, start=start,
                                n_starts=check_count(n_starts, "n_starts"),
                                method_settings=method_settings, gradient=gradient,
                                intervals=intervals)
    inputs = _paths(learning, transfer)
    learning, transfer = recovery_templates(learning, transfer, n_participants=n_participants,
                                            task_design=task_design, n_datasets=n_datasets,
                                            seed=seed)
    datasets = _validation_datasets(datasets, parameters, models, fitters, learning, transfer,
                                    seed)
    parameter_models = list(keep_parameter_recovery or ()) if recovery == "model" else models
    out_dir = check_out_dir(
        out_dir, (("PARAMETER",) if parameter_models else ()) +
        (("MODEL",) if recovery != "parameter" else ()),
        _report().validation_files(parameter_models, models if recovery != "parameter" else [],
                                   formats=formats),
        inputs=inputs, overwrite=overwrite)

    n_steps = (len(models) if recovery != "model" else 0) + (1 if recovery != "parameter" else 0)
    progress.start(n_steps + 1)
    run = ValidationRun(out_dir=out_dir)
    recover = dict(n_datasets=n_datasets, sampler=sampler, seed=seed, n_jobs=n_jobs)
    if keep_parameter_recovery:
        run.parameter_recovery = _kept_parameter_recovery(keep_parameter_recovery, recovery,
                                                          models, datasets)
    if recovery in ("parameter", "both"):
        run.parameter_recovery = _parameter_recoveries(fitters, datasets, learning, transfer,
                                                       progress, **recover)
    if recovery in ("model", "both"):
        run.model_recovery = _model_recovery(fitters, datasets, run.parameter_recovery,
                                             learning, transfer, progress, **recover)
    run.out_dir = _write_report(
        progress, _report().write_validation_report, out_dir,
        parameter_recovery=run.parameter_recovery or None, model_recovery=run.model_recovery,
        overwrite=overwrite, inputs=inputs, run_info={"seed": seed, "seed_drawn": seed_drawn},
        formats=formats, n_jobs=n_jobs, style=style)
    return run


def _validation_datasets(datasets, parameters, models, fitters, learning, transfer, seed):
    """The datasets given, or made at the given parameters; None: the recoveries make them."""
    if datasets is None and parameters is not None:
        simulators = {name: fitter.simulator for name, fitter in fitters.items()}
        datasets = given_parameter_datasets(parameters, models, simulators, learning,
                                            transfer, seed)
    if datasets is not None:
        missing = [n for n in models if not datasets.get(n)]
        if missing:
            raise ValueError(f"no datasets were generated for {missing}")
    return datasets


def _kept_parameter_recovery(keep_parameter_recovery, recovery, models, datasets):
    """An earlier run's parameter recoveries, checked: they go with a model recovery."""
    if recovery != "model":
        raise ValueError("keep_parameter_recovery goes with recovery='model'")
    missing = [n for n in models if n not in keep_parameter_recovery]
    if missing and datasets is None:
        raise ValueError(f"keep_parameter_recovery has no recovery of {missing}")
    return dict(keep_parameter_recovery)


def _parameter_recoveries(fitters, datasets, learning, transfer, progress, *, n_datasets,
                          sampler, seed, n_jobs):
    """Every model's parameter recovery, one step each: ``{name: fitted ParameterRecovery}``."""
    recoveries = {}
    for name, fitter in fitters.items():
        progress.begin(f"parameter recovery of {name}")
        fitted = ParameterRecovery(fitter, n_datasets=n_datasets, sampler=sampler,
                                   random_state=recovery_seed(seed, name), n_jobs=n_jobs)
        if datasets is not None:
            fitted.fit(datasets=datasets[name])
        else:
            fitted.fit(learning, transfer)
        recoveries[name] = fitted
        progress.advance()
    return recoveries


def _model_recovery(fitters, datasets, parameter_recovery, learning, transfer, progress, *,
                    n_datasets, sampler, seed, n_jobs):
    """The model recovery step, on the given datasets or the parameter recoveries' ones."""
    progress.begin("model recovery")
    models = list(fitters)
    if datasets is not None:
        pool = [d for n in models for d in datasets[n]]
    elif parameter_recovery:
        pool = [d for n in models for d in parameter_recovery[n].datasets_]
    else:  # the datasets parameter recovery with the same seed would make
        pool = [d for name, fitter in fitters.items()
                for d in ParameterRecovery(fitter, n_datasets=n_datasets, sampler=sampler,
                                           random_state=recovery_seed(seed, name))
                .split(learning, transfer)]
    fitted = ModelRecovery(
        list(fitters.values()), n_datasets=n_datasets, sampler=sampler,
        random_state=recovery_seed(seed, "model recovery"), n_jobs=n_jobs,
    ).fit(datasets=pool)
    progress.advance()
    return fitted
