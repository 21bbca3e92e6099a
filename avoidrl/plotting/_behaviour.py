"""Behaviour figures: posterior-predictive behaviour and the models' simulations.

Draws the tables of :mod:`avoidrl._tables.behaviour`.
"""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from .._tables import BINS, CONTEXT_ORDER, EMPIRICAL, STIMULUS_TYPES, _t_cis
from ._style import (
    _CONTEXT_COLORS, _EMPIRICAL_COLOR, _OPTION_LABELS, _OPTION_TYPES, _STIMULUS_COLORS,
    _despine, _fixed_layout, _legend_columns, _new_figure, _suptitle,
)


# ---------------------------------------------------- posterior predictive plot
def _participant_means(table, keys, value):
    """Average simulations per participant first, so each participant counts once."""
    return table.groupby(["participant", *keys], sort=False)[value].mean().reset_index()


def _summary(table, key, value, order):
    """Mean and 95 % t-CI half-width of ``value`` for each ``key`` in ``order`` (NaN if none)."""
    values = table[value].to_numpy(dtype=float)
    # one grouping instead of a filter per key (a figure has hundreds of keys); each
    # group's rows keep the table's order, so the sums are those of a filter
    where = table.groupby(key, sort=False).indices if len(table) else {}
    rows = [values[where[k]] if k in where else values[:0] for k in order]
    means = np.array([v.mean() if len(v) else np.nan for v in rows])
    return means, _t_cis(rows)


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
    figure = _new_figure(max(7.0, 4.3 * n_groups), 8.0, layout=None)  # _fixed_layout
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
        n_group = observed.loc[observed["group"] == group, "participant"].nunique()
        ax.set_title(f"{group} (n = {n_group})\nlearning phase", fontsize=11)
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
    labels += [f"transfer ({s})" for s in more_labels]
    figure.legend(handles + more_handles, labels, loc="outside lower center", frameon=False,
                  ncol=_legend_columns(figure, labels, 9), fontsize=9)
    title = _suptitle(figure, f"{model}: posterior predictive behaviour\n(lines and bars = "
                      "model, diamonds = data; mean ± 95% CI)", fontsize=12, wrap=False)
    return _fixed_layout(figure, title)


# ------------------------------------------------------ model simulations plot
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
    names, accuracy, choice, dynamics = _simulation_tables(accuracy_table, choice_table,
                                                           dynamics, group)
    observed = accuracy[accuracy["source"] == EMPIRICAL]
    obs_choice = choice[choice["source"] == EMPIRICAL]
    n_participants = observed["participant"].nunique()

    n_trials = int(dynamics["trial"].max()) if len(dynamics) else 24
    trials = np.arange(1, n_trials + 1)
    quarter = n_trials / len(BINS)
    centres = (np.arange(len(BINS)) + 0.5) * quarter + 0.5
    ticks = sorted({1, *[int(round(quarter * q)) for q in range(1, len(BINS) + 1)]})

    n = len(names)
    figure = _new_figure(max(8.0, 3.5 * n + 2.6), 13.0, layout=None)  # _fixed_layout
    axes = figure.subplots(4, n, squeeze=False, sharey="row")
    # y ranges follow the means, not the confidence bands (very wide with few participants)
    lowest, largest = 100.0, [0.0, 0.0]
    for column, name in enumerate(names):
        simulated = accuracy[(accuracy["source"] != EMPIRICAL) & (accuracy["model"] == name)]
        latent = dynamics[dynamics["model"] == name]
        lowest = np.nanmin([lowest, _accuracy_panel(axes[0, column], name, simulated, observed,
                                                    centres)])
        largest[0] = np.nanmax(np.r_[largest[0], _error_panel(axes[1, column], latent, trials)])
        largest[1] = np.nanmax(np.r_[largest[1], _value_panel(axes[2, column], latent, trials)])
        for ax in axes[:3, column]:
            ax.set_xlim(0.5, n_trials + 0.5)
            ax.set_xticks(ticks)
            ax.set_xlabel("trial within pair", fontsize=9)
        simulated = choice[(choice["source"] != EMPIRICAL) & (choice["model"] == name)]
        _choice_panel(axes[3, column], simulated, obs_choice)
        for ax in axes[:, column]:
            ax.tick_params(labelsize=8)
            _despine(ax)
    _finish_simulations(figure, axes, lowest, largest)
    title = _suptitle(
        figure, f"{group}: model simulations (n = {n_participants} participants)\n"
        "Rows 1 and 4: posterior-predictive simulations at each participant's fitted "
        "parameters against the data. Rows 2-3: each model replaying the participants' "
        "own choices and outcomes. Lines and bars: means; bands and error bars: 95% CI.",
        fontsize=11)
    return _fixed_layout(figure, title)


def _simulation_tables(accuracy_table, choice_table, dynamics, group):
    """(model names, and the group's rows of the three tables), checked."""
    names = list(pd.unique(dynamics["model"].to_numpy(dtype=object)))
    simulated_models = set(accuracy_table.loc[accuracy_table["source"] != EMPIRICAL, "model"])
    absent = [n for n in names if n not in simulated_models]
    if absent:
        raise ValueError(f"model(s) {absent} of the dynamics table have no simulations in "
                         f"the accuracy table (it holds {sorted(simulated_models)})")
    groups = list(pd.unique(accuracy_table["group"].to_numpy(dtype=object)))
    if group not in groups:
        raise ValueError(f"group {group!r} is not in the tables; they hold {groups}")
    return (names, accuracy_table[accuracy_table["group"] == group],
            choice_table[choice_table["group"] == group], dynamics[dynamics["group"] == group])


def _accuracy_panel(ax, name, simulated, observed, centres):
    """Row 1: simulated (solid) and observed (dashed) accuracy per quarter; the lowest mean."""
    lowest = 100.0
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
    return lowest


def _error_panel(ax, latent, trials):
    """Row 2: the mean prediction error per trial and context; the largest |mean|."""
    largest = 0.0
    for context in CONTEXT_ORDER:
        part = latent[latent["context"] == context].rename(columns={"trial": "x"})
        mean, _ = _band(ax, trials, part, "pe", _CONTEXT_COLORS[context], context)
        largest = np.nanmax(np.r_[largest, np.abs(mean)])
    ax.axhline(0, color="gray", linestyle="--", linewidth=0.8, alpha=0.6)
    formula = latent["pe_formula"].iloc[0] if len(latent) else ""
    ax.set_title("\n".join(textwrap.wrap(f"prediction error ({formula})", 34)),
                 fontsize=10)
    return largest


def _value_panel(ax, latent, trials):
    """Row 3: the values of options 0 and 1 of each context per trial; the largest |mean|."""
    largest = 0.0
    for context in CONTEXT_ORDER:
        part = latent[latent["context"] == context].rename(columns={"trial": "x"})
        for option, kind in enumerate(_OPTION_TYPES[context]):
            mean, _ = _band(ax, trials, part, f"value{option}", _STIMULUS_COLORS[kind],
                            _OPTION_LABELS[kind])
            largest = np.nanmax(np.r_[largest, np.abs(mean)])
    ax.axhline(0, color="gray", linestyle="--", linewidth=0.8, alpha=0.6)
    formula = latent["value_formula"].iloc[0] if len(latent) else ""
    ax.set_title(f"values ({formula})", fontsize=10)
    return largest


def _choice_panel(ax, simulated, observed):
    """Row 4: simulated transfer choice rates (bars) and the data (diamonds)."""
    stimuli = list(STIMULUS_TYPES)
    part = _participant_means(simulated, ["stimulus"], "choice_rate")
    mean, ci = _summary(part, "stimulus", "choice_rate", stimuli)
    x = np.arange(len(stimuli))
    ax.bar(x, mean, color=[_STIMULUS_COLORS[s] for s in stimuli], width=0.7)
    ax.errorbar(x, mean, yerr=ci, fmt="none", ecolor="dimgray", capsize=4)
    data_mean, data_ci = _summary(observed, "stimulus", "choice_rate", stimuli)
    ax.errorbar(x + 0.22, data_mean, yerr=data_ci, fmt="D", color=_EMPIRICAL_COLOR,
                markersize=6, capsize=3, linewidth=1)
    ax.set_xticks(x, stimuli)
    ax.set_ylim(0, 100)
    ax.set_title("transfer choice rates", fontsize=10)


def _finish_simulations(figure, axes, lowest, largest):
    """Shared y ranges, row labels and the legends of the model-simulations grid."""
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
