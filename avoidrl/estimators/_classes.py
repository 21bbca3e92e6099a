"""One estimator class per base model, and :class:`CustomModel` for a user's model.

The built-in constructors differ only in which options they accept: ``bias``
is defined for ActorCritic and the hybrids, ``decay`` for every model with Q
values (not ActorCritic).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..models._declare import BaseModel
from ..models._builtin import (
    BASE_MODELS, ModelVariant, check_declaration, check_options, parse_model_name, resolve_base,
)
from ._base import RLModelBase

if TYPE_CHECKING:
    from .._utils.typing import RandomStateLike

_COMMON_DOC = """
    Parameters
    ----------
{options}
    bounds : dict, default=None
        ``{{parameter: (low, high)}}`` overriding the default bounds.
        ``set_params(bounds__temperature=(0.01, 0.5))`` sets one entry (and
        ``init__<parameter>`` one start value), e.g. in a grid search.
    init : dict, default=None
        ``{{parameter: value}}`` overriding the default start values (the
        reference's priors): the centre of 'normal' starts, the start itself
        for 'fixed'. A default start value outside narrowed ``bounds`` is
        moved to the nearest bound; a given one must lie within them.
    start : {{'normal', 'random', 'fixed'}}, default=None
        How starts are drawn: N(init, (high - low) / 15) clipped to the bounds,
        uniform within the bounds, or init (one start, the descent being
        deterministic). None means '{start}'.
    n_starts : int, default=None
        Starts per participant in the first round; the best is kept. None
        means {n_starts}. The default start mode and count are the fewest that
        brought most participants within 1 NLL of a many-start best on the
        tutorial data (benchmarks/fit_quality.py: 15 participants, the best of
        about 400 starts each, default fits with 3 seeds): {quality}.
    max_starts : int, default=None
        A participant whose best optimum was reached by fewer than two starts
        (NLLs within 0.1) gets further rounds of ``n_starts`` starts, up to
        ``max_starts`` in all; those still unconfirmed are named in a
        ConvergenceWarning and in ``optimum_hits_``. None means 3 x n_starts;
        ``max_starts=n_starts`` turns the extra rounds off. Models that nest a
        simpler model (Advantage and Hybrid2012/2021 nest QLearning) also start
        once from the simpler model's optimum, so they never fit worse than it.
    screen_starts : int, default=4
        In every round, each participant also descends from the best
        ``screen_starts`` of 1,024 quasi-random points (a scrambled Sobol
        sequence from its own stream) spread over the bounds' box, found by
        one batched likelihood evaluation; they count towards
        ``optimum_hits_`` but not towards ``max_starts``. A wide wrong basin
        can hold most random or 'normal' starts (which then confirm each
        other); the screen lands in the better basin elsewhere. 0 turns the
        screen off (the fits of avoidrl 0.1); 'fixed' starts never screen.
    random_state : int, RandomState instance, Generator or None, default=None
        Seeds the starts. Each participant draws its starts from its own
        stream, derived from the seed and its participant_id, so a
        participant's fit is the same alone or with others, in any order and
        for any ``n_jobs``. None gives a different fit each time.
    n_jobs : int, default=None
        Parallel workers over participants (None = 1, -1 = all cores). Two
        workers with compiled kernels (numba) are threads, since the kernels
        and the optimizer's step release the GIL and threads share the
        loaded kernels; more workers, or any without numba, are processes.
        A joblib backend set by the caller (``joblib.parallel_config(
        backend=...)``) is used instead; the fit is the same in every case.
    verbose : int, default=0
        When > 0, show a progress bar of the fit (starts descended, elapsed
        and remaining time) in a terminal or a notebook. Extra rounds of
        starts for unconfirmed optima extend the bar.
    optimizer_options : dict, default=None
        The descent's settings, with SciPy's L-BFGS-B names and defaults:
        maxiter, maxfun, ftol, gtol, maxcor, maxls, eps (finite-difference
        step), backend ('auto'; 'bfgsb', avoidrl's batched BFGS-B, compiled
        with numba and in numpy without it, with the same iterates, which
        'auto' takes with exact gradients; 'setulb' or 'scipy', SciPy's
        L-BFGS-B).
    missed_trials : {{'skip', 'error'}}, default='skip'
        A missed trial (``choice_made`` missing: no choice was made) has no
        likelihood term and, in learning, no update ('skip'; counted in
        ``n_missed_``, left out of ``n_trials_``), or the data are refused
        with a ValueError naming the participant and rows ('error').
    gradient : {{'exact', 'finite-difference'}}, default='exact'
        How the fit descends. 'exact': with the likelihood's exact gradient,
        derived from the model's declaration (forward mode; one evaluation
        per point, user models included), by avoidrl's batched BFGS-B
        (compiled with numba, numpy without: the same fits). 'finite-difference':
        SciPy's L-BFGS-B with forward differences (``1 + k`` evaluations per
        point), the reference's optimizer path, reproduced exactly. Both
        reach the same fit quality (see the README's Speed section); 'exact'
        is about twice as fast.
    intervals : {{'wald', 'profile', 'calibrated-profile'}}, default='wald'
        How ``params_ci_``'s 95 % intervals are computed. 'wald': from the
        NLL's Hessian at the estimate, in the logit space of the bounds (none
        for an estimate on a bound or not identified). 'profile': every value
        whose profile NLL (minimised over the other parameters, from the
        estimate and from the fit's other local optima) lies within
        chi2_1(0.95)/2 = 1.92 of the minimum, found by a batched walk and
        bisection; every estimate gets one, on a bound too.
        'calibrated-profile': the same with each parameter's cut calibrated
        by a parametric bootstrap of the fitted group (simulated at the
        estimates, refitted as the fit was, profile search included; the
        cut is the 95 % prediction bound of the likelihood ratios at the
        generating values, the ceil(0.95 (m + 1))-th smallest of m, never
        below 1.92; ``profile_cut_``): the cut
        then depends on the whole group, as an empirical-Bayes prior does (in
        a parameter recovery, the group is each work unit of 16 datasets).
        A profile point that beats the fit's optimum (by more than 0.1) is a
        better optimum the starts missed: the participant descends from it (a
        'profile' start in ``fits_``) and reports that optimum, profiled
        again. Profile intervals cost a few fits more (calibrated ones about
        five times that) and cover better where the likelihood is not
        quadratic (measured coverage in the README).

    Attributes
    ----------
    params_ : DataFrame
        Best-fitting parameters, indexed by participant_id.
    nll_, aic_, bic_ : Series
        Per participant; AIC = 2k + 2 NLL, BIC = k ln(n) + 2 NLL with n the
        participant's own number of learning + transfer trials.
    n_trials_ : Series
        Trials with a choice per participant (missed trials excluded).
    n_missed_ : Series
        Missed trials (no choice made) per participant, both phases.
    groups_ : Series
        Each participant's group_code.
    converged_ : Series of bool
        Whether the best start converged.
    optimum_hits_ : Series of int
        Starts that ended within 0.1 NLL of the best (at least 2 confirms
        the optimum was found more than once).
    n_starts_used_ : Series of int
        Starts run per participant (including the nested-model start).
    fits_ : DataFrame
        Every start: participant, start index, round, kind ('normal',
        'random', 'fixed', 'screen', 'nested' or 'profile'), start point,
        end point, NLL (always re-evaluated at the end point), convergence,
        iterations, evaluations and the optimizer's message.
    params_ci_ : DataFrame
        Per participant and parameter: estimate, lower, upper (the 95 %
        interval ``intervals`` chose) and status ('interior', 'at lower
        bound', 'at upper bound' or, Wald only, 'not identified').
    posterior_cov_ : ndarray of shape (n_participants, k, k)
        Inverse NLL Hessians in the logit space of the bounds (NaN where none).
    profile_cut_ : Series
        Profile intervals only: the NLL rise that bounds each parameter's
        interval (1.92, or the bootstrap's with 'calibrated-profile').
    profile_calibration_ : DataFrame or None
        Profile intervals only; with 'calibrated-profile', per parameter:
        ``n`` (the bootstrap's likelihood ratios, simulated groups x
        participants), ``coverage_chi2`` (how often 1.92 covered the
        generating values in the simulated groups), ``cut`` and ``coverage``
        (how often the cut covered them there). None with 'profile'.
    bounds_, init_ : dict
        The bounds and start values used.
    n_starts_ : int
        Starts per participant in the first round.
    model_name_ : str
        The model variant fitted (e.g. ``QLearning+novel``).
"""

_NOVEL = """    novel : bool, default=False
        Fit the value of the novel transfer stimulus (``novel_value``)."""
_DECAY = """    decay : bool, default=False
        Shrink Q values toward 0 before transfer (``decay_factor``)."""
_BIAS = """    bias : bool, default=False
        Valence bias on outcomes (``valence_factor``)."""


def _document(cls, summary, options):
    # the share of participants the default starts fit well, measured by
    # benchmarks/fit_quality.py (all 15 tutorial participants, +novel), is
    # declared with the model
    quality = BASE_MODELS[cls._base_name]._fit_quality
    cls.__doc__ = summary + "\n" + _COMMON_DOC.format(
        options="\n".join(options), n_starts=cls._default_n_starts,
        start=cls._default_start,
        quality=f"{quality} of participants" if quality else "not measured yet")
    return cls


class _NoBiasModel(RLModelBase):
    def __init__(self, *, novel: bool = False, decay: bool = False,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 init: dict[str, float] | None = None, start: str | None = None,
                 n_starts: int | None = None, max_starts: int | None = None,
                 screen_starts: int = 4,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0, optimizer_options: dict[str, Any] | None = None,
                 missed_trials: str = "skip", gradient: str = "exact",
                 intervals: str = "wald") -> None:
        self.novel = novel
        self.decay = decay
        self.bounds = bounds
        self.init = init
        self.start = start
        self.n_starts = n_starts
        self.max_starts = max_starts
        self.screen_starts = screen_starts
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.optimizer_options = optimizer_options
        self.missed_trials = missed_trials
        self.gradient = gradient
        self.intervals = intervals


class _NoDecayModel(RLModelBase):
    def __init__(self, *, bias: bool = False, novel: bool = False,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 init: dict[str, float] | None = None, start: str | None = None,
                 n_starts: int | None = None, max_starts: int | None = None,
                 screen_starts: int = 4,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0, optimizer_options: dict[str, Any] | None = None,
                 missed_trials: str = "skip", gradient: str = "exact",
                 intervals: str = "wald") -> None:
        self.bias = bias
        self.novel = novel
        self.bounds = bounds
        self.init = init
        self.start = start
        self.n_starts = n_starts
        self.max_starts = max_starts
        self.screen_starts = screen_starts
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.optimizer_options = optimizer_options
        self.missed_trials = missed_trials
        self.gradient = gradient
        self.intervals = intervals


class _FullModel(RLModelBase):
    def __init__(self, *, bias: bool = False, novel: bool = False, decay: bool = False,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 init: dict[str, float] | None = None, start: str | None = None,
                 n_starts: int | None = None, max_starts: int | None = None,
                 screen_starts: int = 4,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0, optimizer_options: dict[str, Any] | None = None,
                 missed_trials: str = "skip", gradient: str = "exact",
                 intervals: str = "wald") -> None:
        self.bias = bias
        self.novel = novel
        self.decay = decay
        self.bounds = bounds
        self.init = init
        self.start = start
        self.n_starts = n_starts
        self.max_starts = max_starts
        self.screen_starts = screen_starts
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.optimizer_options = optimizer_options
        self.missed_trials = missed_trials
        self.gradient = gradient
        self.intervals = intervals


class QLearning(_NoBiasModel):
    _base_name = "QLearning"


class Relative(_NoBiasModel):
    _base_name = "Relative"


class Advantage(_NoBiasModel):
    _base_name = "Advantage"


class ActorCritic(_NoDecayModel):
    _base_name = "ActorCritic"


class Hybrid2012(_FullModel):
    _base_name = "Hybrid2012"


class Hybrid2021(_FullModel):
    _base_name = "Hybrid2021"


class StandardHybrid2012(_FullModel):
    _base_name = "StandardHybrid2012"


class StandardHybrid2021(_FullModel):
    _base_name = "StandardHybrid2021"


ESTIMATORS = {cls._base_name: cls for cls in (
    QLearning, ActorCritic, Relative, Advantage, Hybrid2012, Hybrid2021,
    StandardHybrid2012, StandardHybrid2021)}

for _cls in ESTIMATORS.values():
    _base = BASE_MODELS[_cls._base_name]
    _options = [_NOVEL]
    if "bias" in _cls.__init__.__code__.co_varnames:
        _options.insert(0, _BIAS)
    if "decay" in _cls.__init__.__code__.co_varnames:
        _options.append(_DECAY)
    _summary = (_base.__doc__ or _cls._base_name).strip().split("\n\n")[0]
    _document(_cls, f"{_summary}\n\n    Free parameters: "
              + ", ".join(p.name for p in _base.parameters)
              + " (+ the options' parameters).\n",
              _options)


class CustomModel(RLModelBase):
    """Estimator of a model you declared: fit, score, simulate and recover it.

    One generic class serves every user model: the model instance is a
    constructor parameter, so ``clone``, ``get_params``/``set_params`` and
    pickling (also by joblib's process workers) work as for any scikit-learn
    estimator, provided the model's class is defined at module level.
    ``avoidrl.models.make_estimator(MyModel, ...)`` and
    ``make_model("module:MyModel+novel")`` build one.

    Parameters
    ----------
    model : avoidrl.models.BaseModel instance (or subclass)
        The model declaration (see :mod:`avoidrl.models`).
    bias : bool, default=False
        Valence bias on outcomes (``valence_factor``); only for models whose
        ``allows_bias`` is True.
    novel : bool, default=False
        Fit the value of the novel transfer stimulus (``novel_value``).
    decay : bool, default=False
        Shrink Q values toward 0 before transfer (``decay_factor``); only for
        models with Q values (``has_q_values``).
    bounds, init, start, n_starts, max_starts, screen_starts, random_state, n_jobs, \
verbose, optimizer_options, missed_trials, gradient, intervals
        As for the built-in estimators (e.g. :class:`QLearning`). ``start``
        and ``n_starts`` default to the model's ``default_start`` and
        ``default_n_starts`` ('normal', 10 unless it sets them).

    Attributes
    ----------
    params_, nll_, aic_, bic_, ...
        As for the built-in estimators; ``model_name_`` is the model's name
        with its options (e.g. ``AsymmetricQ+novel``).

    Examples
    --------
    >>> from avoidrl.estimators import CustomModel
    >>> from avoidrl.models._builtin import QLearning as QLearningModel
    >>> CustomModel(QLearningModel(), novel=True).model_name
    'QLearning+novel'
    """

    def __init__(self, model: BaseModel | type[BaseModel], *, bias: bool = False,
                 novel: bool = False, decay: bool = False,
                 bounds: dict[str, tuple[float, float]] | None = None,
                 init: dict[str, float] | None = None, start: str | None = None,
                 n_starts: int | None = None, max_starts: int | None = None,
                 screen_starts: int = 4,
                 random_state: RandomStateLike = None, n_jobs: int | None = None,
                 verbose: int = 0, optimizer_options: dict[str, Any] | None = None,
                 missed_trials: str = "skip", gradient: str = "exact",
                 intervals: str = "wald") -> None:
        self.model = model
        self.bias = bias
        self.novel = novel
        self.decay = decay
        self.bounds = bounds
        self.init = init
        self.start = start
        self.n_starts = n_starts
        self.max_starts = max_starts
        self.screen_starts = screen_starts
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.optimizer_options = optimizer_options
        self.missed_trials = missed_trials
        self.gradient = gradient
        self.intervals = intervals

    def _base_model(self):
        return check_declaration(self.model)

    @property
    def _default_start(self):
        return getattr(self.model, "default_start", RLModelBase._default_start)

    @property
    def _default_n_starts(self):
        return getattr(self.model, "default_n_starts", RLModelBase._default_n_starts)

    def _variant(self):
        base = self._base_model()
        options = {}
        for option in ("bias", "novel", "decay"):
            value = getattr(self, option)
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"{option} must be True or False, got {value!r}")
            options[option] = bool(value)
        return ModelVariant(base, **options)


def _build(base_name, options, params, name):
    """The estimator of ``base_name`` with ``options`` and keyword ``params``, checked."""
    builtin = ESTIMATORS.get(base_name)
    base = BASE_MODELS[base_name] if builtin is not None else resolve_base(base_name)
    cls = builtin if builtin is not None else CustomModel
    accepted = [p for p in cls._get_param_names() if p != "model"]
    if builtin is None:
        # a user model takes +bias / +decay only where its declaration allows them
        accepted = [p for p in accepted
                    if not (p == "bias" and not base.allows_bias)
                    and not (p == "decay" and not base.has_q_values)]
    for option in ("bias", "decay"):
        if params.get(option) and option not in accepted:  # raises, saying why
            check_options(base, option == "bias", option == "decay")
    for option, on in options.items():
        if not on:
            continue
        if option not in accepted:  # raises, saying why the option does not apply
            check_options(base, option == "bias", option == "decay")
        if option in params:
            raise ValueError(f"{option!r} given both in the name {name!r} and as a keyword")
        params[option] = True
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"{base_name} has no parameter(s) {unknown}; valid: {accepted}")
    return cls(**params) if builtin is not None else CustomModel(base, **params)


def make_model(name: str, **params: Any) -> RLModelBase:
    """Return the estimator of a reference-style model name.

    Parameters
    ----------
    name : str
        ``Base[+bias][+novel][+decay]``, options in any order, e.g.
        ``"Hybrid2012+bias+novel"``. ``Base`` is a built-in model, or a user
        model (see :mod:`avoidrl.models`) given by its import path
        ``"package.module:Class"`` (e.g. ``"mypackage.models:AsymmetricQ+novel"``),
        or by its name once loaded in this session.
    **params
        Other constructor parameters (``n_starts``, ``bounds``, ...).

    Returns
    -------
    estimator : RLModelBase subclass instance
        A built-in model's estimator class, or :class:`CustomModel` for a
        user model.

    Raises
    ------
    ValueError
        For an unknown base or option, an option the model does not take,
        or a user model whose module cannot be imported or whose attribute
        is not a BaseModel subclass (the message names them).

    Examples
    --------
    >>> from avoidrl import make_model
    >>> make_model("QLearning+novel", n_starts=5)
    QLearning(n_starts=5, novel=True)
    """
    base_name, options = parse_model_name(name)
    return _build(base_name, options, dict(params), name)
