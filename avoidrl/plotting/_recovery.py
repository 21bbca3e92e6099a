"""Recovery figures: true vs fitted parameters, their calibration, model-recovery matrices.

Draws the tables of :mod:`avoidrl._tables.recovery`.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .._tables import (
    BOUND_TOLERANCE, _recoveries, _recovery_bounds, _recovery_models, recovery_at_bounds,
    recovery_criterion,
)
from ._style import (
    _BOUND_COLOR, _PARTICIPANT_COLOR, _TAIL_COLOR, _despine, _draw_bounds, _new_figure,
)


# ----------------------------------------------------------------- recovery
def plot_parameter_recovery(parameter_recovery, tol=BOUND_TOLERANCE):
    """True vs fitted parameters (correlations/recovery_correlation_plot.png).

    Parameters
    ----------
    parameter_recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}
        Fitted recovery objects, one per model.
    tol : float, default=1e-6
        A fitted value within ``tol * (high - low)`` of a bound counts as on it.

    Returns
    -------
    Figure
        One row per model, one axis per parameter: the datasets' true vs
        fitted values, the identity line (grey dashed), both axes spanning
        the parameter's bounds, which are drawn (red dashed). Fits that end on
        a bound are open red circles. The title gives Pearson r (of
        ``correlations_``), n (datasets) and how many fits sit on a bound.
    """
    recoveries = _recoveries(parameter_recovery)
    n_cols = max(len(r.true_params_.columns) for r in recoveries.values())
    n_rows = len(recoveries)
    figure = _new_figure(max(6.0, 2.6 * n_cols + 0.8), 2.9 * n_rows + 0.8)
    axes = figure.subplots(n_rows, n_cols, squeeze=False)
    any_on_bound = False
    for row, (name, recovery) in enumerate(recoveries.items()):
        bounds = _recovery_bounds(recovery)
        at_bounds = recovery_at_bounds(recovery, tol)
        parameters = list(recovery.true_params_.columns)
        for column, parameter in enumerate(parameters):
            ax = axes[row, column]
            low, high = bounds[parameter]
            pad = 0.04 * (high - low)
            true = recovery.true_params_[parameter].to_numpy(float)
            fitted = recovery.fitted_params_[parameter].reindex(
                recovery.true_params_.index).to_numpy(float)
            on_bound = at_bounds[parameter].to_numpy()
            any_on_bound |= bool(on_bound.any())
            ax.plot([low, high], [low, high], color="gray", linestyle="--", linewidth=1)
            _draw_bounds(ax, low, high, axis="x")
            _draw_bounds(ax, low, high, axis="y")
            ax.scatter(true[~on_bound], fitted[~on_bound], s=14, alpha=0.65,
                       color=_PARTICIPANT_COLOR, linewidth=0, gid="participants")
            if on_bound.any():
                ax.scatter(true[on_bound], fitted[on_bound], s=14, facecolors="white",
                           edgecolors=_BOUND_COLOR, linewidths=0.9, gid="at_bound")
            ax.set_xlim(low - pad, high + pad)
            ax.set_ylim(low - pad, high + pad)
            ax.set_aspect("equal", adjustable="box")
            r = recovery.correlations_.get(parameter, np.nan)
            n = int((np.isfinite(true) & np.isfinite(fitted)).sum())
            bounded = f", {int(on_bound.sum())} on a bound" if on_bound.any() else ""
            ax.set_title(f"{parameter.replace('_', ' ')}\nr = {r:.2f}, n = {n}{bounded}",
                         fontsize=9)
            ax.set_xlabel("true", fontsize=9)
            if column == 0:
                ax.set_ylabel(f"{name}\nfitted", fontsize=10, fontweight="bold")
            else:
                ax.set_ylabel("fitted", fontsize=9)
            ax.tick_params(labelsize=8)
            _despine(ax)
        for column in range(len(parameters), n_cols):
            axes[row, column].remove()
    handles = [Line2D([], [], linestyle="none", marker="o", color=_PARTICIPANT_COLOR,
                      label="dataset"),
               Line2D([], [], color="gray", linestyle="--", label="identity"),
               Line2D([], [], color=_BOUND_COLOR, linestyle="--", label="bounds")]
    if any_on_bound:
        handles.insert(1, Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                                 markeredgecolor=_BOUND_COLOR, label="fitted on a bound"))
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                  frameon=False, fontsize=8)
    figure.suptitle("Parameter recovery: fitted vs true (Pearson r, n datasets)", fontsize=12)
    return figure


#: fewest intervals in a tail for the coverage panel to draw its coverage (its 95 %
#: Clopper-Pearson interval is then at most about +-0.2 wide)
MIN_TAIL_N = 20


def _coverage_panel(ax, name, coverage, by_position=None):
    """Coverage per parameter as points with their interval; the nominal level dashed.

    With ``by_position`` (``coverage_by_position_``), the coverage of each
    parameter's lowest and highest 10 % of true values beside it (triangles
    down and up), each with its interval: where the misses are. Tails with
    fewer than :data:`MIN_TAIL_N` intervals are not drawn, and a note says so.
    """
    x = np.arange(len(coverage))
    values = coverage["coverage"].to_numpy(float)
    shown = np.isfinite(values)
    low = coverage["lower"].to_numpy(float)
    high = coverage["upper"].to_numpy(float)
    nominal = float(coverage["nominal"].iloc[0])
    ax.axhline(nominal, color="gray", linestyle="--", linewidth=1, gid="nominal",
               label=f"nominal level ({nominal:.0%})")
    ax.errorbar(x[shown], values[shown], yerr=[values[shown] - low[shown],
                                               high[shown] - values[shown]],
                fmt="o", color=_PARTICIPANT_COLOR, capsize=3, gid="coverage",
                label="coverage (95 % Clopper-Pearson interval)")
    for i in x:
        n = int(coverage["n"].iloc[i])
        label = f"{int(coverage['n_inside'].iloc[i])}/{n}" if n else "no\ninterval"
        ax.annotate(label, (i, high[i] if n else nominal), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=7)
    lowest = list(low[shown])
    skipped = False
    if by_position is not None:
        for position, marker, offset in (("lower tail", "v", -0.28), ("upper tail", "^", 0.28)):
            part = by_position.xs(position, level="position").reindex(coverage.index)
            value = part["coverage"].to_numpy(float)
            # a tail of a handful of values says nothing (its interval spans the axis)
            has = np.isfinite(value) & (part["n"].to_numpy(float) >= MIN_TAIL_N)
            skipped |= bool(np.any(np.isfinite(value) & ~has))
            if not has.any():
                continue
            tail_low, tail_high = part["lower"].to_numpy(float), part["upper"].to_numpy(float)
            ax.errorbar(x[has] + offset, value[has],
                        yerr=[value[has] - tail_low[has], tail_high[has] - value[has]],
                        fmt=marker, color=_TAIL_COLOR, markersize=4, elinewidth=0.8, capsize=2,
                        gid=f"coverage {position}",
                        label=f"{position.replace('tail', '10 %')} of the true values")
            lowest.extend(tail_low[has])
    if skipped:
        ax.text(0.99, 0.01, f"tails with fewer than {MIN_TAIL_N} intervals not drawn",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color=_TAIL_COLOR,
                gid="tails not drawn")
    ax.legend(loc="lower left", frameon=False, fontsize=7)
    bottom = np.nanmin(np.append(lowest, nominal))
    ax.set_ylim(max(0.0, bottom - 0.08), 1.06)
    ax.set_xlim(-0.6, len(coverage) - 0.4)
    ax.set_xticks(x, [p.replace("_", " ") for p in coverage.index], rotation=30, ha="right",
                  rotation_mode="anchor", fontsize=8)
    ax.set_ylabel(f"{name}\ncoverage of the {nominal:.0%} intervals", fontsize=9)
    _despine(ax)


def plot_recovery_calibration(recovery):
    """Interval coverage and the true x fitted correlation matrix of a parameter recovery.

    Parameters
    ----------
    recovery : ParameterRecovery, list of them, or dict {name: ParameterRecovery}
        Fitted recovery objects, one per model
        (parameter_recovery_calibration.png).

    Returns
    -------
    Figure
        One row per model. Left: per parameter, the share of true values
        inside the fits' intervals (``coverage_``) as a point with its 95 %
        Clopper-Pearson interval, annotated n_inside/n (estimates with an
        interval), beside it the coverage of the lowest and highest 10 % of
        the true values (``coverage_by_position_``; triangles down and up,
        with their intervals; drawn when a tail holds at least 20 intervals,
        that is from about 200 datasets), and the intervals' nominal level
        (grey dashed). Right:
        ``correlation_matrix_`` as a heatmap (rows true, columns fitted parameters;
        diverging colours centred at 0, from -1 to 1; values annotated): the
        diagonal is the recovery r, the off-diagonal cells show trade-offs.
        The titles give n datasets.
    """
    recoveries = _recoveries(recovery)
    for name, item in recoveries.items():
        if not hasattr(item, "coverage_"):
            raise ValueError(f"the parameter recovery of {name!r} has no coverage_ (fit it "
                             "with this version of avoidrl)")
    k = max(len(r.true_params_.columns) for r in recoveries.values())
    side = 0.75 * k + 2.2
    figure = _new_figure(2 * side + 1.5, side * len(recoveries) + 0.9)
    axes = figure.subplots(len(recoveries), 2, squeeze=False)
    for row, (name, item) in enumerate(recoveries.items()):
        n = len(item.true_params_)
        _coverage_panel(axes[row, 0], name, item.coverage_,
                        getattr(item, "coverage_by_position_", None))
        axes[row, 0].set_title(f"Interval coverage (n = {n} datasets)", fontsize=10)
        ax = axes[row, 1]
        matrix = item.correlation_matrix_
        image = ax.imshow(matrix.to_numpy(float), cmap="RdBu_r", vmin=-1, vmax=1,
                          aspect="equal")
        for (i, j), value in np.ndenumerate(matrix.to_numpy(float)):
            text = "–" if not np.isfinite(value) else format(value, ".2f").replace("-0.00",
                                                                                  "0.00")
            ax.text(j, i, text, ha="center", va="center", fontsize=8,
                    color="white" if np.isfinite(value) and abs(value) > 0.6 else "black")
        labels = [[p.replace("_", " ") for p in axis] for axis in (matrix.columns, matrix.index)]
        ax.set_xticks(np.arange(matrix.shape[1]), labels[0], rotation=30, ha="right",
                      rotation_mode="anchor", fontsize=8)
        ax.set_yticks(np.arange(matrix.shape[0]), labels[1], fontsize=8)
        ax.set_xlabel("fitted parameter", fontsize=9)
        ax.set_ylabel("true parameter", fontsize=9)
        ax.set_title(f"True x fitted Pearson r (n = {n} datasets)", fontsize=10)
        figure.colorbar(image, ax=ax, shrink=0.8, label="Pearson r")
    figure.suptitle("Parameter recovery calibration: do the intervals cover the truth, which "
                    "parameters trade off?", fontsize=11)
    return figure


def _heatmap(ax, matrix, *, cmap, vmin, vmax, fmt, box, title, colors=None):
    """An annotated heatmap of a recovery matrix (rows = generating models).

    ``colors``, when given, is what the colour shows (same shape as
    ``matrix``); the cells are annotated with ``matrix``'s values.
    """
    values = matrix.to_numpy(dtype=float)
    shade = values if colors is None else np.asarray(colors, dtype=float)
    image = ax.imshow(shade, cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
    n_rows, n_cols = values.shape
    # Box the best cell of each column (or row); ties are all boxed.
    oriented = values.T if box.startswith("column") else values
    best = np.nanmin if box.endswith("min") else np.nanmax
    boxed = set()
    for line, cells in enumerate(oriented):
        if np.isfinite(cells).any():
            for other in np.flatnonzero(np.isclose(cells, best(cells))):
                boxed.add((int(other), line) if box.startswith("column") else (line, int(other)))
    size = 10 if max(n_rows, n_cols) <= 5 else 8
    for i in range(n_rows):
        for j in range(n_cols):
            value = values[i, j]
            if np.isfinite(value):
                red, green, blue, _ = image.cmap(image.norm(shade[i, j]))
                dark = 0.299 * red + 0.587 * green + 0.114 * blue < 0.5
                text, color = format(value, fmt), "white" if dark else "black"
                if float(text) == 0:
                    text = text.lstrip("-")
            else:
                text, color = "–", "gray"
            ax.text(j, i, text, ha="center", va="center", fontsize=size, color=color,
                    fontweight="bold" if (i, j) in boxed else "normal")
    for i, j in boxed:
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="black",
                               linewidth=2.2))
    ax.set_xticks(np.arange(n_cols), [str(c) for c in matrix.columns], rotation=45,
                  ha="right", rotation_mode="anchor")
    ax.set_yticks(np.arange(n_rows), [str(r) for r in matrix.index])
    ax.set_xlabel("fitting model")
    ax.set_ylabel("generating model")
    ax.set_title(title, fontsize=11)


def plot_model_recovery(model_recovery, normalized=False):
    """Model-recovery matrices as annotated heatmaps (model_recovery.png).

    Parameters
    ----------
    model_recovery : fitted ModelRecovery
    normalized : bool, default=False
        Add a third heatmap: for each generating model, the difference of
        each fitting model's mean BIC from the best one's on that generator's
        data (0 = best, annotated), coloured by ``normalized_bic_`` (the same
        difference scaled within the generating model: -100 = best, +100 =
        worst), so that colours compare fitting models within a row only.
        With empirical-Bayes estimators, the mean -2 x Laplace log evidence,
        and so titled.

    Returns
    -------
    Figure
        Two (or three) axes, rows = generating models (labelled with their
        number of datasets n), columns = fitting models (Wilson & Collins
        2019). Confusion matrix p(best fit | generating model), each row
        summing to 1: each generator's most frequent winner is boxed.
        Inversion matrix p(generating model | best fit), each column summing
        to 1: each winner's most likely generator (the column maximum) is
        boxed. Mean criterion difference: each generator's best-fitting model
        (the row minimum) is boxed.
    """
    if not hasattr(model_recovery, "confusion_"):
        raise ValueError("the model recovery is not fitted (call fit)")
    order = [n for n, _ in _recovery_models(model_recovery)]
    panels = [
        (model_recovery.confusion_, None, "Confusion matrix\np(best fit | generating model)",
         dict(cmap="Blues", vmin=0, vmax=1, fmt=".2f", box="row_max")),
        (model_recovery.inversion_, None, "Inversion matrix\np(generating model | best fit)",
         dict(cmap="Purples", vmin=0, vmax=1, fmt=".2f", box="column_max")),
    ]
    if normalized:
        label = recovery_criterion(model_recovery)[1]
        criterion = model_recovery.criterion_
        difference = criterion.sub(criterion.min(axis=1), axis=0)
        panels.append((difference, model_recovery.normalized_bic_,
                       f"Mean {textwrap.fill(label, 30)} minus the row's best\n"
                       "(0 = best; colour scaled per row)",
                       dict(cmap="RdYlGn_r", vmin=-100, vmax=100, fmt=".1f", box="row_min")))
    n_datasets = model_recovery.fits_.groupby("generating_model")["dataset"].nunique()
    n = len(order)
    side = 0.7 * n + 2.6
    figure = _new_figure(max(8.0, side * len(panels)), side + 0.8)
    axes = figure.subplots(1, len(panels))
    for ax, (matrix, colors, title, style) in zip(np.atleast_1d(axes), panels):
        rows = [m for m in order if m in matrix.index]
        columns = [m for m in order if m in matrix.columns]
        shown = matrix.reindex(index=rows, columns=columns)
        if colors is not None:
            colors = colors.reindex(index=rows, columns=columns).to_numpy(dtype=float)
        _heatmap(ax, shown, title=title, colors=colors, **style)
        ax.set_yticks(np.arange(len(rows)),
                      [f"{m}\n(n = {int(n_datasets.get(m, 0))})" for m in rows])
    figure.suptitle("Model recovery (rows = generating model with its n datasets, columns = "
                    "fitting model)", fontsize=12)
    return figure
