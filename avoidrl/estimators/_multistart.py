"""Multi-start maximum likelihood: seed streams, start draws, nested starts, rounds.

The "fit" step of the flow for the maximum-likelihood estimators
(:class:`~avoidrl.estimators.RLModelBase`): given validated data
(:class:`~avoidrl._core.data.TaskData`) and :class:`FitSettings
<avoidrl.estimators._settings.FitSettings>`, every participant descends
from its own starts with the batched L-BFGS-B of :mod:`avoidrl._core.optimize`
on the likelihood of :mod:`avoidrl._core.likelihood`. Each participant's
starts come from a random stream derived from the fit's seed and its id, so
its fit is the same alone, in any batch and with any ``n_jobs``. The
empirical-Bayes fit draws its E-step starts from the same streams.
"""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.stats import qmc
from threadpoolctl import threadpool_limits

from .._core import compiled
from .._core.likelihood import Objective
from .._core.optimize import minimize_lbfgsb_batch
from .._utils.progress import ProgressBar
from .._utils.validation import SEED_LIMIT, check_rng

#: spread of 'normal' starts as a fraction of each parameter's range (the reference's 1/15)
NORMAL_START_SPREAD = 1.0 / 15.0
#: two starts whose NLLs differ by less than this reached the same optimum
OPTIMUM_TOLERANCE = 0.1
#: starts of the nested model's fit that gives the reference point (QLearning's default)
NESTED_STARTS = ("normal", 10)
#: quasi-random points per participant and round screened over the bounds' box: one
#: batched evaluation of 1,024 points costs about one L-BFGS-B descent, and 1,024
#: (not 256) was needed for the screen to land in the better basin of all three
#: fits that 30-100 random starts had missed (+4 to +127 NLL above the truth)
SCREEN_POINTS = 1024
#: with a progress display, participants are fitted in this many chunks per job
PROGRESS_CHUNKS_PER_JOB = 4
#: the per-start arrays of a participant's record (the lists are 'message' and 'kind')
_ARRAYS = ("start", "x", "nll", "success", "nit", "nfev", "round")


# ------------------------------------------------------------ seed streams
def base_entropy(random_state):
    """The integer a fit's random streams derive from, given ``random_state``.

    One draw from ``check_random_state(random_state)``, so an int seed and a
    fresh ``RandomState`` with that seed agree (as in scikit-learn), None
    gives a different fit each time, and repeated fits with one RandomState
    (or numpy Generator) instance differ.
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(SEED_LIMIT))
    return int(check_rng(random_state).randint(SEED_LIMIT, dtype=np.uint64))


def _id_entropy(participant):
    # str(): the id read from a CSV as text and the same id given as an int
    # in a DataFrame ("7" and 7) get the same stream.
    digest = hashlib.blake2b(str(participant).encode("utf-8"), digest_size=16).digest()
    return int.from_bytes(digest, "little")


def participant_seeds(random_state, participants):
    """One SeedSequence per participant, from ``random_state`` and the participant's id.

    A participant's starts depend on nothing else, so its fit is the same
    alone, in any batch, in any order and with any ``n_jobs``.
    """
    base = base_entropy(random_state)
    return [np.random.SeedSequence([base, _id_entropy(p)]) for p in participants]


def _child_seed(seed, key):
    """A fixed sub-stream of ``seed`` (spawn() would mutate the parent)."""
    return np.random.SeedSequence(seed.entropy, spawn_key=tuple(seed.spawn_key) + (key,))


# -------------------------------------------------------------- start draws
def _draw_starts(rng, n, settings):
    """``n`` start points of one participant, shape (n, k)."""
    names = settings.variant.parameter_names
    low, high = settings.low, settings.high
    centre = np.array([settings.init[p] for p in names])
    if settings.start == "fixed":
        return np.broadcast_to(centre, (n, len(names))).copy()
    if settings.start == "random":
        return low + (high - low) * rng.random((n, len(names)))
    draws = centre + (high - low) * NORMAL_START_SPREAD * rng.standard_normal((n, len(names)))
    return np.clip(draws, low, high)


def _starts_from_nested(settings):
    """Whether the variant nests a simpler model within the fit's bounds."""
    nested = settings.variant.nested()
    if nested is None:
        return False
    bounds = settings.bounds
    return all(bounds[name][0] <= value <= bounds[name][1] for name, value in nested[1].items())


def _nested_starts(data, seeds, settings):
    """Start points at each participant's best fit of the nested simpler model.

    Returns an (n_participants, k) array, or None when the variant nests no
    simpler model (or its bounds exclude the reducing values). A fit that
    also descends from this point never ends worse than the nested model.
    """
    variant, init = settings.variant, settings.init
    if not _starts_from_nested(settings):
        return None
    small, fixed = variant.nested()
    start, n_starts = NESTED_STARTS
    small_settings = dataclasses.replace(
        settings, variant=small, bounds={n: settings.bounds[n] for n in small.parameter_names},
        init={n: init[n] for n in small.parameter_names}, start=start, n_starts=n_starts,
        max_starts=n_starts)
    found = _multistart(data, [_child_seed(s, 1) for s in seeds], small_settings)
    best, _ = best_of(found)
    columns = []
    for name in variant.parameter_names:
        if name in fixed:
            columns.append(np.full(len(best), fixed[name]))
        elif name in small.parameter_names:
            columns.append(best[:, small.parameter_names.index(name)])
        else:
            columns.append(np.full(len(best), init[name]))
    return np.column_stack(columns)


# ------------------------------------------------------------------ rounds
def _descend(objective, starts, owner, box, options, progress, exact=False):
    """Descend from every start; returns end points, their NLLs and the optimizer's messages.

    ``exact``: the optimizer takes the likelihood's exact gradient (the
    compiled BFGS-B where numba is installed; else SciPy's L-BFGS-B with
    forward differences, the reference's path). Ends and starts are re-evaluated in one
    call, so the reported NLL is the NLL at the reported point whatever the
    optimizer's exit, and a start that ended above its start point keeps the
    start point.
    """
    if exact:
        result = minimize_lbfgsb_batch(
            lambda X, prob: objective.value_and_gradient(X, owner[prob]), starts, box,
            progress=progress, jac=True, **options)
    else:
        result = minimize_lbfgsb_batch(lambda X, prob: objective(X, owner[prob]), starts, box,
                                       progress=progress, **options)
    values = objective(np.concatenate([result.x, starts]), np.concatenate([owner, owner]))
    end_nll, start_nll = values[:len(owner)], values[len(owner):]
    end_nll = np.where(np.isnan(end_nll), np.inf, end_nll)
    worse = end_nll > start_nll
    x = np.where(worse[:, None], starts, result.x)
    nll = np.where(worse, start_nll, end_nll)
    message = [m + " (ended above its start point; the start point is kept)" if w else m
               for m, w in zip(result.message, worse)]
    return result, x, nll, message


def _screened_starts(objective, box, engines, owners, m):
    """The ``m`` best of ``SCREEN_POINTS`` quasi-random points of each participant, as starts.

    Each participant's next block of its own scrambled Sobol sequence
    (``engines``), evaluated for all ``owners`` in one batched call. Returns
    an array of shape (len(owners) * m, k), participant by participant.
    """
    low, high = box[:, 0], box[:, 1]
    k = len(low)
    points = np.stack([low + (high - low) * engine.random(SCREEN_POINTS)
                       for engine in engines])
    values = objective(points.reshape(-1, k), np.repeat(owners, SCREEN_POINTS))
    values = np.where(np.isnan(values), np.inf, values).reshape(len(owners), SCREEN_POINTS)
    best = np.argsort(values, axis=1, kind="stable")[:, :m]
    return np.take_along_axis(points, best[:, :, None], axis=1).reshape(-1, k)


def _still_unconfirmed(parts, pending, sizes, n_starts, max_starts):
    """The participants that get another round; sets their next round's size in ``sizes``.

    A participant's best NLL must be reached by two starts (within
    ``OPTIMUM_TOLERANCE``), else it gets up to ``n_starts`` more, until
    ``max_starts`` starts (the nested-model and screened starts not counted)
    have run.
    """
    still = []
    for p in pending:
        all_nll = np.concatenate([part["nll"] for part in parts[p]])
        hits = int(np.sum(all_nll <= all_nll.min() + OPTIMUM_TOLERANCE))
        used = sum(kind not in ("nested", "screen") for part in parts[p]
                   for kind in part["kind"])
        if hits < 2 and used < max_starts:
            still.append(p)
            sizes[p] = min(n_starts, max_starts - used)
    return np.asarray(still, dtype=np.intp)


def best_of(records):
    """Each participant's best end point and its NLL: shapes (n, k) and (n,)."""
    x = np.array([rec["x"][rec["best"]] for rec in records]).reshape(len(records), -1)
    return x, np.array([rec["nll"][rec["best"]] for rec in records])


def _record(parts):
    """One participant's rounds joined into its record, with its best start and hits."""
    rec = {key: np.concatenate([part[key] for part in parts]) for key in _ARRAYS}
    rec["message"] = sum((part["message"] for part in parts), [])
    rec["kind"] = sum((part["kind"] for part in parts), [])
    rec["best"] = int(np.argmin(rec["nll"]))
    rec["hits"] = int(np.sum(rec["nll"] <= rec["nll"][rec["best"]] + OPTIMUM_TOLERANCE))
    return rec


def add_descents(data, settings, records, participants, points, kind):
    """The records with one more start per listed participant, descended from ``points``.

    ``participants`` index ``data`` and ``records``; each gets a start of
    ``kind`` from its row of ``points``, in a new round, and its best start
    and hits are recounted. Used when another search (the profile
    likelihood's) met a lower NLL than the fit's optimum: the descent from
    there makes it an optimum of the fit, reported like any other start.
    """
    objective = Objective(settings.variant, data)
    box = np.array([settings.bounds[n] for n in settings.variant.parameter_names])
    owner = np.asarray(participants, dtype=np.intp)
    result, x, nll, message = _descend(objective, points, owner, box, settings.options, None,
                                       settings.exact_gradient)
    records = list(records)
    for r, p in enumerate(owner):
        old = records[p]
        earlier = {key: old[key] for key in _ARRAYS + ("message", "kind")}
        one = slice(r, r + 1)
        records[p] = _record([earlier, {
            "start": points[one], "x": x[one], "nll": nll[one], "success": result.success[one],
            "nit": result.nit[one], "nfev": result.nfev[one],
            "round": np.array([old["round"].max() + 1]), "message": [message[r]],
            "kind": [kind]}])
    return records


def _multistart(data, seeds, settings, bar=None):
    """Robust multi-start maximum likelihood for every participant of ``data``.

    Each participant draws starts from its own stream (``seeds``). After a
    first round of ``n_starts`` starts (plus the nested model's optimum where
    one exists), participants whose best NLL was reached by fewer than two
    starts (within ``OPTIMUM_TOLERANCE``) get further rounds, up to
    ``max_starts``. Every start's end point and start point are re-evaluated,
    so reported NLLs are the NLLs at the reported parameters, and no start
    ends above its own start point.

    Returns one dict per participant with arrays ``start``, ``x``, ``nll``,
    ``success``, ``nit``, ``nfev``, ``round``, lists ``message`` and ``kind``,
    and ``best`` (index of the best start) and ``hits``. ``bar`` (a
    :class:`~avoidrl._utils.progress.ProgressBar` counting starts) advances as
    starts finish.
    """
    objective = Objective(settings.variant, data)
    box = np.array([settings.bounds[n] for n in settings.variant.parameter_names])
    n = data.n_participants
    rngs = [np.random.default_rng(_child_seed(s, 0)) for s in seeds]
    parts = [[] for _ in range(n)]
    pending = np.arange(n)
    sizes = np.full(n, settings.n_starts)
    nested = _nested_starts(data, seeds, settings)
    screen = settings.screen_starts
    # each participant's own Sobol sequence, from its own stream: batch-independent
    sobol = [qmc.Sobol(len(box), seed=np.random.default_rng(_child_seed(s, 2)))
             for s in seeds] if screen else None
    round_ = 0
    while pending.size:
        starts = [_draw_starts(rngs[p], sizes[p], settings) for p in pending]
        owner = np.repeat(pending, sizes[pending])
        kinds = [settings.start] * len(owner)
        if screen:
            starts.append(_screened_starts(objective, box, [sobol[p] for p in pending],
                                           pending, screen))
            owner = np.concatenate([owner, np.repeat(pending, screen)])
            kinds += ["screen"] * (screen * len(pending))
        if nested is not None and round_ == 0:
            starts.append(nested)
            owner = np.concatenate([owner, np.arange(n)])
            kinds += ["nested"] * n
        starts = np.concatenate(starts)
        progress = None
        if bar is not None:
            if round_ > 0:
                bar.add_total(len(owner))
            progress = (lambda finished, before=bar.done: bar.update_to(before + finished))
        result, x, nll, message = _descend(objective, starts, owner, box, settings.options,
                                           progress, settings.exact_gradient)
        for p in np.unique(owner):
            rows = np.flatnonzero(owner == p)
            parts[p].append({"start": starts[rows], "x": x[rows], "nll": nll[rows],
                             "success": result.success[rows], "nit": result.nit[rows],
                             "nfev": result.nfev[rows], "round": np.full(rows.size, round_),
                             "message": [message[i] for i in rows],
                             "kind": [kinds[i] for i in rows]})
        pending = _still_unconfirmed(parts, pending, sizes, settings.n_starts,
                                     settings.max_starts)
        round_ += 1
    return [_record(parts[p]) for p in range(n)]


def fit_participants(data, seeds, settings, n_jobs, chunked, verbose):
    """:func:`_multistart` of every participant, over ``n_jobs`` workers, with a progress bar.

    Participants are split into contiguous chunks; each participant's result
    depends only on its own data and stream, so any ``n_jobs`` and any batch
    give the same fit. With ``chunked`` (a progress display), smaller chunks
    let it advance while the workers run. Returns the records in participant
    order.
    """
    n_chunks = n_jobs if n_jobs == 1 or not chunked else \
        min(data.n_participants, PROGRESS_CHUNKS_PER_JOB * n_jobs)
    chunks = [c for c in np.array_split(np.arange(data.n_participants), n_chunks) if c.size]
    planned = data.n_participants * (settings.n_starts + _starts_from_nested(settings)
                                     + settings.screen_starts)
    with threadpool_limits(1), ProgressBar(
            planned, f"fitting {settings.variant.name}", "start", verbose) as bar:
        if len(chunks) == 1:
            return _multistart(data, seeds, settings, bar)
        parts = Parallel(n_jobs=n_jobs, return_as="generator",
                         prefer=compiled.preferred_workers(n_jobs))(
            delayed(_multistart)(data.subset(chunk), [seeds[i] for i in chunk], settings)
            for chunk in chunks)
        records = []
        for part in parts:
            records.extend(part)
            # the chunk's extra rounds were unplanned
            ran = sum(rec["nll"].size for rec in part)
            bar.add_total(max(0, bar.done + ran - bar.total))
            bar.update(ran)
    return records


def fits_table(data, records, names):
    """Every start of every participant, one row each (the estimators' ``fits_``)."""
    counts = [rec["nll"].size for rec in records]
    fits = pd.DataFrame({
        "participant_id": np.repeat(data.participants, counts),
        "group_code": np.repeat(data.groups, counts),
        "start": np.concatenate([np.arange(c) for c in counts]),
        "round": np.concatenate([rec["round"] for rec in records]),
        "kind": sum((rec["kind"] for rec in records), []),
    })
    start_points = np.concatenate([rec["start"] for rec in records])
    end_points = np.concatenate([rec["x"] for rec in records])
    for j, name in enumerate(names):
        fits[f"start_{name}"] = start_points[:, j]
    for j, name in enumerate(names):
        fits[name] = end_points[:, j]
    fits["nll"] = np.concatenate([rec["nll"] for rec in records])
    fits["converged"] = np.concatenate([rec["success"] for rec in records]).astype(bool)
    fits["best"] = np.concatenate([np.arange(c) == rec["best"]
                                   for c, rec in zip(counts, records)])
    fits["n_iter"] = np.concatenate([rec["nit"] for rec in records])
    fits["n_fev"] = np.concatenate([rec["nfev"] for rec in records])
    fits["message"] = sum((rec["message"] for rec in records), [])
    return fits
