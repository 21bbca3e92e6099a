"""The FIT and VALIDATION workflows shared by the ``avoidrl`` command and :class:`Pipeline`.

Both front ends translate their own vocabulary (command-line options, the
reference's ``Pipeline.run`` keywords) into one call of :func:`run_fit` or
:func:`run_validation`, so the same settings and seed give the same output
folder whichever front end is used. The package follows a run's flow:

* :mod:`._settings`: the settings checked, the estimators built (the
  inference method's, from the fit-method registry), the seeds;
* :mod:`._inputs`: the task data, task-design templates and generating
  parameters (data in);
* :mod:`._runs`: :func:`run_fit` and :func:`run_validation` (fits or
  recoveries, then the report folder), and what they return.

Progress is reported to an :class:`avoidrl._utils.progress.Progress`.

Seeding
-------
``seed`` is an int or None. A FIT gives every model ``random_state=seed``, so
``avoidrl fit --models M --seed S`` fits M exactly as
``make_model(M, random_state=S).fit(learning, transfer)`` does, whatever the
other models are. Recovery gives each model its own seed derived from ``seed``
and the model's name (:func:`recovery_seed`), so the generating models'
datasets are independent; model recovery fits the very datasets that
parameter recovery with the same seed generated.

Without a seed, the front ends draw one (:func:`draw_seed`), use it, print
or return it and record it in the summaries, so every run can be repeated.
"""

from .._tables import DEFAULT_N_SIMULATIONS
from .._utils.progress import Progress
from ..recovery._common import SAMPLERS
from ._inputs import (
    N_TRANSFER_PAIRS, check_out_dir, given_parameter_datasets, load_data, parameter_datasets,
    read_fit_parameters, recovery_templates, task_design_templates,
)
from ._runs import FitRun, ValidationRun, run_fit, run_validation
from ._settings import (
    DEFAULT_METHOD, DEFAULT_MODELS, DEFAULT_OUT_DIR, DERIVED_SEED_RANGE, RECOVERY_KINDS,
    SEED_RANGE, START_MODES, build_estimators, check_base_table, check_choice, check_count,
    check_method, check_method_settings, check_models, check_seed, default_starts_text,
    draw_seed, method_estimators, model_settings, recovery_seed,
)

__all__ = [
    "DEFAULT_METHOD", "DEFAULT_MODELS", "DEFAULT_N_SIMULATIONS", "DEFAULT_OUT_DIR",
    "DERIVED_SEED_RANGE", "N_TRANSFER_PAIRS", "RECOVERY_KINDS", "SAMPLERS", "SEED_RANGE",
    "START_MODES", "FitRun", "Progress", "ValidationRun", "build_estimators", "check_base_table",
    "check_choice", "check_count", "check_method", "check_method_settings", "check_models",
    "check_out_dir", "check_seed",
    "default_starts_text", "draw_seed", "given_parameter_datasets", "load_data",
    "method_estimators", "model_settings", "parameter_datasets", "read_fit_parameters",
    "recovery_seed", "recovery_templates", "run_fit", "run_validation", "task_design_templates",
]
