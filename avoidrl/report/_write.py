"""The report folder writers: :func:`write_fit_report` and :func:`write_validation_report`.

The top layer of the reporting code, the last step of the flow: a writer
computes the tables (:mod:`avoidrl._tables`) of a run once, then walks the
catalogue (:mod:`avoidrl.report._catalogue`), writing each of its entries
into a staging folder (:mod:`avoidrl.report._files`; figures drawn by
:mod:`avoidrl.report._figures`), describes the run in the folder's README
(:mod:`avoidrl.report._readme`) and lets :mod:`avoidrl.report._folder`
publish the staging folder into the study folder (see there for what may be
replaced and the crash-safety guarantee). Users import these functions from
:mod:`avoidrl.report`.

A FIT (of fits by any inference method; the folder's README says which
criterion each file uses) writes ``summary_FIT.json``; a parameter recovery
``summary_PARAMETER.json`` and a model recovery ``summary_MODEL.json``, so
that all of them can share one folder. ``README.md`` describes every kind of
run the folder holds, one section each.
"""

from __future__ import annotations

import contextlib
from functools import cached_property

import numpy as np
import pandas as pd

from .. import plotting
from . import _figures, _folder, _summary
from ._catalogue import (
    FIT_CATALOGUE, FIT_KIND, FIT_STEPS, MODEL_KIND, PARAMETER_KIND, SIMULATIONS,
    VALIDATION_CATALOGUE, VALIDATION_STEPS, select, shown,
)
from ._files import Keys, Staging, entry_files, notify, safe_filename, write_steps
from ._readme import fit_section, validation_section
from .._core.data import split_phases
from .._tables import (
    BOUND_TOLERANCE, DEFAULT_N_SIMULATIONS, TRANSFER_PREDICTION_METHODS, _group_filenames,
    _recoveries, _recovery_models, bms_results, bound_counts, fit_method, fit_tables,
    generated_data, group_criteria, ibic_table, learning_dynamics, model_comparison_criteria,
    model_recovery_fit_tables, parameter_of_interest_correlations, parameter_outliers,
    parameter_recovery_tables, posterior_predictive, recovery_criterion, transfer_prediction,
)
from .._utils.fitted import fit_method_of, fit_methods
from ..stats import _model_dict, fit_statistics


def _check_method(method):
    methods = fit_methods()
    if method not in methods:
        raise ValueError(f"method must be one of {list(methods)}, got {method!r}")
    return method


def check_transfer_prediction(transfer_prediction, method):
    """``transfer_prediction`` is a bool, and true only for a method it can refit."""
    if not isinstance(transfer_prediction, (bool, np.bool_)):
        raise ValueError(f"transfer_prediction must be True or False, got "
                         f"{transfer_prediction!r}")
    if transfer_prediction and method not in TRANSFER_PREDICTION_METHODS:
        raise ValueError(
            f"transfer_prediction=True refits maximum-likelihood fits (method "
            f"{list(TRANSFER_PREDICTION_METHODS)}) on the learning phase; the models are "
            f"{method!r} fits: fit them by maximum likelihood, or leave it off")
    return bool(transfer_prediction)


class _FitPlan:
    """What a FIT will write, known before fitting (its ``when`` conditions and patterns)."""

    has_interest = False  # known once the models are fitted: not planned

    def __init__(self, names, groups, method, transfer_prediction=False):
        self.transfer_prediction = transfer_prediction
        self.has_groups = len(groups) > 1
        self.model_keys = [(safe_filename(name), name) for name in names]
        self.label_keys = [(label, label) for label in fit_methods()[method].comparison_criteria]
        self.group_keys = [(stem, group) for group, stem in _group_filenames(groups).items()]
        self.compares_models = len(names) >= 2
        self.keys = Keys(self)


def fit_files(models, groups, method="ml", formats=None, transfer_prediction=False):
    """The files a FIT of ``models`` on data with ``groups`` writes (relative paths).

    ``method`` is the label of the inference method ('ml', maximum
    likelihood; 'eb', empirical Bayes: no AIC/BIC or starts files, its
    Laplace-evidence and population files instead). ``formats`` are the
    figure formats and ``transfer_prediction`` adds transfer_prediction.csv,
    as in :func:`write_fit_report`.
    ``parameter_of_interest_comparisons``, written only when the models share
    parameters of interest, is left out.
    """
    names = list(models)
    method = _check_method(method)
    plan = _FitPlan(names, groups, method, check_transfer_prediction(transfer_prediction, method))
    entries = [entry for entry in select(FIT_CATALOGUE, FIT_KIND, {method})
               if entry.files and (entry.when is None or getattr(plan, entry.when))]
    return entry_files(entries, plan.keys, formats)


class _ValidationPlan:
    """What a VALIDATION will write, known before the recoveries run."""

    has_group_results = has_identification = True  # planned whenever a model recovery is
    has_separate = False  # known once both recoveries ran: not planned
    has_sbc = False  # known once the recoveries ran (posterior draws): not planned

    def __init__(self, parameter_models, model_models):
        self.kinds = ((PARAMETER_KIND,) if parameter_models else ()) + \
            ((MODEL_KIND,) if model_models else ())
        self.model_keys = [(safe_filename(name), name)
                           for name in dict.fromkeys([*parameter_models, *model_models])]
        self.keys = Keys(self)


def validation_files(parameter_models=(), model_models=(), formats=None):
    """The files a parameter recovery of ``parameter_models`` and/or a model recovery of
    ``model_models`` write (relative paths; the generated data of models whose two
    recoveries used different datasets, in data/generated/model_recovery/, are left out).
    ``formats`` are the figure formats, as in :func:`write_validation_report`."""
    plan = _ValidationPlan(parameter_models, model_models)
    entries = dict.fromkeys(  # the files do not depend on the methods: any of them
        entry for kind in plan.kinds for entry in select(VALIDATION_CATALOGUE, kind, fit_methods())
        if entry.files and (entry.when is None or getattr(plan, entry.when)))
    return entry_files(entries, plan.keys, formats)


@contextlib.contextmanager
def _staging(out_dir, kinds, planned, *, overwrite, inputs, info, formats, n_jobs, style):
    """A staging folder published into ``out_dir`` on success, and its figure writer."""
    with _folder.staged(out_dir, kinds, overwrite=overwrite, inputs=inputs, planned=planned,
                        info={**info, "avoidrl_version": _summary.version()}) as stage, \
            plotting.headless(), \
            _figures.FigureWriter(stage.path, formats, n_jobs, style) as figures:
        yield stage, Staging(stage.path, figures)


class _FitRun:
    """A FIT being written: its models, data and settings, and the tables several
    files share, each computed once, when a step first needs it."""

    bound_tol = BOUND_TOLERANCE

    def __init__(self, models, X_learning, X_transfer, *, random_state, n_simulations,
                 reference_group, formats, info, style="screen", transfer_prediction=False):
        self.models = models
        self.method = fit_method(models)
        self.names = list(models)
        self.learning, self.transfer = split_phases(X_learning, X_transfer)
        self.first = models[self.names[0]]
        #: the inference method's class: it answers the fitted-model protocol
        self.estimator_class = type(self.first)
        self.criteria = dict(self.estimator_class.comparison_criteria)
        self.random_state, self.n_simulations = random_state, n_simulations
        self.reference_group, self.formats, self.info = reference_group, formats, info
        self.style = style
        #: whether transfer_prediction.csv is written (it refits every model)
        self.transfer_prediction = check_transfer_prediction(transfer_prediction, self.method)
        self.means = {}
        self.keys = Keys(self)
        self.model_keys = [(safe_filename(name), name) for name in self.names]
        self.label_keys = [(label, label) for label in self.criteria]
        self.compares_models = len(models) >= 2
        self._summary = None

    def mean(self, label):
        """Mean criterion ``label`` per group and model (group_{label}.csv)."""
        if label not in self.means:
            self.means[label] = group_criteria(self.models, self.criteria[label])
        return self.means[label]

    @cached_property
    def fit_tables(self):
        return fit_tables(self.models)

    @cached_property
    def outliers(self):
        return parameter_outliers(self.models, self.learning, self.transfer)

    @cached_property
    def interest(self):
        return parameter_of_interest_correlations(self.models)

    @property
    def has_interest(self):
        return len(self.interest) > 0

    @property
    def has_groups(self):
        """Whether the participants come from two or more groups (group differences)."""
        return self.groups.nunique() > 1

    @cached_property
    def at_bounds(self):
        return bound_counts(self.models)

    @cached_property
    def statistics(self):
        return fit_statistics(self.models, reference_group=self.reference_group)

    @cached_property
    def bms(self):
        return bms_results(self.models) if self.compares_models else None

    @cached_property
    def agreement(self):
        """model_comparison_criteria.csv: does each group-level criterion pick the same model?"""
        return model_comparison_criteria(self.models) if self.compares_models else None

    @cached_property
    def ibic(self):
        return ibic_table(self.models)

    @cached_property
    def posterior(self):
        """(accuracy, choice): the posterior-predictive tables."""
        return posterior_predictive(self.models, self.learning, self.transfer,
                                    random_state=self.random_state,
                                    n_simulations=self.n_simulations)

    @cached_property
    def dynamics(self):
        return learning_dynamics(self.models, self.learning, self.transfer)

    @cached_property
    def transfer_table(self):
        """transfer_prediction.csv: learning-only refits scored on the transfer phase."""
        return transfer_prediction(self.models, self.learning, self.transfer)

    @cached_property
    def group_keys(self):
        groups = pd.unique(self.posterior[0]["group"].to_numpy(dtype=object))
        return [(stem, group) for group, stem in _group_filenames(groups).items()]

    @property
    def simulation_files(self):
        """{group: file}: the model-simulation figures (the first format's file)."""
        stem = SIMULATIONS[:-len(".png")]
        return {group: _figures.figure_files(stem.replace("{group}", part), self.formats)[0]
                for part, group in self.group_keys}

    @cached_property
    def groups(self):
        return self.first.groups_.reindex(self.first.params_.index).astype(object)

    @cached_property
    def reference(self):
        if self.reference_group is not None:
            return self.reference_group
        return pd.unique(self.groups.to_numpy())[0] if len(self.groups) else None

    def summary(self, kind):
        """summary_FIT.json (``kind`` 'FIT'); computed once, methods.md is written from it."""
        if self._summary is None:
            for label in self.criteria:
                self.mean(label)
            self._summary = _summary.fit_summary(self)
        return self._summary


def write_fit_report(out_dir, models, X_learning, X_transfer, *, random_state=None,
                     overwrite=False, progress=None, n_simulations=DEFAULT_N_SIMULATIONS,
                     reference_group=None,
                     inputs=(), run_info=None, formats=None, n_jobs=None, style="screen",
                     transfer_prediction=False):
    """Write a FIT into a study folder (the reference's ``RL/modelling`` after a fit).

    The files are staged and published so that the folder holds either its
    previous or its new complete state at every instant; on any error
    nothing is changed and nothing is left behind (see :mod:`avoidrl.report._folder`).

    Parameters
    ----------
    out_dir : str or Path
        The study folder, created if missing. Files of other runs (a
        VALIDATION) and of the user stay as they are.
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants, all by maximum likelihood or
        all by :class:`avoidrl.hierarchical.EmpiricalBayes`. An empirical-Bayes
        FIT compares models by Laplace evidence and iBIC instead of AIC/BIC,
        has no starts files and adds its population files (see the
        README.md it writes).
    X_learning, X_transfer : DataFrame or path
        The data the models were fitted to (``X_transfer`` may be None for one
        long frame), used for the posterior-predictive simulations.
    random_state : int, RandomState instance or None
        Seeds the posterior-predictive simulations.
    overwrite : bool, default=False
        Replace the files an earlier avoidrl run wrote (unchanged since), and
        remove an earlier FIT's files this one does not write. Without it,
        a file that exists is never replaced. Files avoidrl did not write
        are never replaced.
    progress : callable, optional
        Called with a short message before each step (for example ``print``).
    n_simulations : int, default=5
        Posterior-predictive simulations per participant and model
        (``DEFAULT_N_SIMULATIONS``).
    reference_group : optional
        Reference group of the planned t-tests (default: the first group).
    inputs : iterable of path, optional
        Input files of the run; ``out_dir`` must not hold them. ``X_learning``
        and ``X_transfer`` count when they are paths.
    run_info : dict, optional
        Recorded at the top of ``summary_FIT.json`` (the command-line front
        ends put the seed here, and whether it was drawn).
    formats : list of {'png', 'svg', 'pdf'}, optional
        The figure formats: every figure is written in each. None (default):
        the reference's files, a PNG of every figure plus an SVG of those in
        model_behaviours/ and parameter_fits/.
    n_jobs : int, optional
        Worker processes drawing the figures while the tables are computed
        (as in joblib; None and 1: in this process). The files are the same
        for any value.
    style : {'screen', 'paper'}, default='screen'
        The figures' style (:func:`avoidrl.plotting.figure_style`): 'screen',
        sized for a monitor (the usual files), or 'paper': at most 7 inches
        wide, print font sizes, one-line titles, PNG at 300 dpi.
    transfer_prediction : bool, default=False
        Also write transfer_prediction.csv (:func:`avoidrl.report.transfer_prediction`):
        every model refitted to the learning phase alone, predicting the
        transfer phase. Off by default because it fits every model again;
        maximum-likelihood fits only.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    FileExistsError
        If the FIT would replace a file it may not replace (named in the
        message), or ``out_dir`` is not a folder.
    ValueError
        If ``out_dir`` holds one of the input files, some models are
        empirical-Bayes fits and others are not, a format is unknown, or
        ``transfer_prediction`` is asked of fits that are not by maximum
        likelihood.
    """
    formats, style = _figures.check_formats(formats), plotting.check_style(style)
    run = _FitRun(_model_dict(models), X_learning, X_transfer, random_state=random_state,
                  n_simulations=n_simulations, reference_group=reference_group,
                  formats=formats, info=_summary.run_info(random_state, run_info), style=style,
                  transfer_prediction=transfer_prediction)
    planned = fit_files(run.names, pd.unique(run.first.groups_.to_numpy(dtype=object)),
                        method=run.method, formats=formats,
                        transfer_prediction=run.transfer_prediction)
    with _staging(out_dir, (FIT_KIND,), planned, overwrite=overwrite,
                  inputs=[*inputs, X_learning, X_transfer], info=run.info, formats=formats,
                  n_jobs=n_jobs, style=style) as (stage, staging):
        write_steps(select(FIT_CATALOGUE, FIT_KIND, {run.method}), run, FIT_STEPS, staging,
                    progress)
        stage.describe(FIT_KIND, fit_section(run))
        notify(progress, "drawing the figures")
        staging.figures.finish()
    return stage.target


def _same_tables(first, second):
    try:
        for key in ("learning", "transfer", "parameters"):
            pd.testing.assert_frame_equal(first[key], second[key])
    except AssertionError:
        return False
    return True


class _ValidationRun:
    """A VALIDATION being written: its recoveries, and the tables files share."""

    def __init__(self, recoveries, model_recovery, *, formats, info, style="screen"):
        self.recoveries, self.model_recovery = recoveries, model_recovery
        self.kinds = ((PARAMETER_KIND,) if recoveries is not None else ()) + \
            ((MODEL_KIND,) if model_recovery is not None else ())
        self.recovery_models = _recovery_models(model_recovery) \
            if model_recovery is not None else []
        self.formats, self.info, self.style = formats, info, style
        self.created = _summary.now()
        self.keys = Keys(self)

    def methods(self, kind):
        """The inference methods of the estimators of ``kind``'s recovery (labels)."""
        estimators = [r.estimator for r in self.recoveries.values()] \
            if kind == PARAMETER_KIND else [e for _, e in self.recovery_models]
        return {fit_method_of(estimator) for estimator in estimators}

    @cached_property
    def parameter_tables(self):
        """(fit_data, true_params) of the parameter recovery."""
        return parameter_recovery_tables(self.recoveries)

    @cached_property
    def model_tables(self):
        return model_recovery_fit_tables(self.model_recovery)

    @property
    def has_sbc(self):
        """Whether a parameter recovery's fits gave posterior draws (SBC ranks)."""
        return self.recoveries is not None and any(
            hasattr(r, "sbc_ranks_") for r in self.recoveries.values())

    @property
    def has_group_results(self):
        return getattr(self.model_recovery, "group_results_", None) is not None

    @property
    def has_identification(self):
        return getattr(self.model_recovery, "group_identification_", None) is not None

    @property
    def criterion_label(self):
        return recovery_criterion(self.model_recovery)[1]

    @cached_property
    def _generated(self):
        """({model: tables} of data/generated/, {model: tables} of its model_recovery/).

        A model recovery that fitted the parameter recovery's datasets writes
        the same bytes, so the two runs can share these files.
        """
        tables = generated_data(list(self.recoveries.values())) \
            if self.recoveries is not None else {}
        separate = {}
        if self.model_recovery is not None:
            for model, parts in generated_data(self.model_recovery).items():
                if model not in tables:
                    tables[model] = parts
                elif not _same_tables(tables[model], parts):
                    separate[model] = parts
        return tables, separate

    @property
    def generated(self):
        return self._generated[0]

    @property
    def separate(self):
        return self._generated[1]

    @property
    def has_separate(self):
        return bool(self.separate)

    @property
    def model_keys(self):
        return [(safe_filename(model), model) for model in self.generated]

    @property
    def separate_keys(self):
        return [(safe_filename(model), model) for model in self.separate]

    def summary(self, kind):
        return _summary.validation_summary(self, kind)


def write_validation_report(out_dir, *, parameter_recovery=None, model_recovery=None,
                            overwrite=False, progress=None, inputs=(), run_info=None,
                            formats=None, n_jobs=None, style="screen"):
    """Write a VALIDATION (parameter and/or model recovery) into a study folder.

    Published like :func:`write_fit_report`. A parameter recovery and a
    model recovery are two kinds of runs (``PARAMETER`` and ``MODEL``) with
    their own files, so a model recovery can join a folder that holds the
    parameter recovery (and a FIT) without ``overwrite``; the generated data
    they share must then be the same datasets.

    Parameters
    ----------
    out_dir : str or Path
        The study folder, created if missing.
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}, optional
        Fitted parameter recoveries (one per model).
    model_recovery : ModelRecovery, optional
        A fitted model recovery.
    overwrite : bool, default=False
        As in :func:`write_fit_report`: replace files avoidrl wrote, and
        remove an earlier run's files of the same kinds this run does not
        write.
    progress : callable, optional
        Called with a short message before each step.
    inputs : iterable of path, optional
        Input files (template data); ``out_dir`` must not hold them.
    run_info : dict, optional
        Recorded at the top of the summaries (seed, whether it was drawn).
    formats : list of {'png', 'svg', 'pdf'}, optional
        The figure formats (None: PNG, as the reference).
    n_jobs : int, optional
        Worker processes drawing the figures (None and 1: in this process).
    style : {'screen', 'paper'}, default='screen'
        The figures' style, as in :func:`write_fit_report`.

    Returns
    -------
    Path
        The folder written.

    Raises
    ------
    ValueError
        If neither recovery is given.
    FileExistsError
        If the run would replace a file it may not replace (named in the
        message), or ``out_dir`` is not a folder.
    """
    if parameter_recovery is None and model_recovery is None:
        raise ValueError("give parameter_recovery, model_recovery or both")
    formats, style = _figures.check_formats(formats), plotting.check_style(style)
    recoveries = _recoveries(parameter_recovery) if parameter_recovery is not None else None
    if model_recovery is not None and not hasattr(model_recovery, "fits_"):
        raise ValueError("the model recovery is not fitted (call fit)")
    run = _ValidationRun(recoveries, model_recovery, formats=formats,
                         info=_summary.run_info(None, run_info), style=style)
    planned = validation_files(list(recoveries) if recoveries is not None else [],
                               [n for n, _ in run.recovery_models], formats=formats)
    with _staging(out_dir, run.kinds, planned, overwrite=overwrite, inputs=inputs,
                  info=run.info, formats=formats, n_jobs=n_jobs, style=style) as (stage, staging):
        entries = {kind: select(VALIDATION_CATALOGUE, kind, run.methods(kind))
                   for kind in run.kinds}
        write_steps(list(dict.fromkeys(e for kind in run.kinds for e in entries[kind])), run,
                    VALIDATION_STEPS, staging, progress)
        for kind in run.kinds:
            # the generated data belong to every kind of the run, the rest to its own kind
            stage.describe(kind, validation_section(kind, run, shown(entries[kind], run)),
                           files=staging.files_of(entries[kind]))
    return stage.target
