"""Figures of full-Bayes fits: group differences, and trace and rank plots of the chains.

Draws the tables of :mod:`avoidrl._tables.posterior` and the draws of a
:class:`~avoidrl.hierarchical.HierarchicalBayes` fit, in the project's style
(:mod:`avoidrl.plotting._style`), without ArviZ's plotting (so no extra
plotting dependency and the same look as every other figure).
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from .._tables.posterior import posterior_group_differences
from ._style import _despine, _new_figure, _suptitle

#: Colours of the chains (cycled beyond four).
_CHAIN_COLORS = ("#2f6fa8", "#c0392b", "#3f6e1f", "#e08a00", "#7b4fa0", "#404040")
#: Bins of a rank histogram.
_RANK_BINS = 20


def plot_group_differences(models):
    """Posterior group differences per model and parameter (a forest plot).

    Parameters
    ----------
    models : dict {name: fitted HierarchicalBayes}, list of them, or one

    Returns
    -------
    Figure
        One panel per model: for each parameter and pair of groups, the
        posterior mean of the difference ``a - b`` (natural units) with its
        95 % credible interval, the probability of direction beside it, zero
        dashed. Filled points: the difference of the groups' population
        medians (``prior='group'``); open points: of the groups' mean
        parameter over their participants. A note instead with one group.
    """
    table = posterior_group_differences(models)
    names = list(dict.fromkeys(table["model"])) if len(table) else []
    rows = max((int((table["model"] == n).sum()) for n in names), default=1)
    figure = _new_figure(8.0, max(2.5, 0.32 * rows + 1.6) * max(len(names), 1))
    if not names:
        ax = figure.subplots()
        ax.axis("off")
        ax.text(0.5, 0.5, "one group: no group differences", ha="center", va="center")
        return figure
    axes = np.atleast_1d(figure.subplots(len(names), 1, squeeze=False).ravel())
    for ax, name in zip(axes, names):
        part = table[table["model"] == name].reset_index(drop=True)
        y = np.arange(len(part))[::-1]
        population = (part["quantity"] == "population").to_numpy()
        ax.hlines(y, part["lower"], part["upper"], color="dimgray", linewidth=1.5)
        for mask, face, gid in ((population, "black", "population"),
                                (~population, "white", "sample")):
            if mask.any():
                ax.plot(part["mean"][mask], y[mask], "o", markerfacecolor=face,
                        markeredgecolor="black", markersize=6, linestyle="none", gid=gid)
        ax.axvline(0.0, color="black", linestyle="--", linewidth=0.8, alpha=0.7)
        labels = [f"{r.parameter}: {r.group_a} - {r.group_b}"
                  + (" (pop.)" if r.quantity == "population" else "")
                  for r in part.itertuples()]
        ax.set_yticks(y, labels, fontsize=8)
        for yi, row in zip(y, part.itertuples()):
            ax.annotate(f"pd {row.p_direction:.2f}", (row.upper, yi), xytext=(4, 0),
                        textcoords="offset points", va="center", fontsize=7, color="dimgray")
        ax.set_xlabel("difference a - b (natural units), posterior mean and 95 % CrI",
                      fontsize=9)
        n = int(part["n_a"].iloc[0] + part["n_b"].iloc[0]) if len(part) else 0
        ax.set_title(f"{name} (first pair n = {n} participants)", loc="left", fontsize=10)
        _despine(ax)
    _suptitle(figure, "Posterior group differences\nfilled = population medians "
              "(prior='group'), open = the groups' mean parameter over their participants; "
              "pd = probability of direction")
    return figure


def _rank_histogram(ax, draws):
    """Histograms (steps) of each chain's ranks among all chains' draws (flat when mixed)."""
    chains, n = draws.shape
    ranks = rankdata(draws.ravel()).reshape(chains, n)
    bins = min(_RANK_BINS, max(n // 5, 2))  # about 5 draws per bin at least
    edges = np.linspace(0.5, chains * n + 0.5, bins + 1)
    for c in range(chains):
        counts, _ = np.histogram(ranks[c], edges)
        ax.stairs(counts, edges, color=_CHAIN_COLORS[c % len(_CHAIN_COLORS)], linewidth=1.2)
    ax.set_ylim(bottom=0)
    ax.axhline(n / bins, color="black", linestyle="--", linewidth=0.8)
    ax.set_yticks([])
    _despine(ax)


def plot_trace_rank(fit, name=None):
    """Trace and rank plots of one full-Bayes fit's chains, one row per parameter.

    Parameters
    ----------
    fit : fitted HierarchicalBayes
    name : str, optional
        The model's name in the title (default: the fit's ``model_name``).

    Returns
    -------
    Figure
        Per parameter (rows): (A) the population mean ``mu`` (z, the first
        group's with ``prior='group'``) along each chain; ranks of each chain's
        draws among all chains' (dashed: the uniform count) of (B) ``mu``,
        (C) the population sd ``sigma`` and (D) the participant whose R-hat
        is highest for that parameter (named, with its R-hat). Chains that
        mix have overlapping traces and flat rank histograms.
    """
    name = fit.model_name if name is None else name
    parameters = list(fit.params_.columns)
    figure = _new_figure(12.0, 1.7 * len(parameters) + 1.2)
    axes = figure.subplots(len(parameters), 4, squeeze=False)
    mu, sigma = fit.mu_draws_[:, :, 0], fit.sigma_draws_
    group = fit.group_names_[0]
    for j, parameter in enumerate(parameters):
        trace, *ranks = axes[j]
        for c in range(mu.shape[0]):
            trace.plot(mu[c, :, j], color=_CHAIN_COLORS[c % len(_CHAIN_COLORS)],
                       linewidth=0.6, alpha=0.8)
        trace.set_ylabel(parameter, fontsize=8)
        _despine(trace)
        worst = fit.rhat_[parameter].idxmax()
        where = fit.params_.index.get_loc(worst)
        _rank_histogram(ranks[0], mu[:, :, j])
        _rank_histogram(ranks[1], sigma[:, :, j])
        _rank_histogram(ranks[2], fit.draws_[:, :, where, j])
        ranks[2].set_title(f"{worst}: R-hat {fit.rhat_.loc[worst, parameter]:.3f}",
                           fontsize=8)
    titles = ("A. mu along each chain" + ("" if group is None else f" (group {group})"),
              "B. ranks of mu", "C. ranks of sigma")
    for ax, title in zip(axes[0], titles):
        ax.set_title(title, loc="left", fontsize=9)
    axes[0][3].set_title("D. " + axes[0][3].get_title(), fontsize=8)
    axes[-1][0].set_xlabel("draw", fontsize=8)
    for ax in axes[-1][1:]:
        ax.set_xlabel("rank (all chains)", fontsize=8)
    _suptitle(figure, f"{name}: trace and rank plots ({mu.shape[0]} chains x {mu.shape[1]} "
              "draws)\nD: the participant with the highest R-hat for the parameter; flat rank "
              "histograms (dashed = uniform) mean the chains mix", fontsize=10)
    return figure
