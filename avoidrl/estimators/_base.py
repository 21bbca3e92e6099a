"""The shared estimator machinery: validation, multi-start fitting, scoring, sampling."""

from __future__ import annotations

import hashlib
import numbers
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._core.data import STIMULUS_LETTERS, load_task_data, split_phases
from .._core.likelihood import Objective, choice_nll, learning_recursion
from ..models._builtin import BASE_MODELS, ModelVariant, check_options
from .._core.optimize import minimize_lbfgsb_batch
from .._utils.progress import ProgressBar, progress_listened
from .._core.simulate import default_design, simulate_frames
from .._core.transform import (
    Z_LIMIT, hessian_from_values, hessian_points, interval_table, to_bounded, to_unbounded,
)
from .._utils.fitted import register_fit_method
from .._utils.warnings import warn

if TYPE_CHECKING:
    from typing import Self

    from .._utils.typing import FrameLike, RandomStateLike

START_MODES = ("normal", "random", "fixed")
OPTIMIZER_OPTIONS = ("maxiter", "maxfun", "ftol", "gtol", "maxcor", "maxls", "eps", "backend")
_INTEGER_OPTIONS = ("maxiter", "maxfun", "maxcor", "maxls")
_BACKENDS = ("auto", "setulb", "scipy")
#: spread of 'normal' starts as a fraction of each parameter's range (the reference's 1/15)
NORMAL_START_SPREAD = 1.0 / 15.0
#: max_starts=None means this many times n_starts
MAX_STARTS_FACTOR = 3
#: two starts whose NLLs differ by less than this reached the same optimum
OPTIMUM_TOLERANCE = 0.1
#: a parameter within this share of its range from a bound is "at the bound"
BOUND_TOLERANCE = 1e-6
#: Hessian eigenvalues below this share of the largest are flat directions
IDENTIFIED_CURVATURE = 1e-12
#: a standard error in z above this leaves a parameter "not identified" (its 95 %
#: interval would cover all but a sliver of the range)
MAX_SD_Z = 5.0
#: starts of the nested model's fit that gives the reference point (QLearning's default)
NESTED_STARTS = ("normal", 10)
_MAX_SEED = 2 ** 32
#: with a progress display, participants are fitted in this many chunks per job
PROGRESS_CHUNKS_PER_JOB = 4


def _effective_n_jobs(n_jobs):
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs if n_jobs is not None else 1)


def check_n_jobs(n_jobs):
    """None or a non-zero integer (joblib's meaning: -1 = all cores)."""
    if n_jobs is None:
        return None
    if isinstance(n_jobs, (bool, np.bool_)) or not isinstance(n_jobs, numbers.Integral) \
            or n_jobs == 0:
        raise ValueError(f"n_jobs must be None or a non-zero integer (-1 = all cores), got "
                         f"{n_jobs!r}")
    return int(n_jobs)


def base_entropy(random_state):
    """The integer a fit's random streams derive from, given ``random_state``.

    One draw from ``check_random_state(random_state)``, so an int seed and a
    fresh ``RandomState`` with that seed agree (as in scikit-learn), None
    gives a different fit each time, and repeated fits with one RandomState
    (or numpy Generator) instance differ.
    """
    if isinstance(random_state, np.random.Generator):
        return int(random_state.integers(_MAX_SEED))
    return int(check_rng(random_state).randint(_MAX_SEED, dtype=np.uint64))


def check_rng(random_state):
    """``random_state`` as a RandomState, with an error that names it."""
    if random_state is None or isinstance(random_state, np.random.RandomState):
        return check_random_state(random_state)
    if isinstance(random_state, numbers.Integral) \
            and not isinstance(random_state, (bool, np.bool_)) and 0 <= random_state < _MAX_SEED:
        return np.random.RandomState(int(random_state))
    raise ValueError("random_state must be None, an integer in [0, 2**32) or a numpy "
                     f"RandomState, got {random_state!r}")


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


def _draw_starts(rng, n, settings):
    """``n`` start points of one participant, shape (n, k)."""
    bounds, init = settings["bounds"], settings["init"]
    names = settings["variant"].parameter_names
    low = np.array([bounds[p][0] for p in names])
    high = np.array([bounds[p][1] for p in names])
    centre = np.array([init[p] for p in names])
    if settings["start"] == "fixed":
        return np.broadcast_to(centre, (n, len(names))).copy()
    if settings["start"] == "random":
        return low + (high - low) * rng.random((n, len(names)))
    draws = centre + (high - low) * NORMAL_START_SPREAD * rng.standard_normal((n, len(names)))
    return np.clip(draws, low, high)


def _starts_from_nested(settings):
    """Whether the variant nests a simpler model within the fit's bounds."""
    nested = settings["variant"].nested()
    if nested is None:
        return False
    bounds = settings["bounds"]
    return all(bounds[name][0] <= value <= bounds[name][1] for name, value in nested[1].items())


def _nested_starts(data, seeds, settings):
    """Start points at each participant's best fit of the nested simpler model.

    Returns an (n_participants, k) array, or None when the variant nests no
    simpler model (or its bounds exclude the reducing values). A fit that
    also descends from this point never ends worse than the nested model.
    """
    variant, bounds, init = settings["variant"], settings["bounds"], settings["init"]
    if not _starts_from_nested(settings):
        return None
    small, fixed = variant.nested()
    start, n_starts = NESTED_STARTS
    small_settings = {
        "variant": small, "bounds": {n: bounds[n] for n in small.parameter_names},
        "init": {n: init[n] for n in small.parameter_names}, "start": start,
        "n_starts": n_starts, "max_starts": n_starts, "options": settings["options"]}
    found = _multistart(data, [_child_seed(s, 1) for s in seeds], small_settings)
    best = np.array([rec["x"][rec["best"]] for rec in found])
    columns = []
    for name in variant.parameter_names:
        if name in fixed:
            columns.append(np.full(len(best), fixed[name]))
        elif name in small.parameter_names:
            columns.append(best[:, small.parameter_names.index(name)])
        else:
            columns.append(np.full(len(best), init[name]))
    return np.column_stack(columns)


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
    variant, options = settings["variant"], settings["options"]
    names = variant.parameter_names
    objective = Objective(variant, data)
    box = np.array([settings["bounds"][n] for n in names])
    n = data.n_participants
    rngs = [np.random.default_rng(_child_seed(s, 0)) for s in seeds]
    n_starts, max_starts = settings["n_starts"], settings["max_starts"]
    parts = [[] for _ in range(n)]
    pending = np.arange(n)
    sizes = np.full(n, n_starts)
    nested = _nested_starts(data, seeds, settings)
    round_ = 0
    while pending.size:
        starts = [_draw_starts(rngs[p], sizes[p], settings) for p in pending]
        owner = np.repeat(pending, sizes[pending])
        kinds = [settings["start"]] * len(owner)
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
        result = minimize_lbfgsb_batch(lambda X, prob: objective(X, owner[prob]), starts, box,
                                       progress=progress, **options)
        # Re-evaluate ends and starts in one call: the reported NLL is the NLL
        # at the reported point, whatever the optimizer's exit.
        values = objective(np.concatenate([result.x, starts]), np.concatenate([owner, owner]))
        end_nll, start_nll = values[:len(owner)], values[len(owner):]
        end_nll = np.where(np.isnan(end_nll), np.inf, end_nll)
        worse = end_nll > start_nll
        x = np.where(worse[:, None], starts, result.x)
        nll = np.where(worse, start_nll, end_nll)
        message = [m + " (ended above its start point; the start point is kept)" if w else m
                   for m, w in zip(result.message, worse)]
        for p in np.unique(owner):
            rows = np.flatnonzero(owner == p)
            parts[p].append({"start": starts[rows], "x": x[rows], "nll": nll[rows],
                             "success": result.success[rows], "nit": result.nit[rows],
                             "nfev": result.nfev[rows], "round": np.full(rows.size, round_),
                             "message": [message[i] for i in rows],
                             "kind": [kinds[i] for i in rows]})
        still = []
        for p in pending:
            all_nll = np.concatenate([part["nll"] for part in parts[p]])
            hits = int(np.sum(all_nll <= all_nll.min() + OPTIMUM_TOLERANCE))
            used = sum(kind != "nested" for part in parts[p] for kind in part["kind"])
            if hits < 2 and used < max_starts:
                still.append(p)
                sizes[p] = min(n_starts, max_starts - used)
        pending = np.asarray(still, dtype=np.intp)
        round_ += 1
    records = []
    for p in range(n):
        rec = {key: np.concatenate([part[key] for part in parts[p]])
               for key in ("start", "x", "nll", "success", "nit", "nfev", "round")}
        rec["message"] = sum((part["message"] for part in parts[p]), [])
        rec["kind"] = sum((part["kind"] for part in parts[p]), [])
        rec["best"] = int(np.argmin(rec["nll"]))
        rec["hits"] = int(np.sum(rec["nll"] <= rec["nll"][rec["best"]] + OPTIMUM_TOLERANCE))
        records.append(rec)
    return records


def _ml_intervals(variant, data, params, bounds):
    """Wald intervals of maximum-likelihood estimates, computed in the unbounded space.

    The NLL Hessian in z (central differences, :data:`HESSIAN_STEP`) at each
    participant's estimate is inverted over the parameters that are not at a
    bound. Returns ``(cov, status)``: covariances in z of shape (n, k, k) with
    NaN rows and columns for parameters without an interval, and an (n, k)
    array of 'interior', 'at lower bound', 'at upper bound' or 'not
    identified' (a flat direction of the likelihood: the interval would be
    the whole range: see ``MAX_SD_Z``).
    """
    names = variant.parameter_names
    low = np.array([bounds[n][0] for n in names])
    high = np.array([bounds[n][1] for n in names])
    n, k = params.shape
    width = high - low
    status = np.full((n, k), "interior", dtype=object)
    status[params <= low + BOUND_TOLERANCE * width] = "at lower bound"
    status[params >= high - BOUND_TOLERANCE * width] = "at upper bound"
    z = np.clip(to_unbounded(params, low, high), -Z_LIMIT, Z_LIMIT)
    points = hessian_points(z)
    objective = Objective(variant, data)
    values = objective(to_bounded(points.reshape(-1, k), low, high),
                       np.repeat(np.arange(n), points.shape[1])).reshape(n, -1)
    hessian = hessian_from_values(values, k)
    cov = np.full((n, k, k), np.nan)
    for i in range(n):
        free = np.flatnonzero(status[i] == "interior")
        if free.size == 0:
            continue
        sub = hessian[i][np.ix_(free, free)]
        if not np.isfinite(sub).all():
            status[i, free] = "not identified"
            continue
        eigenvalues, vectors = np.linalg.eigh(0.5 * (sub + sub.T))
        flat = eigenvalues <= IDENTIFIED_CURVATURE * max(eigenvalues.max(), 1.0)
        keep = ~flat
        inverse = (vectors[:, keep] / eigenvalues[keep]) @ vectors[:, keep].T
        # A parameter that moves along a flat (or downhill) direction, or whose interval
        # in z spans more than +-2 x MAX_SD_Z (nearly the whole range), has no useful
        # finite interval.
        unidentified = (np.abs(vectors[:, flat]) > 1e-3).any(axis=1) \
            | (np.diag(inverse) > MAX_SD_Z ** 2)
        status[i, free[unidentified]] = "not identified"
        identified = free[~unidentified]
        cov[i][np.ix_(identified, identified)] = inverse[np.ix_(~unidentified, ~unidentified)]
    return cov, status


@register_fit_method
class RLModelBase(BaseEstimator):
    """Base class of the avoidrl estimators. Not for direct use.

    Subclasses set ``_base_name``; options absent from a subclass's
    constructor are off.
    """

    _base_name = None
    #: default start mode and number of starts per participant, chosen from
    #: benchmarks/fit_quality.py: the fewest starts that bring most
    #: participants within 1 NLL of a 250-400-start best on the tutorial data
    _default_start = "normal"
    _default_n_starts = 10

    # ------------------------------------------- the fitted-model protocol
    # (see avoidrl._utils.fitted): what this inference method is, answered by the
    # estimator itself so that tables, figures and writers never ask for its type.
    fit_method = "ml"
    fit_method_name = "maximum-likelihood"
    evidence_label = "-BIC/2"
    comparison_criteria = {"AIC": "aic", "BIC": "bic"}
    recovery_criterion_label = "BIC"
    recovery_criterion = "bic"
    uses_starts = True
    unused_starts_reason = None
    fits_jointly = False
    maximizes_likelihood = True
    group_criteria = {}
    summary_suffix = ""
    summary_evidence_label = "BIC"
    fit_method_description = (
        "Fitting method: maximum likelihood per participant (multi-start L-BFGS-B). Models "
          "are compared by AIC and BIC per participant; the Bayesian model selection uses "
          "-BIC/2 as each participant's log evidence (the BIC approximation).")
    interval_description = (
        "Wald intervals from the NLL's Hessian in the logit space of the bounds, mapped back (so within the bounds, possibly asymmetric); status 'at lower bound' / 'at upper bound' (the estimate sits on a bound) or 'not identified' (a flat direction of the likelihood, or an interval spanning nearly the whole range) have no interval (NaN)")
    evidence_description = (
        "`-BIC/2`: minus half each participant's BIC, the BIC approximation of the log evidence of the maximum-likelihood fit")

    def __new__(cls, *args, **kwargs):
        # An option the model does not take would otherwise be a bare
        # "unexpected keyword argument" TypeError; say why it is not an option.
        if cls._base_name is not None:
            accepted = cls._get_param_names()
            for option in ("bias", "decay"):
                if option in kwargs and option not in accepted:
                    check_options(cls._base_name, option == "bias", option == "decay")
        return super().__new__(cls)

    @property
    def evidence_(self) -> pd.Series:
        """Per-participant log evidence of the fit: -BIC/2 (the BIC approximation)."""
        return (-self.bic_ / 2).rename("log_evidence")

    @property
    def simulator(self) -> RLModelBase:
        """The estimator that simulates and replays this fit: itself."""
        return self

    @classmethod
    def from_model(cls, estimator, random_state=None, n_jobs=None):
        """The maximum-likelihood estimator of a model estimator: the estimator itself."""
        return estimator

    # ------------------------------------------------------------------ model
    @property
    def model_name(self) -> str:
        """The reference-style name of this model variant (e.g. ``QLearning+novel``)."""
        return self._variant().name

    def _variant(self):
        options = {}
        for option in ("bias", "novel", "decay"):
            value = getattr(self, option, False)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{option} must be True or False, got {value!r}")
            options[option] = bool(value)
        return ModelVariant(BASE_MODELS[self._base_name], **options)

    @property
    def parameter_names(self) -> list[str]:
        """Free parameter names, in the reference's order."""
        return list(self._variant().parameter_names)

    @property
    def n_parameters(self) -> int:
        """Number of free parameters k (used in AIC and BIC)."""
        return self._variant().n_parameters

    def _resolve_bounds_init(self, variant):
        names = variant.parameter_names
        declared = {p.name: p for p in variant.parameters}
        bounds = {p.name: (float(p.low), float(p.high)) for p in variant.parameters}
        init = {p.name: float(p.init) for p in variant.parameters}
        for what, given in (("bounds", self.bounds), ("init", self.init)):
            if given is None:
                continue
            if not hasattr(given, "items"):
                raise ValueError(f"{what} must be a dict mapping parameter names, got {given!r}")
            unknown = sorted(set(given) - set(names), key=str)
            if unknown:
                raise ValueError(
                    f"{what}: unknown parameter(s) {unknown} for {variant.name}; its "
                    f"parameters are {list(names)}")
        for name, value in (self.bounds or {}).items():
            try:
                low, high = (float(v) for v in value)
            except (TypeError, ValueError):
                raise ValueError(
                    f"bounds[{name!r}] must be a (low, high) pair of numbers, got {value!r}"
                ) from None
            if not (np.isfinite(low) and np.isfinite(high)) or low >= high:
                raise ValueError(
                    f"bounds[{name!r}] = {value!r}: need finite low < high")
            parameter = declared[name]
            if parameter.outside_domain([low, high]).any():
                raise ValueError(
                    f"bounds[{name!r}] = {value!r} leave the valid domain of {name}, "
                    f"{parameter.domain_text()}; choose bounds within it")
            bounds[name] = (low, high)
        for name, value in (self.init or {}).items():
            if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
                raise ValueError(f"init[{name!r}] must be a number, got {value!r}")
            init[name] = float(value)
        given_init = set(self.init or {})
        for name in names:
            low, high = bounds[name]
            if low <= init[name] <= high:
                continue
            if name not in given_init:
                # A default start value follows the user's narrower bounds.
                init[name] = min(max(init[name], low), high)
                continue
            raise ValueError(
                f"the start value of {name!r} ({init[name]}) is outside its bounds "
                f"({low}, {high}); change init or bounds")
        return bounds, init

    def _check_settings(self):
        start = self._default_start if self.start is None else self.start
        if not isinstance(start, str) or start not in START_MODES:
            raise ValueError(f"start must be one of {list(START_MODES)}, got {self.start!r}")
        n_starts = self._default_n_starts if self.n_starts is None else self.n_starts
        if not isinstance(n_starts, numbers.Integral) or isinstance(n_starts, (bool, np.bool_)) \
                or n_starts < 1:
            raise ValueError(f"n_starts must be a positive integer, got {self.n_starts!r}")
        n_starts = int(n_starts)
        max_starts = self.max_starts
        if max_starts is None:
            max_starts = MAX_STARTS_FACTOR * n_starts
        elif not isinstance(max_starts, numbers.Integral) \
                or isinstance(max_starts, (bool, np.bool_)) or max_starts < n_starts:
            raise ValueError(f"max_starts must be None or an integer >= n_starts ({n_starts}), "
                             f"got {self.max_starts!r}")
        check_n_jobs(self.n_jobs)
        if self.optimizer_options is not None and not isinstance(self.optimizer_options, dict):
            raise ValueError("optimizer_options must be None or a dict of L-BFGS-B settings "
                             f"{list(OPTIMIZER_OPTIONS)}, got {self.optimizer_options!r}")
        options = dict(self.optimizer_options or {})
        unknown = sorted(set(options) - set(OPTIMIZER_OPTIONS), key=str)
        if unknown:
            raise ValueError(
                f"optimizer_options: unknown option(s) {unknown}; valid options are "
                f"{list(OPTIMIZER_OPTIONS)}")
        for key, value in options.items():
            if key == "backend":
                ok = isinstance(value, str) and value in _BACKENDS
                expected = f"one of {list(_BACKENDS)}"
            elif key in _INTEGER_OPTIONS:
                ok = isinstance(value, numbers.Integral) \
                    and not isinstance(value, (bool, np.bool_)) and value > 0
                expected = "a positive integer"
            else:
                ok = isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) \
                    and np.isfinite(value) and (value > 0 if key == "eps" else value >= 0)
                expected = "a positive number" if key == "eps" else "a non-negative number"
            if not ok:
                raise ValueError(f"optimizer_options[{key!r}] must be {expected}, got {value!r}")
        return start, n_starts, int(max_starts), options

    # -------------------------------------------------------------------- fit
    def fit(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> Self:
        """Fit the model to every participant by maximum likelihood.

        Each participant is fitted from its own starts, drawn from a random
        stream derived from ``random_state`` and its participant_id, so its
        fit does not depend on who else is in the data. After ``n_starts``
        starts, participants whose best optimum was reached only once get
        more starts, up to ``max_starts``; models that nest a simpler model
        (Advantage and Hybrid2012/2021 nest QLearning) also descend from the
        simpler model's optimum, so they never fit worse than it.

        Parameters
        ----------
        X_learning : DataFrame or path to a CSV
            Learning-phase trials in the reference's format, or both phases in
            one long frame (told apart by ``trial_type``) when ``X_transfer``
            is None.
        X_transfer : DataFrame or path to a CSV, optional
            Transfer-phase trials.

        Returns
        -------
        self
        """
        settings = self._fit_settings()
        data = load_task_data(X_learning, X_transfer)
        seeds = participant_seeds(self.random_state, data.participants)
        return self._fit_data(data, seeds, settings)

    def _fit_settings(self):
        """Validated settings of a fit: variant, bounds, start values, starts, options."""
        variant = self._variant()
        bounds, init = self._resolve_bounds_init(variant)
        start, n_starts, max_starts, options = self._check_settings()
        if start == "fixed":
            # L-BFGS-B is deterministic: repeated fixed starts are identical
            n_starts = max_starts = 1
        return {"variant": variant, "bounds": bounds, "init": init, "start": start,
                "n_starts": n_starts, "max_starts": max_starts, "options": options}

    def _fit_data(self, data, seeds, settings, warn=True, intervals=True):
        """Fit validated data, participant ``i`` drawing its starts from ``seeds[i]``.

        ``intervals=False`` skips ``params_ci_`` and ``posterior_cov_`` (recovery
        fits do not report them).
        """
        variant = settings["variant"]
        names = list(variant.parameter_names)
        n_jobs = min(_effective_n_jobs(self.n_jobs), data.n_participants)
        # Participants are split into contiguous chunks; each participant's
        # result depends only on its own data and stream, so any n_jobs and
        # any batch give the same fit. With a progress display, smaller
        # chunks let it advance while the workers run.
        n_chunks = n_jobs if n_jobs == 1 or not self._shows_progress() else \
            min(data.n_participants, PROGRESS_CHUNKS_PER_JOB * n_jobs)
        chunks = [c for c in np.array_split(np.arange(data.n_participants), n_chunks) if c.size]
        planned = data.n_participants * (settings["n_starts"] + _starts_from_nested(settings))
        with threadpool_limits(1), ProgressBar(
                planned, f"fitting {variant.name}", "start", self.verbose) as bar:
            if len(chunks) == 1:
                records = _multistart(data, seeds, settings, bar)
            else:
                parts = Parallel(n_jobs=n_jobs, return_as="generator")(
                    delayed(_multistart)(data.subset(chunk), [seeds[i] for i in chunk], settings)
                    for chunk in chunks)
                records = []
                for part in parts:
                    records.extend(part)
                    # the chunk's extra rounds were unplanned
                    ran = sum(rec["nll"].size for rec in part)
                    bar.add_total(max(0, bar.done + ran - bar.total))
                    bar.update(ran)

        ids = pd.Index(data.participants, name="participant_id")
        best = np.array([rec["x"][rec["best"]] for rec in records]).reshape(len(records), -1)
        nll = np.array([rec["nll"][rec["best"]] for rec in records])
        k = len(names)
        n_trials = data.n_trials.astype(float)
        self.model_name_ = variant.name
        self.bounds_ = settings["bounds"]
        self.init_ = settings["init"]
        self.n_starts_ = settings["n_starts"]
        self.params_ = pd.DataFrame(best, index=ids, columns=names)
        self.nll_ = pd.Series(nll, index=ids, name="nll")
        self.aic_ = pd.Series(2 * k + 2 * nll, index=ids, name="aic")
        self.bic_ = pd.Series(k * np.log(n_trials) + 2 * nll, index=ids, name="bic")
        self.n_trials_ = pd.Series(data.n_trials, index=ids, name="n_trials")
        self.groups_ = pd.Series(data.groups, index=ids, name="group_code")
        self.converged_ = pd.Series([bool(rec["success"][rec["best"]]) for rec in records],
                                    index=ids, name="converged")
        self.n_starts_used_ = pd.Series([rec["nll"].size for rec in records], index=ids,
                                        name="n_starts_used")
        self.optimum_hits_ = pd.Series([rec["hits"] for rec in records], index=ids,
                                       name="optimum_hits")
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
        self.fits_ = fits
        if intervals:
            cov, status = _ml_intervals(variant, data, best, settings["bounds"])
            low = np.array([settings["bounds"][n][0] for n in names])
            high = np.array([settings["bounds"][n][1] for n in names])
            self.posterior_cov_ = cov
            self.params_ci_ = interval_table(to_unbounded(best, low, high), cov, low, high,
                                             data.participants, names, status, estimate=best)
        if warn:
            self._warn_fit_problems(settings, data.n_participants)
        return self

    def _shows_progress(self):
        """Whether a bar is drawn or a front end listens to this fit's progress."""
        return bool(self.verbose) or progress_listened()

    def _warn_fit_problems(self, settings, n_participants):
        """One ConvergenceWarning per kind of problem, naming the participants."""
        def shown(ids):
            return ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")

        name = settings["variant"].name
        failed = self.converged_.index[~self.converged_.to_numpy()]
        if len(failed):
            warn(
                f"{name}: the best start did not converge for {len(failed)} of "
                f"{n_participants} participant(s): {shown(failed)}. See converged_ and "
                "fits_['message']; more starts (n_starts) usually help.",
                ConvergenceWarning)
        if settings["start"] != "fixed":
            once = self.optimum_hits_.index[self.optimum_hits_.to_numpy() < 2]
            if len(once):
                warn(
                    f"{name}: for {len(once)} of {n_participants} participant(s) the best "
                    f"optimum was reached by only one of up to {settings['max_starts']} "
                    f"starts, so a better one may exist: {shown(once)}. See optimum_hits_; "
                    "raise max_starts (or n_starts) to search longer.",
                    ConvergenceWarning)

    # ---------------------------------------------------------------- scoring
    def _check_fitted_model(self, variant):
        """The fitted ``params_`` belong to ``variant``, or an error asks to refit."""
        check_is_fitted(self, "params_")
        fitted = getattr(self, "model_name_", variant.name)
        if fitted != variant.name:
            raise ValueError(
                f"this estimator was fitted as {fitted}, but its parameters now describe "
                f"{variant.name} (set_params changed the model); call fit again before "
                "using params_")

    def _params_matrix(self, params, participants, variant):
        """Parameter vectors of ``participants`` from a DataFrame (or params_), checked.

        Every value must lie in its parameter's valid domain (learning rates
        and factors in [0, 1], temperature > 0, novel value in [-1, 1]).
        """
        if params is None:
            self._check_fitted_model(variant)
            params = self.params_
        if not isinstance(params, pd.DataFrame):
            raise ValueError(
                "params must be a DataFrame indexed by participant_id with one column per "
                f"parameter {list(variant.parameter_names)}")
        missing_cols = [n for n in variant.parameter_names if n not in params.columns]
        if missing_cols:
            raise ValueError(f"params: missing parameter column(s) {missing_cols} for "
                             f"{variant.name}")
        if params.index.has_duplicates:
            repeated = list(pd.unique(params.index[params.index.duplicated()]))
            raise ValueError(f"params: participant(s) {repeated[:10]} have more than one row")
        missing = [p for p in participants if p not in params.index]
        if missing:
            fitted = " were not fitted" if params is getattr(self, "params_", None) else \
                " have no row in params"
            raise ValueError(f"participant(s) {missing[:10]}{fitted}")
        table = params.loc[list(participants), list(variant.parameter_names)]
        try:
            matrix = table.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ValueError("params must hold numbers only (one column per parameter)") \
                from None
        for j, parameter in enumerate(variant.parameters):
            bad = parameter.outside_domain(matrix[:, j])
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                value = matrix[i, j]
                what = "NaN or infinite" if not np.isfinite(value) else \
                    f"{value!r}, outside its valid domain {parameter.domain_text()}"
                raise ValueError(
                    f"params: {parameter.name} of participant {participants[i]!r} is {what} "
                    f"({int(bad.sum())} invalid value(s) of {parameter.name})")
        return matrix

    def negative_log_likelihood(self, X_learning: FrameLike, X_transfer: FrameLike | None = None,
                                params: pd.DataFrame | None = None) -> pd.DataFrame:
        """Negative log-likelihood of each participant's data.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in :meth:`fit`.
        params : DataFrame, optional
            Indexed by participant_id, one column per parameter; defaults to
            the fitted ``params_``.

        Returns
        -------
        DataFrame
            Indexed by participant_id, with columns ``learning``,
            ``transfer`` and ``total``.
        """
        variant = self._variant()
        data = load_task_data(X_learning, X_transfer)
        matrix = self._params_matrix(params, data.participants, variant)
        learning, transfer = Objective(variant, data).phases(matrix)
        return pd.DataFrame(
            {"learning": learning, "transfer": transfer, "total": learning + transfer},
            index=pd.Index(data.participants, name="participant_id"))

    def bic(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> pd.Series:
        """BIC of each participant at the fitted parameters (own trial count n)."""
        self._check_fitted_model(self._variant())
        nll = self.negative_log_likelihood(X_learning, X_transfer)
        data_n = self._trial_counts(X_learning, X_transfer)
        return pd.Series(self.n_parameters * np.log(data_n) + 2 * nll["total"].to_numpy(),
                         index=nll.index, name="bic")

    def _trial_counts(self, X_learning, X_transfer):
        return load_task_data(X_learning, X_transfer).n_trials.astype(float)

    def score(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> float:
        """Higher is better: minus the mean deviance per participant of the given data.

        Both scores estimate -2 x the log evidence of a participant's data, so
        they share a scale, but they answer different questions:

        * fitted participants (in-sample, as with
          :class:`~avoidrl.model_selection.InSampleSplit`): minus their mean
          BIC at the fitted parameters, which penalises the number of
          parameters (compare models with different k);
        * participants not in the fit (held out by ``GroupKFold`` or
          ``GroupShuffleSplit`` with ``groups`` = participant ids): minus
          the mean of ``-2 log((1 / J) sum_j p(data | params_j))``, the
          predictive likelihood of each held-out participant's data under
          the population of the J fitted participants' parameters (their
          empirical distribution as the prior). No parameter is fitted to
          the held-out data, so no penalty for k is needed.

        Data that mix fitted and held-out participants are refused: the two
        scores would be averaged into a number that answers neither question.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in :meth:`fit`.

        Returns
        -------
        float
        """
        variant = self._variant()
        self._check_fitted_model(variant)
        data = load_task_data(X_learning, X_transfer)
        fitted = self.params_.index
        seen = np.asarray([pid in fitted for pid in data.participants])
        if seen.all():
            return -float(self.bic(X_learning, X_transfer).mean())
        if seen.any():
            raise ValueError(
                f"score: participant(s) {list(data.participants[seen][:5])} were fitted but "
                f"{list(data.participants[~seen][:5])} were not; score either the fitted "
                "participants (in-sample BIC) or held-out ones (predictive likelihood), "
                "not a mix: split by participant (GroupKFold with groups=participant_id)")
        return -float(self._held_out_deviance(variant, data).mean())

    def _held_out_deviance(self, variant, data):
        """-2 log of the mean likelihood over the fitted parameter vectors, per participant."""
        population = self._params_matrix(None, self.params_.index, variant)
        n_fitted, n_held_out = len(population), data.n_participants
        # every (held-out participant, fitted parameter vector) pair in one batch
        owner = np.repeat(np.arange(n_held_out), n_fitted)
        nll = Objective(variant, data)(np.tile(population, (n_held_out, 1)), owner)
        log_mean = logsumexp(-nll.reshape(n_held_out, n_fitted), axis=1) - np.log(n_fitted)
        return -2.0 * log_mean

    # ----------------------------------------------------------------- traces
    def trial_values(self, X_learning: FrameLike, X_transfer: FrameLike | None = None,
                     params: pd.DataFrame | None = None) -> pd.DataFrame:
        """Per-trial latent values and choice probabilities of both phases.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path
            As in :meth:`fit`.
        params : DataFrame, optional
            Indexed by participant_id; defaults to the fitted ``params_``.

        Returns
        -------
        DataFrame
            One row per trial, each participant's learning trials then transfer
            trials in their order: participant_id, phase ('learning' /
            'transfer'), trial (position within the phase), pair (``AB`` ...
            in learning; the two symbols' letters, higher-valued first, in
            transfer, N being the novel symbol), choice (1 = the worse / the
            lower-valued option), p_choice (probability of the choice made).
            Learning rows also hold the latent values before the trial's
            update for option 0 and 1 (``q0``/``q1``, ``w0``/``w1``, ``v``,
            ``context`` as the model has them) and the update's prediction
            errors (``pe0``/``pe1``; hybrids also ``q_pe0``/``q_pe1``);
            transfer rows hold the two symbols' values (``value0`` of the
            higher-valued symbol, ``value1``), which do not change in transfer.
            ``-log(p_choice)`` sums to :meth:`negative_log_likelihood`.
        """
        variant = self._variant()
        data = load_task_data(X_learning, X_transfer)
        matrix = self._params_matrix(params, data.participants, variant)
        theta = variant.theta(matrix)
        noise = theta["noise_factor"] if variant.base.lapse else None
        record = {}
        difference, final = learning_recursion(
            variant, theta, data.choice, data.outcome,
            data.mask.sum(axis=0) if data.padded else None, record=record)
        n_pairs = difference.shape[2]
        x = (1.0 - 2.0 * data.choice) * difference \
            * np.repeat(1.0 / theta["temperature"], n_pairs, axis=1)
        p_choice = np.exp(-choice_nll(x, None if noise is None
                                      else np.repeat(noise, n_pairs, axis=1)))
        t, p, s = np.nonzero(data.mask)
        learning = {
            "participant_id": data.participants[p], "phase": "learning",
            "trial": data.learning_row[t, p, s],
            "pair": np.asarray(["AB", "CD", "EF", "GH"])[s],
            "choice": data.choice[t, p, s].astype(int), "p_choice": p_choice[t, p, s],
        }
        for key, values in record.items():
            if key in variant.base.pair_states:
                learning[key] = values[t, 0, p, s]
            else:
                for option in (0, 1):
                    learning[f"{key}{option}"] = values[t, option, p, s]
        learning = pd.DataFrame(learning).iloc[np.lexsort((learning["trial"], p))]

        values = variant.transfer_values(final, theta)
        p, k = np.nonzero(data.transfer_mask)
        first, second = data.transfer_first[p, k], data.transfer_second[p, k]
        value0, value1 = values[p, first], values[p, second]
        choice = data.transfer_choice[p, k]
        x = (1.0 - 2.0 * choice) * (value1 - value0) / theta["temperature"][p, 0]
        letters = np.asarray(STIMULUS_LETTERS, dtype=object)
        transfer = pd.DataFrame({
            "participant_id": data.participants[p], "phase": "transfer", "trial": k,
            "pair": letters[first] + letters[second], "choice": choice.astype(int),
            "p_choice": np.exp(-choice_nll(x, None if noise is None else noise[p, 0])),
            "value0": value0, "value1": value1,
        })
        position = {pid: i for i, pid in enumerate(data.participants)}
        table = pd.concat([learning, transfer], ignore_index=True)
        order = np.lexsort((table["trial"].to_numpy(), table["phase"] == "transfer",
                            table["participant_id"].map(position).to_numpy()))
        return table.iloc[order].reset_index(drop=True)

    # --------------------------------------------------------------- sampling
    def sample(self, X_learning: FrameLike | None = None, X_transfer: FrameLike | None = None,
               params: pd.DataFrame | None = None, random_state: RandomStateLike = None, *,
               n_participants: int | None = None, trials_per_pair: int = 24,
               transfer_repeats: int = 12) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Simulate choices of the model, returned in the input format.

        Parameters
        ----------
        X_learning, X_transfer : DataFrame or path, optional
            Template data: each simulated participant replays its template
            participant's trial sequence and the outcomes of both options.
            Without templates, the default task design is used (24 trials per
            learning pair with outcome probabilities 0.75/0.25, then the 32
            transfer pairs repeated ``transfer_repeats`` times), drawn anew for
            each simulated participant.
        params : DataFrame, optional
            One row of parameters per simulated participant, indexed by
            participant_id. With templates, the index must name template
            participants (default: the fitted ``params_``). Without templates,
            the index gives the simulated participants' ids; if params is None
            too, ``n_participants`` participants are simulated at the start
            values ``init_`` (or the defaults).
        random_state : int, RandomState or None
        n_participants : int, optional
            Only without templates and params.
        trials_per_pair, transfer_repeats : int
            Default design only: learning trials per pair, and how many times
            each of the 32 transfer pairs is shown.

        Returns
        -------
        learning, transfer : DataFrame
            Simulated trials with ``choice_made`` drawn from the model; the
            outcomes are the raw ones, so the data can be fitted again.
        """
        variant = self._variant()
        rng = check_rng(random_state)
        if X_learning is None and X_transfer is None:
            if params is None:
                if n_participants is None:
                    raise ValueError("give params, template data or n_participants")
                if isinstance(n_participants, (bool, np.bool_)) \
                        or not isinstance(n_participants, numbers.Integral) or n_participants < 1:
                    raise ValueError(f"n_participants must be a positive integer, got "
                                     f"{n_participants!r}")
                init = getattr(self, "init_", None) or self._resolve_bounds_init(variant)[1]
                params = pd.DataFrame([init] * int(n_participants),
                                      index=pd.Index([f"sim_{i}" for i in range(n_participants)],
                                                     name="participant_id"))
            ids = list(params.index)
            matrix = self._params_matrix(params, ids, variant)
            for what, value in (("trials_per_pair", trials_per_pair),
                                ("transfer_repeats", transfer_repeats)):
                if isinstance(value, bool) or not isinstance(value, numbers.Integral) \
                        or value < 1:
                    raise ValueError(f"{what} must be a positive integer, got {value!r}")
            learning, transfer = default_design(ids, rng, trials_per_pair=trials_per_pair,
                                                transfer_repeats=transfer_repeats)
            return simulate_frames(variant, matrix, ids, learning, transfer, ids, rng)
        learning, transfer = split_phases(X_learning, X_transfer)
        return self._sample_on(load_task_data(learning, transfer), learning, transfer, params,
                               rng)

    def _sample_on(self, data, learning, transfer, params, random_state):
        """:meth:`sample` on template frames already validated into ``data``.

        Repeated simulations of the same templates (posterior predictive
        checks) validate them once.
        """
        variant = self._variant()
        rng = check_rng(random_state)
        if params is None:
            ids = list(data.participants)
        else:
            ids = list(params.index)
            unknown = [i for i in ids if i not in set(data.participants)]
            if unknown:
                raise ValueError(
                    f"params rows {unknown[:10]} name no template participant; with template "
                    "data, params must be indexed by template participant_id")
        matrix = self._params_matrix(params, ids, variant)
        return simulate_frames(variant, matrix, ids, learning, transfer, ids, rng, data=data)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
