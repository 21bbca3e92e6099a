"""Figures of fits, posterior-predictive behaviour and recovery.

Every function returns a matplotlib Figure (nothing is shown or saved), so
notebook users can adjust and combine them. Groups come from the data
(``group_code``, in order of first appearance) and every figure works with one
model and one group.

Inside ``with headless():`` the figures are built without pyplot, on the Agg
canvas; the report writers use this so that writing files never opens a
window or changes the user's backend.
"""

from __future__ import annotations

import contextvars
import textwrap
from contextlib import contextmanager

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.ticker import FuncFormatter
from scipy import stats as _stats

from .._tables import (
    BINS, BOUND_TOLERANCE, CONTEXT_ORDER, EMPIRICAL, LAPLACE, PARAMETERS_OF_INTEREST,
    START_TOLERANCE, STIMULUS_TYPES, _bounds_of, _check_comparison, _interest_at_bound,
    _model_of, _recoveries, _recovery_models, _t_ci, bound_sides, criterion_differences,
    recovery_at_bounds,
    criterion_distributions, criterion_label, criterion_values, fit_by_starts, group_criteria,
    parameter_of_interest_correlations, parameter_of_interest_values, recovery_criterion,
)
from ..stats import _model_dict, is_log_transformed

_HEADLESS = contextvars.ContextVar("avoidrl_headless_figures", default=False)
_CONTEXT_COLORS = {"Reward": "#2f6fa8", "Loss Avoid": "#c0392b"}
_STIMULUS_COLORS = {"HR": "#2f6fa8", "LR": "#9cc7ea", "LP": "#f0a8a8", "HP": "#c0392b",
                    "N": "#bdbdbd"}
_BAR_COLOR = "#8fb05a"
_EMPIRICAL_COLOR = "#404040"


@contextmanager
def headless():
    """Build figures on the Agg canvas, without pyplot, inside this block.

    Figures made inside are not registered with pyplot: they never open a
    window, need no ``plt.close`` and leave the active backend alone.

    Examples
    --------
    >>> with headless():
    ...     figure = plot_model_comparison(models)          # doctest: +SKIP
    >>> figure.savefig("comparison.png")                    # doctest: +SKIP
    """
    token = _HEADLESS.set(True)
    try:
        yield
    finally:
        _HEADLESS.reset(token)


def _new_figure(width, height):
    if _HEADLESS.get():
        figure = Figure(figsize=(width, height), layout="constrained")
        FigureCanvasAgg(figure)
        return figure
    from matplotlib import pyplot as plt

    return plt.figure(figsize=(width, height), layout="constrained")


def _wrap(label, width=12):
    return textwrap.fill(str(label), width)


def _rotate(ax, labels, *, threshold=2):
    """x tick labels that do not overlap: rotated 45 degrees when many or long."""
    positions = np.arange(len(labels))
    labels = [str(s) for s in labels]
    longest = max((len(line) for s in labels for line in s.split("\n")), default=0)
    if len(labels) > threshold or longest > 12:
        ax.set_xticks(positions, labels, rotation=45, ha="right", rotation_mode="anchor")
    else:
        ax.set_xticks(positions, labels)


def _despine(ax):
    ax.spines[["top", "right"]].set_visible(False)


# ------------------------------------------------------------ model comparison
def plot_model_comparison(models, criterion="bic"):
    """Compare models by AIC or BIC (the reference's ``*_model_comparisons.png``).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
        Models fitted to the same participants.
    criterion : {'bic', 'aic', 'laplace'}
        'laplace': empirical-Bayes fits by -2 x their Laplace log evidence.

    Returns
    -------
    Figure
        Two axes. A: each model's mean criterion over all participants as a
        point with its 95 % t-CI (points, not bars: the axis does not start
        at zero), the best (lowest mean) filled black and its mean dotted
        across the panel. B: bars from zero of the mean and 95 % t-CI of each
        other model's per-participant difference from the best model (a note
        instead when there is only one model). The number of participants is
        in the titles.
    """
    label = criterion_label(criterion)
    means = group_criteria(models, criterion)
    names = [c for c in means.columns if c != "best_model"]
    full = means.loc["full", names].astype(float)
    best = means.loc["full", "best_model"]
    differences = criterion_differences(models, criterion)
    values = {name: criterion_values(estimator, criterion, name).to_numpy(dtype=float)
              for name, estimator in _model_dict(models).items()}
    n_participants = len(next(iter(values.values())))
    cis = np.array([_t_ci(values[name]) for name in names])

    n = len(names)
    figure = _new_figure(max(8.0, 1.6 * n + 4.0), 4.8)
    ax_a, ax_b = figure.subplots(1, 2)
    x = np.arange(n)
    is_best = np.array([name == best for name in names])
    for mask, face in ((~is_best, "white"), (is_best, "black")):
        if mask.any():
            drawn = ax_a.errorbar(x[mask], full.to_numpy()[mask], yerr=cis[mask], fmt="o",
                                  markersize=8, markerfacecolor=face, markeredgecolor="black",
                                  ecolor="dimgray", capsize=5, linewidth=1.5)
            drawn.lines[0].set_gid("best" if face == "black" else "mean")
    ax_a.axhline(full[best], color="black", linestyle=":", linewidth=0.8, alpha=0.6)
    for i, value in enumerate(full):
        ax_a.annotate(f"{value:.1f}", (i, value), xytext=(9, 0), textcoords="offset points",
                      va="center", fontsize=8, color="dimgray")
    ax_a.set_xlim(-0.6, n - 0.4)
    _rotate(ax_a, names, threshold=1)
    ax_a.set_ylabel(f"mean {label} (95% CI)")
    ax_a.set_title(f"{textwrap.fill(f'A. Mean {label} (n = {n_participants} participants)', 40)}"
                   "\n(lowest = best, filled; the axis does not start at 0)", loc="left",
                   fontsize=11)

    if len(differences):
        xb = np.arange(len(differences))
        ax_b.bar(xb, differences["mean"].to_numpy(), color=_BAR_COLOR, width=0.7)
        ax_b.errorbar(xb, differences["mean"].to_numpy(), yerr=differences["ci"].to_numpy(),
                      fmt="none", ecolor="dimgray", capsize=5, linewidth=1.5)
        ax_b.axhline(0, color="darkgray", linestyle="--", linewidth=1)
        _rotate(ax_b, differences["model"].tolist(), threshold=1)
        ax_b.set_ylabel(f"{label} difference from {best}")
    else:
        ax_b.text(0.5, 0.5, f"Only one model ({best}):\nno differences to show",
                  ha="center", va="center", transform=ax_b.transAxes, color="dimgray")
        ax_b.set_xticks([])
        ax_b.set_yticks([])
    ax_b.set_title("B. Difference from the best model\n(paired, mean ± 95% CI; bars from 0)",
                   loc="left", fontsize=11)
    for ax in (ax_a, ax_b):
        _despine(ax)
    return figure


def plot_bms(bms):
    """Random-effects Bayesian model selection (BMS_model_comparison.png).

    Parameters
    ----------
    bms : DataFrame
        The table of :func:`avoidrl.report.bms_results` (or the result of
        :func:`avoidrl.model_selection.random_effects_bms`, whose frequency
        intervals are then computed here).

    Returns
    -------
    Figure
        Two axes, bars from zero. A: each model's expected frequency in the
        population, ``alpha_k / sum(alpha)``, with the 95 % interval of its
        marginal posterior ``Beta(alpha_k, sum(alpha) - alpha_k)``; dashed =
        equal frequencies (1/K). B: the protected exceedance probability
        (bars) and the exceedance probability (diamonds). The title gives the
        evidence used, the number of participants and the Bayesian omnibus
        risk (BOR).
    """
    table = bms.reset_index() if "model" not in bms.columns else bms.reset_index(drop=True)
    names = table["model"].astype(str).tolist()
    alpha = table["alpha"].to_numpy(dtype=float)
    frequency = table["expected_frequency"].to_numpy(dtype=float)
    if "frequency_lower" in table.columns:
        lower = table["frequency_lower"].to_numpy(dtype=float)
        upper = table["frequency_upper"].to_numpy(dtype=float)
    else:
        lower = _stats.beta.ppf(0.025, alpha, alpha.sum() - alpha)
        upper = _stats.beta.ppf(0.975, alpha, alpha.sum() - alpha)
    bor = float(table["bor"].iloc[0]) if "bor" in table.columns else bms.attrs.get("bor")
    if "n_participants" in table.columns:
        n = int(table["n_participants"].iloc[0])
    else:
        assignment = bms.attrs.get("posterior_assignment")
        n = None if assignment is None else len(assignment)
    evidence = table["evidence"].iloc[0] if "evidence" in table.columns else None

    k = len(names)
    x = np.arange(k)
    figure = _new_figure(max(8.0, 1.6 * k + 4.0), 4.8)
    ax_a, ax_b = figure.subplots(1, 2)
    ax_a.bar(x, frequency, color=_BAR_COLOR, width=0.7)
    ax_a.errorbar(x, frequency, yerr=[frequency - lower, upper - frequency], fmt="none",
                  ecolor="dimgray", capsize=5, linewidth=1.5)
    ax_a.axhline(1.0 / k, color="darkgray", linestyle="--", linewidth=1)
    ax_a.set_ylim(0, 1)
    ax_a.set_ylabel("expected frequency")
    ax_a.set_title("A. Model frequency in the population\n(posterior mean ± 95% interval; "
                   "dashed = 1/K)", loc="left", fontsize=11)
    pxp = table["protected_exceedance_probability"].to_numpy(dtype=float)
    xp = table["exceedance_probability"].to_numpy(dtype=float)
    ax_b.bar(x, pxp, color="#2f6fa8", width=0.7, label="protected exceedance probability")
    ax_b.scatter(x, xp, marker="D", s=40, color="white", edgecolor="black", zorder=3,
                 label="exceedance probability")
    # a little headroom so a probability of 1 stays visible; the bars still start at zero
    ax_b.set_ylim(0, 1.05)
    ax_b.set_yticks(np.linspace(0, 1, 6))
    ax_b.set_ylabel("probability")
    ax_b.set_title("B. Exceedance probability\n(bars: protected, diamonds: not protected)",
                   loc="left", fontsize=11)
    for ax in (ax_a, ax_b):
        _rotate(ax, names, threshold=1)
        _despine(ax)
    figure.legend(loc="outside lower center", ncol=2, frameon=False, fontsize=8)
    parts = [f"evidence: {evidence}" if evidence is not None else None,
             f"n = {n} participants" if n is not None else None,
             f"BOR = {_number(bor, '.3f')}" if bor is not None else None]
    _suptitle(figure, "Random-effects Bayesian model selection\n"
              + "; ".join(p for p in parts if p))
    return figure


# ------------------------------------------------------------ fit diagnostics
def _grid(figure_width_per_axis, height_per_axis, n, max_columns=4):
    n_cols = max(1, min(max_columns, n))
    n_rows = int(np.ceil(n / n_cols))
    figure = _new_figure(max(6.0, figure_width_per_axis * n_cols + 0.5),
                         height_per_axis * n_rows + 0.9)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.remove()
    return figure, axes[:n]


def _suptitle(figure, text, fontsize=11):
    """A figure title wrapped to the figure's width (each line break in text is kept)."""
    width = int(figure.get_figwidth() * 120 / fontsize)
    lines = [textwrap.fill(line, max(width, 30)) for line in text.split("\n")]
    figure.suptitle("\n".join(lines), fontsize=fontsize)


def _number(value, fmt=".2f"):
    return "n/a" if value is None or not np.isfinite(value) else format(value, fmt)


def plot_fit_distributions(models, criterion="bic"):
    """Distribution of the participants' BIC (or AIC) per model (model_fits_distributions.png).

    Parameters
    ----------
    models : dict {name: fitted estimator}, list of fitted estimators, or one
    criterion : {'bic', 'aic', 'laplace'}
        'laplace': -2 x the Laplace log evidence of empirical-Bayes fits.

    Returns
    -------
    Figure
        One axis per model: a density histogram of the participants' values
        (each BIC with the participant's own trial count, not the reference's
        n = 480), the normal curve with the same mean and sd, the mean as a
        dashed line, and skewness and kurtosis (see
        :func:`avoidrl.report.criterion_distributions`) in the title.
    """
    key = _check_comparison(criterion)
    label = criterion_label(key)
    summary = criterion_distributions(models, key)
    models = _model_dict(models)
    figure, axes = _grid(3.6, 3.2, len(models))
    for ax, (name, estimator) in zip(axes, models.items()):
        values = pd.Series(criterion_values(estimator, key, name), dtype=float).dropna() \
            .to_numpy()
        row = summary.loc[name]
        bins = int(np.clip(np.ceil(np.log2(max(len(values), 1))) + 1, 1, 10))
        ax.hist(values, bins=bins, density=True, color=_BAR_COLOR, alpha=0.55,
                edgecolor="white")
        mean, sd = row["mean"], row["sd"]
        if np.isfinite(sd) and sd > 0:
            x = np.linspace(min(values.min(), mean - 3 * sd), max(values.max(), mean + 3 * sd),
                            200)
            ax.plot(x, np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * np.sqrt(2 * np.pi)),
                    color="#3f6e1f", linewidth=2)
        if np.isfinite(mean):
            ax.axvline(mean, color="#3f6e1f", linestyle="--", linewidth=1)
        ax.set_title(f"{name}\nskewness {_number(row['skewness'])}, "
                     f"kurtosis {_number(row['kurtosis'])}", fontsize=10)
        ax.set_xlabel(f"{label} (n = {int(row['n'])} participants)", fontsize=9)
        ax.set_ylabel("density", fontsize=9)
        ax.tick_params(labelsize=8)
        _despine(ax)
    what = {"bic": "k ln(n) + 2 NLL, n = the participant's own trial count",
            "aic": "2k + 2 NLL",
            LAPLACE: "-2 x the Laplace log evidence under the fitted population prior"}[key]
    _suptitle(figure, f"Distribution of the participants' {label} ({what})\ncurve = normal "
              "with the same mean and sd, dashed = mean; kurtosis = excess kurtosis")
    return figure


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
    figure, axes = _grid(3.8, 3.2, len(names))
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
    _suptitle(figure, f"Fit by number of starts (mean over participants; dashed = every "
              f"participant within {tol:g} NLL of its best)")
    return figure


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
    figure, axes = _grid(3.7, 4.0, len(correlations))
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
            bound = (_bounds_of(models[model]) or {}).get(parameter)
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
    _suptitle(figure, "Parameters of interest across models (Pearson r of the log values on "
              "log axes; 'off bounds' leaves out participants with either value on a bound)")
    return figure


# ---------------------------------------------------- posterior predictive plot
def _participant_means(table, keys, value):
    """Average simulations per participant first, so each participant counts once."""
    return table.groupby(["participant", *keys], sort=False)[value].mean().reset_index()


def _summary(table, key, value, order):
    rows = {k: table.loc[table[key] == k, value].to_numpy(dtype=float) for k in order}
    means = np.array([v.mean() if len(v) else np.nan for v in rows.values()])
    cis = np.array([_t_ci(v) for v in rows.values()])
    return means, cis


def plot_model_behaviour(accuracy_table, choice_table, model):
    """Posterior-predictive behaviour of one model against the data, per group.

    Parameters
    ----------
    accuracy_table, choice_table : DataFrame
        The tables of :func:`avoidrl.report.posterior_predictive`.
    model : str
        Which model's simulations to show.

    Returns
    -------
    Figure
        2 x n_groups axes. Top: learning accuracy per trial bin, one line per
        context (model mean ± 95 % t-CI band over participants) with the data
        as diamonds. Bottom: transfer choice rate per stimulus type (model bars
        ± 95 % CI) with the data as diamonds ± 95 % CI.
    """
    available = sorted(set(accuracy_table.loc[accuracy_table["source"] != EMPIRICAL, "model"]))
    if model not in available:
        raise ValueError(f"model {model!r} is not in the tables; they hold {available}")
    groups = list(pd.unique(accuracy_table["group"].to_numpy(dtype=object)))
    simulated = accuracy_table[(accuracy_table["source"] != EMPIRICAL)
                               & (accuracy_table["model"] == model)]
    observed = accuracy_table[accuracy_table["source"] == EMPIRICAL]
    sim_choice = choice_table[(choice_table["source"] != EMPIRICAL)
                              & (choice_table["model"] == model)]
    obs_choice = choice_table[choice_table["source"] == EMPIRICAL]

    n_groups = len(groups)
    figure = _new_figure(max(7.0, 4.3 * n_groups), 8.0)
    axes = figure.subplots(2, n_groups, squeeze=False)
    stimuli = list(STIMULUS_TYPES)
    x_bins = np.arange(len(BINS))
    lowest = 100.0
    for column, group in enumerate(groups):
        ax = axes[0, column]
        for context in CONTEXT_ORDER:
            color = _CONTEXT_COLORS[context]
            part = simulated[(simulated["group"] == group) & (simulated["context"] == context)]
            part = _participant_means(part, ["bin"], "accuracy")
            mean, ci = _summary(part, "bin", "accuracy", BINS)
            ax.plot(x_bins, mean, color=color, linewidth=2, marker="o", markersize=4,
                    label=f"{context} (model)")
            ax.fill_between(x_bins, mean - ci, mean + ci, color=color, alpha=0.15, linewidth=0)
            data = observed[(observed["group"] == group) & (observed["context"] == context)]
            data_mean, _ = _summary(data, "bin", "accuracy", BINS)
            ax.scatter(x_bins, data_mean, marker="D", s=45, color=color, edgecolor="black",
                       linewidth=0.8, zorder=3, label=f"{context} (data)")
            lowest = np.nanmin([lowest, np.nanmin(np.r_[mean - ci, data_mean, 100.0])])
        ax.set_xticks(x_bins, BINS, rotation=30, ha="right", rotation_mode="anchor")
        ax.set_title(f"{group}\nlearning phase", fontsize=11)
        ax.set_ylabel("accuracy (% better option)")
        ax.axhline(50, color="lightgray", linestyle=":", linewidth=1)

        ax = axes[1, column]
        part = _participant_means(sim_choice[sim_choice["group"] == group], ["stimulus"],
                                  "choice_rate")
        mean, ci = _summary(part, "stimulus", "choice_rate", stimuli)
        x = np.arange(len(stimuli))
        ax.bar(x, mean, color=[_STIMULUS_COLORS[s] for s in stimuli], width=0.7,
               label="model")
        ax.errorbar(x, mean, yerr=ci, fmt="none", ecolor="dimgray", capsize=4)
        data = obs_choice[obs_choice["group"] == group]
        data_mean, data_ci = _summary(data, "stimulus", "choice_rate", stimuli)
        ax.errorbar(x + 0.22, data_mean, yerr=data_ci, fmt="D", color=_EMPIRICAL_COLOR,
                    markersize=6, capsize=3, linewidth=1, label="data")
        ax.set_xticks(x, stimuli)
        ax.set_xlabel("HR/LR: high/low reward, LP/HP: low/high punishment, N: novel",
                      fontsize=8)
        ax.set_ylim(0, 100)
        ax.set_ylabel("choice rate (%)")
        ax.set_title("transfer phase", fontsize=11)
    floor = max(0.0, min(40.0, 10 * np.floor(lowest / 10)))
    for ax in axes[0]:
        ax.set_ylim(floor, 102)
    for ax in axes.ravel():
        _despine(ax)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    more_handles, more_labels = axes[1, 0].get_legend_handles_labels()
    figure.legend(handles + more_handles, labels + [f"transfer ({s})" for s in more_labels],
                  loc="outside lower center", ncol=3 if n_groups == 1 else 6, fontsize=9,
                  frameon=False)
    figure.suptitle(f"{model}: posterior predictive behaviour\n(lines and bars = model, "
                    "diamonds = data; mean ± 95% CI)", fontsize=12)
    return figure


# ------------------------------------------------------ model simulations plot
#: Option 0 / option 1 of each context, labelled by the transfer stimulus types.
_OPTION_TYPES = {"Reward": ("HR", "LR"), "Loss Avoid": ("LP", "HP")}
_OPTION_LABELS = {"HR": "HR (A/C, option 0)", "LR": "LR (B/D, option 1)",
                  "LP": "LP (E/G, option 0)", "HP": "HP (F/H, option 1)"}


def _band(ax, x, table, value, color, label, *, linestyle="-", marker=None):
    """Mean over participants by x with its 95 % t-CI band; returns the means."""
    mean, ci = _summary(table, "x", value, x)
    ax.fill_between(x, mean - ci, mean + ci, color=color, alpha=0.13, linewidth=0)
    ax.plot(x, mean, color=color, linewidth=1.8, linestyle=linestyle, marker=marker,
            markersize=4, label=label)
    return mean, ci


def plot_model_simulations(accuracy_table, choice_table, dynamics, group):
    """Every model's simulations and latent dynamics for one group ({group}_model_simulations.png).

    Parameters
    ----------
    accuracy_table, choice_table : DataFrame
        The tables of :func:`avoidrl.report.posterior_predictive`.
    dynamics : DataFrame
        The table of :func:`avoidrl.report.learning_dynamics` (its models
        give the columns, in its order).
    group : object
        The group_code to show.

    Returns
    -------
    Figure
        A 4 x n_models grid, one column per model, bands = 95 % t-CI over
        the group's participants (each participant's simulations averaged
        first):

        1. learning accuracy (% choices of the better option) per context:
           the model's posterior-predictive simulations (solid) and the data
           (dashed), per quarter of each pair's trials (1-6, 7-12, 13-18,
           19-24 of 24), drawn at the quarter's middle trial;
        2. the mean prediction error of both options per trial within pair
           and context, from the model replaying the participants' own
           choices at their fitted parameters (critic ``r - V`` for
           ActorCritic and hybrids; the formula is in the axis title);
        3. the values of option 0 and option 1 of each context before each
           trial's update (Q, W, or ``(1 - m) W + m Q`` for hybrids), labelled
           HR/LR (Reward) and LP/HP (Loss Avoid);
        4. transfer choice rates (HR = A/C, LR = B/D, LP = E/G, HP = F/H, N)
           of the simulations (bars) and the data (diamonds).
    """
    names = list(pd.unique(dynamics["model"].to_numpy(dtype=object)))
    simulated_models = set(accuracy_table.loc[accuracy_table["source"] != EMPIRICAL, "model"])
    absent = [n for n in names if n not in simulated_models]
    if absent:
        raise ValueError(f"model(s) {absent} of the dynamics table have no simulations in "
                         f"the accuracy table (it holds {sorted(simulated_models)})")
    groups = list(pd.unique(accuracy_table["group"].to_numpy(dtype=object)))
    if group not in groups:
        raise ValueError(f"group {group!r} is not in the tables; they hold {groups}")
    accuracy = accuracy_table[accuracy_table["group"] == group]
    choice = choice_table[choice_table["group"] == group]
    dynamics = dynamics[dynamics["group"] == group]
    observed = accuracy[accuracy["source"] == EMPIRICAL]
    obs_choice = choice[choice["source"] == EMPIRICAL]
    n_participants = observed["participant"].nunique()

    n_trials = int(dynamics["trial"].max()) if len(dynamics) else 24
    trials = np.arange(1, n_trials + 1)
    quarter = n_trials / len(BINS)
    centres = (np.arange(len(BINS)) + 0.5) * quarter + 0.5
    ticks = sorted({1, *[int(round(quarter * q)) for q in range(1, len(BINS) + 1)]})
    stimuli = list(STIMULUS_TYPES)

    n = len(names)
    figure = _new_figure(max(8.0, 3.5 * n + 2.6), 13.0)
    axes = figure.subplots(4, n, squeeze=False, sharey="row")
    # y ranges follow the means, not the confidence bands (very wide with few participants)
    lowest, largest = 100.0, [0.0, 0.0]
    for column, name in enumerate(names):
        simulated = accuracy[(accuracy["source"] != EMPIRICAL) & (accuracy["model"] == name)]
        latent = dynamics[dynamics["model"] == name]

        ax = axes[0, column]
        for context in CONTEXT_ORDER:
            color = _CONTEXT_COLORS[context]
            part = _participant_means(simulated[simulated["context"] == context], ["bin"],
                                      "accuracy")
            part["x"] = part["bin"].map(dict(zip(BINS, centres)))
            mean, ci = _band(ax, centres, part, "accuracy", color, f"{context}: model",
                             marker="o")
            data = observed[observed["context"] == context]
            data = data.assign(x=data["bin"].map(dict(zip(BINS, centres))))
            data_mean, _ = _summary(data, "x", "accuracy", centres)
            ax.plot(centres, data_mean, color=color, linestyle="--", linewidth=1.5,
                    marker="D", markersize=5, markerfacecolor="white",
                    label=f"{context}: data")
            lowest = np.nanmin([lowest, np.nanmin(np.r_[mean, data_mean, 100.0])])
        ax.axhline(50, color="lightgray", linestyle=":", linewidth=1)
        ax.set_title(f"{name}\nlearning accuracy (per quarter of trials)", fontsize=10)

        ax = axes[1, column]
        for context in CONTEXT_ORDER:
            part = latent[latent["context"] == context].rename(columns={"trial": "x"})
            mean, _ = _band(ax, trials, part, "pe", _CONTEXT_COLORS[context], context)
            largest[0] = np.nanmax(np.r_[largest[0], np.abs(mean)])
        ax.axhline(0, color="gray", linestyle="--", linewidth=0.8, alpha=0.6)
        formula = latent["pe_formula"].iloc[0] if len(latent) else ""
        ax.set_title("\n".join(textwrap.wrap(f"prediction error ({formula})", 34)),
                     fontsize=10)

        ax = axes[2, column]
        for context in CONTEXT_ORDER:
            part = latent[latent["context"] == context].rename(columns={"trial": "x"})
            for option, kind in enumerate(_OPTION_TYPES[context]):
                mean, _ = _band(ax, trials, part, f"value{option}", _STIMULUS_COLORS[kind],
                                _OPTION_LABELS[kind])
                largest[1] = np.nanmax(np.r_[largest[1], np.abs(mean)])
        ax.axhline(0, color="gray", linestyle="--", linewidth=0.8, alpha=0.6)
        formula = latent["value_formula"].iloc[0] if len(latent) else ""
        ax.set_title(f"values ({formula})", fontsize=10)

        for ax in axes[:3, column]:
            ax.set_xlim(0.5, n_trials + 0.5)
            ax.set_xticks(ticks)
            ax.set_xlabel("trial within pair", fontsize=9)

        ax = axes[3, column]
        part = _participant_means(choice[(choice["source"] != EMPIRICAL)
                                         & (choice["model"] == name)], ["stimulus"],
                                  "choice_rate")
        mean, ci = _summary(part, "stimulus", "choice_rate", stimuli)
        x = np.arange(len(stimuli))
        ax.bar(x, mean, color=[_STIMULUS_COLORS[s] for s in stimuli], width=0.7)
        ax.errorbar(x, mean, yerr=ci, fmt="none", ecolor="dimgray", capsize=4)
        data_mean, data_ci = _summary(obs_choice, "stimulus", "choice_rate", stimuli)
        ax.errorbar(x + 0.22, data_mean, yerr=data_ci, fmt="D", color=_EMPIRICAL_COLOR,
                    markersize=6, capsize=3, linewidth=1)
        ax.set_xticks(x, stimuli)
        ax.set_ylim(0, 100)
        ax.set_title("transfer choice rates", fontsize=10)
        for ax in axes[:, column]:
            ax.tick_params(labelsize=8)
            _despine(ax)

    floor = max(0.0, min(40.0, 10 * np.floor((lowest - 5) / 10)))
    axes[0, 0].set_ylim(floor, 102)
    for row, extent in zip((1, 2), largest):
        limit = max(1.0, 1.15 * extent)  # values and mean errors mostly lie within [-1, 1]
        axes[row, 0].set_ylim(-limit, limit)
    for row, label in enumerate(("accuracy (% better option)",
                                 "prediction error\n(mean of both options)",
                                 "value before the update", "choice rate (%)")):
        axes[row, 0].set_ylabel(label, fontsize=9)
    for row in range(3):
        axes[row, -1].legend(loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False,
                             fontsize=8)
    # the bars have one colour per stimulus type: a neutral patch stands for all of them
    axes[3, -1].legend([Patch(facecolor="#bdbdbd", edgecolor="dimgray"),
                        axes[3, -1].containers[-1]],
                       ["model (bars ± 95% CI)", "data (diamonds ± 95% CI)"],
                       loc="center left", bbox_to_anchor=(1.02, 0.5), frameon=False,
                       fontsize=8)
    _suptitle(figure, f"{group}: model simulations (n = {n_participants} participants)\n"
              "Rows 1 and 4: posterior-predictive simulations at each participant's fitted "
              "parameters against the data. Rows 2-3: each model replaying the participants' "
              "own choices and outcomes. Lines and bars: means; bands and error bars: 95% CI.",
              fontsize=11)
    return figure


# ---------------------------------------------------------- parameter fits
_BOUND_COLOR = "#c0392b"
_PARTICIPANT_COLOR = "#2f6fa8"


def _log_axis(parameter, values):
    """Whether a parameter is drawn on a log axis: log-transformed and every value > 0."""
    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    return is_log_transformed(parameter) and len(values) > 0 and bool((values > 0).all())


def _draw_bounds(ax, low, high, *, axis="y", log=False):
    """Dashed lines at a parameter's bounds (a bound <= 0 has no place on a log axis)."""
    drawn = False
    for bound in (low, high):
        if np.isfinite(bound) and (bound > 0 or not log):
            line = ax.axhline(bound) if axis == "y" else ax.axvline(bound)
            line.set(color=_BOUND_COLOR, linestyle="--", linewidth=0.9, alpha=0.8, gid="bound")
            drawn = True
    return drawn


def _plain_log_axis(ax, axis="y"):
    """A log scale labelled with plain numbers (0.01, 0.1, 1), not powers of ten."""
    (ax.set_yscale if axis == "y" else ax.set_xscale)("log")
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))


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
    bounds = _bounds_of(estimator) or {}
    sides = bound_sides(estimator, tol, name)
    n_cols = min(4, len(parameters))
    n_rows = int(np.ceil(len(parameters) / n_cols))
    width = max(2.4, 0.9 * len(order) + 1.4)
    figure = _new_figure(max(6.0, width * n_cols + 0.5), 3.6 * n_rows + 0.8)
    axes = figure.subplots(n_rows, n_cols, squeeze=False).ravel()
    jitter = np.random.RandomState(0)
    labels = [_wrap(g) for g in order]
    shown = set()
    for ax, parameter in zip(axes, parameters):
        raw = params[parameter].to_numpy(dtype=float)
        log = _log_axis(parameter, raw)
        on_bound = sides[parameter].notna().to_numpy()
        if intervals is not None:
            rows = intervals.xs(parameter, level="parameter").reindex(params.index)
            status = rows["status"].to_numpy(dtype=object)
            lower, upper = rows["lower"].to_numpy(float), rows["upper"].to_numpy(float)
        else:
            status = np.full(len(raw), "interior", dtype=object)
            lower = upper = np.full(len(raw), np.nan)
        on_bound = on_bound | np.isin(status, ("at lower bound", "at upper bound"))
        kinds = np.where(on_bound, "at bound",
                         np.where(status == "not identified", "not identified", "interior"))
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
        finite = np.isfinite(lower) & np.isfinite(upper)
        if finite.any():
            ax.vlines(x[finite], lower[finite], upper[finite], color="#555555", linewidth=0.8,
                      alpha=0.6, zorder=2)
        for kind, (face, edge) in _POINT_STYLES.items():
            mask = (kinds == kind) & np.isfinite(raw)
            if mask.any():
                ax.scatter(x[mask], raw[mask], s=18, facecolors=face, edgecolors=edge,
                           linewidths=1.0, alpha=0.8, zorder=3, gid=_POINT_GIDS[kind])
                shown.add(kind)
        if log:
            _plain_log_axis(ax)
        if parameter in bounds:
            _draw_bounds(ax, *map(float, bounds[parameter]), log=log)
        ax.set_xlim(-0.6, len(order) - 0.4)
        _rotate(ax, labels, threshold=4)
        ax.set_title(f"{parameter.replace('_', ' ')}\n"
                     f"{_at_bound_text(int(on_bound.sum()), len(raw))}", fontsize=10)
        ax.set_ylabel(f"{parameter} (log axis)" if log else parameter, fontsize=9)
        ax.tick_params(labelsize=8)
        _despine(ax)
    for ax in axes[len(parameters):]:
        ax.remove()
    handles = [Line2D([], [], linestyle="none", marker="o", markerfacecolor=face,
                      markeredgecolor=edge, label=_POINT_LABELS[kind])
               for kind, (face, edge) in _POINT_STYLES.items() if kind in shown]
    handles += [Line2D([], [], color="black", marker="D", label="group mean ± 95% CI"),
                Line2D([], [], color="#555555", linewidth=0.8,
                       label="participant's 95% interval"),
                Line2D([], [], color=_BOUND_COLOR, linestyle="--", label="bounds of the fit")]
    figure.legend(handles=handles, loc="outside lower center", ncol=len(handles),
                  frameon=False, fontsize=8)
    figure.suptitle(f"{name}: fitted parameters by group (n = {len(params)} participants; "
                    "log axes where the statistics log-transform)", fontsize=12)
    return figure


#: How the participants' points are drawn: (face, edge), legend label, gid.
_POINT_STYLES = {"interior": (_PARTICIPANT_COLOR, _PARTICIPANT_COLOR),
                 "at bound": ("white", _BOUND_COLOR),
                 "not identified": ("white", "#e08a00")}
_POINT_LABELS = {"interior": "participant", "at bound": "participant on a bound",
                 "not identified": "not identified (no interval)"}
_POINT_GIDS = {"interior": "participants", "at bound": "at_bound",
               "not identified": "not_identified"}


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
        bounds = _model_of(recovery.estimator)._fit_settings()["bounds"]
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
