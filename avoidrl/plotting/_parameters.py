"""Parameter figures: fits by starts, parameters by group, parameters of interest.

Draws the tables of :mod:`avoidrl._tables.parameters`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from .._tables import (
    BOUND_TOLERANCE, PARAMETERS_OF_INTEREST, START_TOLERANCE, _interest_at_bound, _t_ci,
    bound_sides, fit_by_starts, parameter_of_interest_correlations,
    parameter_of_interest_values,
)
from .._utils.fitted import _model_dict
from ._style import (
    _BOUND_COLOR, _PARTICIPANT_COLOR, _POINT_GIDS, _POINT_LABELS, _POINT_STYLES, _cells, _despine,
    _draw_bounds, _fixed_layout, _grid, _legend_columns, _log_axis, _new_figure, _number, _paper,
    _plain_log_axis, _rotate, _suptitle, _wrap,
)


# ------------------------------------------------------------ fit diagnostics
def plot_fit_by_starts(models, tol=START_TOLERANCE):
    """Mean best NLL as starts are added (the reference's fit-by-runs.png, done right).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    tol : float, default=0.01
        NLL tolerance of the marked start count (see
        :func:`avoidrl.report.fit_by_starts`).

    Returns
    -------
    Figure
        One axis per model: for r = 1 .. n_starts, the mean over participants
        of each participant's best NLL among its first r starts (from every
        start, not the reference's best-start table, reference-spec Q19). The
        dashed line marks the first r from which every participant is within
        ``tol`` of its best; the title gives the share of participants within
        ``tol`` of their best after one start, and how much higher the mean
        NLL is then than with all starts.
    """
    table = fit_by_starts(models, tol=tol)
    names = list(_model_dict(models))
    figure, axes = _grid(3.8, 3.2, len(names), layout=None)  # _fixed_layout
    for ax, name in zip(axes, names):
        part = table[table["model"] == name]
        r = part["starts"].to_numpy()
        ax.plot(r, part["mean_best_nll"].to_numpy(), color="#2f6fa8", marker="o", markersize=4,
                linewidth=1.8)
        reached = part.loc[part["share_at_best"] >= 1.0, "starts"]
        first = int(reached.min()) if len(reached) else int(r.max())
        ax.axvline(first, color="#c0392b", linestyle="--", linewidth=1, alpha=0.7)
        ax.text(first, 0.98, "all at best ", transform=ax.get_xaxis_transform(), rotation=90,
                ha="right", va="top", fontsize=8, color="#c0392b")
        share = float(part["share_at_best"].iloc[0]) if len(part) else np.nan
        drop = part["mean_best_nll"].iloc[0] - part["mean_best_nll"].iloc[-1] if len(part) \
            else np.nan
        ax.set_title(f"{name}\n1 start: {_number(100 * share, '.0f')}% at best, mean NLL "
                     f"+{_number(drop)} vs {int(r.max()) if len(r) else 0}", fontsize=10)
        ax.set_xlabel("number of starts r", fontsize=9)
        ax.set_ylabel("mean best NLL of the first r starts", fontsize=9)
        step = max(1, int(np.ceil(len(r) / 10)))
        ax.set_xticks(r[::step])
        finite = part["mean_best_nll"].to_numpy(float)
        finite = finite[np.isfinite(finite)]
        if len(finite) and finite.max() - finite.min() < 0.1:
            # a flat curve: show it flat instead of magnifying round-off
            centre = 0.5 * (finite.max() + finite.min())
            ax.set_ylim(centre - 0.5, centre + 0.5)
        ax.ticklabel_format(axis="y", useOffset=False, style="plain")
        ax.tick_params(labelsize=8)
        ax.margins(x=0.08)
        _despine(ax)
    title = _suptitle(figure, f"Fit by number of starts (mean over participants; dashed = "
                      f"every participant within {tol:g} NLL of its best)")
    return _fixed_layout(figure, title)


def _p_text(p_value):
    return "p < 0.001" if np.isfinite(p_value) and p_value < 0.001 else \
        f"p = {_number(p_value, '.3f')}"


def plot_parameter_of_interest_comparisons(models, parameters=PARAMETERS_OF_INTEREST,
                                           tol=BOUND_TOLERANCE):
    """Parameters of interest of different models against each other.

    The reference's parameter_of_interest_comparisons.png, for any fitted
    models (it hard-coded three model names, reference-spec Q33).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    parameters : sequence of str, default=('weighting_factor', 'contextual_lr', 'mixing_factor')
    tol : float, default=1e-6
        Bound tolerance, as a fraction of each parameter's range (see
        :func:`avoidrl.report.parameters_at_bounds`).

    Returns
    -------
    Figure
        One scatter plot per pair of (model, parameter) columns of
        :func:`avoidrl.report.parameter_of_interest_correlations`,
        participants matched by id, in natural units (contextual_lr and the
        other log-transformed parameters on a log axis: the correlations are
        of log values, as in the reference). Participants with either value on
        a bound of its fit are open red circles; the bounds are drawn (red
        dashed). The title gives Pearson r, p and n over every participant
        and over the participants with neither value on a bound (the
        least-squares line, dashed, is theirs): a pile-up on a bound can
        make a strong correlation out of a few interior points. With fewer
        than two such columns, one axis with a note instead.
    """
    models = _model_dict(models)
    values = parameter_of_interest_values(models, parameters)
    correlations = parameter_of_interest_correlations(models, parameters, tol=tol)
    if correlations.empty:
        figure = _new_figure(6.0, 2.5)
        ax = figure.subplots()
        found = [f"{m}: {p}" for m, p in values.columns]
        wanted = (parameters,) if isinstance(parameters, str) else tuple(parameters)
        ax.text(0.5, 0.5, "Nothing to compare: needs at least two of\n"
                f"{', '.join(wanted)}\namong the models' parameters "
                f"(found {', '.join(found) if found else 'none'})",
                ha="center", va="center", transform=ax.transAxes, color="dimgray")
        ax.set_axis_off()
        return figure
    at_bound = _interest_at_bound(models, values, tol)
    figure, axes = _grid(3.7, 4.0, len(correlations), layout=None)  # _fixed_layout
    for ax, row in zip(axes, correlations.itertuples()):
        first, second = (row.model_x, row.parameter_x), (row.model_y, row.parameter_y)
        ids = values[[first, second]].dropna().index
        natural = [models[m].params_[p].reindex(ids).to_numpy(float) for m, p in (first, second)]
        logs = [t == "log" and _log_axis(p, v)
                for t, p, v in ((row.transform_x, row.parameter_x, natural[0]),
                                (row.transform_y, row.parameter_y, natural[1]))]
        bounded = at_bound.loc[ids, [first, second]].any(axis=1).to_numpy()
        x, y = natural
        ax.scatter(x[~bounded], y[~bounded], s=22, color=_PARTICIPANT_COLOR, alpha=0.75,
                   linewidth=0, gid="participants")
        if bounded.any():
            ax.scatter(x[bounded], y[bounded], s=22, facecolors="white",
                       edgecolors=_BOUND_COLOR, linewidths=1.0, alpha=0.8, gid="at_bound")
        if np.isfinite(row.r_interior):
            fx = np.log(x[~bounded]) if logs[0] else x[~bounded]
            fy = np.log(y[~bounded]) if logs[1] else y[~bounded]
            slope, intercept = np.polyfit(fx, fy, 1)
            ends = np.linspace(fx.min(), fx.max(), 50)
            line = intercept + slope * ends
            ax.plot(np.exp(ends) if logs[0] else ends, np.exp(line) if logs[1] else line,
                    color="black", linestyle="--", linewidth=1, alpha=0.6)
        if logs[0]:
            _plain_log_axis(ax, "x")
        if logs[1]:
            _plain_log_axis(ax, "y")
        for (model, parameter), axis, log in ((first, "x", logs[0]), (second, "y", logs[1])):
            bound = models[model].bounds_.get(parameter)
            if bound is not None:
                _draw_bounds(ax, *map(float, bound), axis=axis, log=log)
        for (model, parameter), log, setter in ((first, logs[0], ax.set_xlabel),
                                                (second, logs[1], ax.set_ylabel)):
            setter(f"{model}\n{parameter}{' (log axis)' if log else ''}", fontsize=9)
        ax.set_title(f"all: r = {_number(row.r)}, {_p_text(row.p_value)}, n = {row.n}\n"
                     f"off bounds: r = {_number(row.r_interior)}, "
                     f"{_p_text(row.p_value_interior)}, n = {row.n_interior}", fontsize=9)
        ax.tick_params(labelsize=8)
        _despine(ax)
    handles = [Line2D([], [], linestyle="none", marker="o", color=_PARTICIPANT_COLOR,
                      label="participant"),
               Line2D([], [], linestyle="none", marker="o", markerfacecolor="white",
                      markeredgecolor=_BOUND_COLOR, label="either value on a bound"),
               Line2D([], [], color=_BOUND_COLOR, linestyle="--", label="bounds of the fit"),
               Line2D([], [], color="black", linestyle="--",
                      label="least squares, off-bound participants")]
    figure.legend(handles=handles, loc="outside lower center", ncol=4, frameon=False,
                  fontsize=8)
    title = _suptitle(figure, "Parameters of interest across models (Pearson r of the log "
                      "values on log axes; 'off bounds' leaves out participants with either "
                      "value on a bound)")
    return _fixed_layout(figure, title)


# ---------------------------------------------------------- parameter fits
def _at_bound_text(n_at_bound, n):
    return f"{n_at_bound} of {n} on a bound" if n_at_bound else f"none of {n} on a bound"


def plot_parameter_fits(estimator, tol=BOUND_TOLERANCE):
    """Fitted parameters of one model by group (parameter_fits/{model}-model-fits.png).

    Parameters
    ----------
    estimator : fitted avoidrl estimator or EmpiricalBayes
    tol : float, default=1e-6
        Bound tolerance, as a fraction of each parameter's range (see
        :func:`avoidrl.report.parameters_at_bounds`).

    Returns
    -------
    Figure
        One axis per parameter, one column of points per group (a strip
        plot: every participant a point, in natural units), and beside it the
        group mean with its 95 % t-CI (black diamond). Parameters that the
        statistics log-transform (all but novel_value, mixing_factor,
        valence_factor and weighting_factor) are drawn on a log axis, and
        their mean and CI are those of log(x) mapped back (the geometric
        mean), so the figure shows what the tests compare; when some value
        is <= 0 (a bound at 0) the axis is linear and the mean arithmetic.
        Both bounds of the fit are drawn (red dashed) and always inside the
        axis; participants on a bound (within ``tol`` of the range) are open
        red circles, estimates ``params_ci_`` calls not identified open
        orange ones. Each participant's 95 % interval (``params_ci_``: Wald
        for maximum likelihood, Laplace for empirical Bayes) is a thin
        vertical line behind its point. Each title gives how many of the n
        participants sit on a bound.
    """
    model = _model_dict(estimator)
    name, estimator = next(iter(model.items()))
    params = estimator.params_
    groups = estimator.groups_.reindex(params.index).astype(object)
    order = list(pd.unique(groups.to_numpy()))
    parameters = list(params.columns)
    intervals = getattr(estimator, "params_ci_", None)
    sides = bound_sides(estimator, tol, name)  # raises for an estimator without bounds_
    bounds = estimator.bounds_
    n_cols = min(4, len(parameters))
    n_rows = int(np.ceil(len(parameters) / n_cols))
    width = max(2.4, 0.9 * len(order) + 1.4)
    figure = _new_figure(max(6.0, width * n_cols + 0.5), 3.6 * n_rows + 0.8,
                         layout=None)  # _fixed_layout
    axes = _cells(figure, n_rows, n_cols, len(parameters))
    jitter = np.random.RandomState(0)  # one stream for every panel, in parameter order
    shown = set()
    for ax, parameter in zip(axes, parameters):
        raw = params[parameter].to_numpy(dtype=float)
        log = _log_axis(parameter, raw)
        on_bound, kinds, lower, upper = _point_kinds(sides[parameter], intervals, parameter,
                                                     params.index)
        x = _group_means(ax, raw, groups, order, log, jitter)
        shown |= _draw_participants(ax, x, raw, kinds, lower, upper)
        if log:
            _plain_log_axis(ax)
        if parameter in bounds:
            _draw_bounds(ax, *map(float, bounds[parameter]), log=log)
        ax.set_xlim(-0.6, len(order) - 0.4)
        _rotate(ax, [_wrap(g) for g in order], threshold=4)
        ax.set_title(f"{parameter.replace('_', ' ')}\n"
                     f"{_at_bound_text(int(on_bound.sum()), len(raw))}", fontsize=10)
        ax.set_ylabel(f"{parameter} (log axis)" if log else parameter, fontsize=9)
        ax.tick_params(labelsize=8)
        _despine(ax)
    _parameter_fits_legend(figure, shown)
    title = f"{name}: fitted parameters by group (n = {len(params)} participants"
    # on paper the axis labels say "(log axis)": the title stays on one line
    title = _suptitle(figure, title + (")" if _paper() else
                                       "; log axes where the statistics log-transform)"),
                      fontsize=12, wrap=False)
    return _fixed_layout(figure, title)


def _point_kinds(sides, intervals, parameter, index):
    """(on a bound, kind of point, interval lower, upper) of one parameter's estimates.

    An estimate is 'at bound' when it sits on a bound of the fit (``sides``)
    or ``params_ci_`` says so, else 'not identified' or 'interior'.
    """
    on_bound = sides.notna().to_numpy()
    if intervals is not None:
        rows = intervals.xs(parameter, level="parameter").reindex(index)
        status = rows["status"].to_numpy(dtype=object)
        lower, upper = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
    else:
        status = np.full(len(on_bound), "interior", dtype=object)
        lower = upper = np.full(len(on_bound), np.nan)
    on_bound = on_bound | np.isin(status, ("at lower bound", "at upper bound"))
    kinds = np.where(on_bound, "at bound",
                     np.where(status == "not identified", "not identified", "interior"))
    return on_bound, kinds, lower, upper


def _group_means(ax, raw, groups, order, log, jitter):
    """Draw each group's mean ± 95 % t-CI (of log(x) mapped back on a log axis).

    Returns the jittered x position of every participant's point, left of
    its group's mean.
    """
    x = np.empty(len(raw))
    for i, group in enumerate(order):
        member = (groups == group).to_numpy()
        x[member] = i - 0.08 + jitter.uniform(-0.14, 0.14, member.sum())
        v = raw[member & np.isfinite(raw)]
        centre = np.log(v) if log else v
        mean, ci = (centre.mean(), _t_ci(centre)) if len(v) else (np.nan, np.nan)
        low, high = mean - ci, mean + ci
        if log:
            mean, low, high = np.exp(mean), np.exp(low), np.exp(high)
        drawn = ax.errorbar(i + 0.3, mean, yerr=[[mean - low], [high - mean]], fmt="D",
                            color="black", markersize=6, capsize=4, linewidth=1.5,
                            zorder=4)
        drawn.lines[0].set_gid("mean")
    return x


def _draw_participants(ax, x, raw, kinds, lower, upper):
    """Draw every participant's interval and point; return the kinds of point drawn."""
    finite = np.isfinite(lower) & np.isfinite(upper)
    if finite.any():
        ax.vlines(x[finite], lower[finite], upper[finite], color="#555555", linewidth=0.8,
                  alpha=0.6, zorder=2)
    shown = set()
    for kind, (face, edge) in _POINT_STYLES.items():
        mask = (kinds == kind) & np.isfinite(raw)
        if mask.any():
            ax.scatter(x[mask], raw[mask], s=18, facecolors=face, edgecolors=edge,
                       linewidths=1.0, alpha=0.8, zorder=3, gid=_POINT_GIDS[kind])
            shown.add(kind)
    return shown


def _parameter_fits_legend(figure, shown):
    """The legend of plot_parameter_fits: the kinds of point drawn, means, intervals, bounds."""
    handles = [Line2D([], [], linestyle="none", marker="o", markerfacecolor=face,
                      markeredgecolor=edge, label=_POINT_LABELS[kind])
               for kind, (face, edge) in _POINT_STYLES.items() if kind in shown]
    handles += [Line2D([], [], color="black", marker="D", label="group mean ± 95% CI"),
                Line2D([], [], color="#555555", linewidth=0.8,
                       label="participant's 95% interval"),
                Line2D([], [], color=_BOUND_COLOR, linestyle="--", label="bounds of the fit")]
    # as many columns as fit the figure's width (one row of all was clipped on narrow figures)
    figure.legend(handles=handles, loc="outside lower center", frameon=False, fontsize=8,
                  ncol=_legend_columns(figure, [h.get_label() for h in handles], 8))
