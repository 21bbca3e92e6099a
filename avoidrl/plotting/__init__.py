"""Figures of fits, posterior-predictive behaviour and recovery.

Every function returns a matplotlib Figure (nothing is shown or saved), so
notebook users can adjust and combine them. The figures of fits are laid out
once, when built, for their content (no layout engine runs at each save);
after resizing one or adding to it, ``figure.set_layout_engine('constrained')``
lays it out again. Groups come from the data
(``group_code``, in order of first appearance) and every figure works with one
model and one group.

Inside ``with headless():`` the figures are built without pyplot, on the Agg
canvas; the report writers use this so that writing files never opens a
window or changes the user's backend.

The figures draw the tables of :mod:`avoidrl._tables` and come in the same
families, one module each: :mod:`~avoidrl.plotting._comparison`,
:mod:`~avoidrl.plotting._parameters`, :mod:`~avoidrl.plotting._behaviour`,
:mod:`~avoidrl.plotting._recovery` and :mod:`~avoidrl.plotting._posterior` (full-Bayes
fits); :mod:`~avoidrl.plotting._style` holds the
colours, the figure factory and the axis helpers they share.
"""

from ._behaviour import plot_model_behaviour, plot_model_simulations
from ._comparison import plot_bms, plot_fit_distributions, plot_model_comparison
from ._parameters import (
    plot_fit_by_starts, plot_parameter_fits, plot_parameter_of_interest_comparisons,
)
from ._posterior import plot_group_differences, plot_trace_rank
from ._recovery import plot_model_recovery, plot_parameter_recovery, plot_recovery_calibration
from ._style import (  # noqa: F401  (tests read the labels)
    STYLES, _OPTION_LABELS, _OPTION_TYPES, check_style, figure_style, headless, paper_fonts,
)

__all__ = [
    "STYLES", "figure_style", "headless", "paper_fonts",
    "plot_model_comparison", "plot_bms", "plot_fit_distributions",
    "plot_fit_by_starts", "plot_parameter_of_interest_comparisons", "plot_model_behaviour",
    "plot_model_simulations", "plot_parameter_fits", "plot_parameter_recovery",
    "plot_model_recovery", "plot_recovery_calibration", "plot_group_differences",
    "plot_trace_rank",
]
