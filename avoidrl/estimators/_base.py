"""RLModelBase: the maximum-likelihood estimator every model's estimator class extends.

The "fit" step of the flow for maximum likelihood, and what a fitted model
answers afterwards. Here: the estimator's settings (checked by
:mod:`._settings` into a :class:`~._settings.FitSettings`), ``fit`` (data
from :mod:`avoidrl._core.data`, the multi-start search of :mod:`._multistart`,
the Wald intervals of :mod:`._intervals`), ``score`` / ``bic`` /
``negative_log_likelihood``, ``trial_values`` and ``sample`` (the simulator of
:mod:`avoidrl._core.simulate`). The estimator classes of :mod:`._classes`
only name their model and options.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import logsumexp
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.validation import check_is_fitted

from .._core._labels import participant_positions
from .._core.data import check_missed_option, load_task_data, split_phases
from .._core.likelihood import Objective, choice_nll, learning_recursion
from .._core.simulate import default_design, simulate_frames, simulate_rows
from .._core.task import PAIR_LETTERS, STIMULUS_LETTERS
from .._utils.fitted import register_fit_method
from .._utils.progress import progress_listened
from .._utils.validation import (  # noqa: F401  (check_n_jobs, check_rng: importable here as before)
    SEED_LIMIT, START_MODES, check_n_jobs, check_number, check_picklable, check_rng,
    check_verbose, effective_n_jobs,
)
from .._utils.warnings import warn
from ..models._builtin import BASE_MODELS, ModelVariant, check_options
from ..models._declare import BaseModel
from ._intervals import set_intervals
from ._method import MaximumLikelihood
from ._multistart import best_of, fit_participants, fits_table, participant_seeds
from ._prediction import TransferPrediction
from ._settings import (
    FitSettings, check_gradient, check_intervals, check_optimizer_options, check_starts,
    merge_per_parameter, resolve_bounds_init,
)

if TYPE_CHECKING:
    from typing import Self

    from .._utils.typing import FrameLike, RandomStateLike

#: the former name of SEED_LIMIT here
_MAX_SEED = SEED_LIMIT
_effective_n_jobs = effective_n_jobs


@register_fit_method
class RLModelBase(MaximumLikelihood, TransferPrediction, BaseEstimator):
    """Base class of the avoidrl estimators. Not for direct use.

    Subclasses set ``_base_name``; options absent from a subclass's
    constructor are off.
    """

    _base_name = None
    #: default start mode and number of starts per participant: the model
    #: declaration's (``default_start`` / ``default_n_starts``, chosen for the
    #: built-ins from benchmarks/fit_quality.py); a subclass naming a built-in
    #: model gets its declaration's in ``__init_subclass__``
    _default_start = BaseModel.default_start
    _default_n_starts = BaseModel.default_n_starts

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # a built-in model's start policy is declared with the model (models/_builtin.py)
        if cls.__dict__.get("_base_name") is not None:
            declaration = BASE_MODELS[cls._base_name]
            cls._default_start = declaration.default_start
            cls._default_n_starts = declaration.default_n_starts

    #: constructor parameters added after avoidrl 0.1, with the value that gives an
    #: estimator unpickled from an older version its old behaviour (on refit too)
    _ADDED_PARAMETERS = {"screen_starts": 0, "missed_trials": "skip",
                         "gradient": "finite-difference", "intervals": "wald"}

    def __setstate__(self, state):
        for name, value in self._ADDED_PARAMETERS.items():
            state.setdefault(name, value)
        super().__setstate__(state)

    def __new__(cls, *args, **kwargs):
        # An option the model does not take would otherwise be a bare
        # "unexpected keyword argument" TypeError; say why it is not an option.
        if cls._base_name is not None:
            accepted = cls._get_param_names()
            for option in ("bias", "decay"):
                if option in kwargs and option not in accepted:
                    check_options(cls._base_name, option == "bias", option == "decay")
        return super().__new__(cls)

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
        """The fit's bounds and start values (see :func:`._settings.resolve_bounds_init`)."""
        return resolve_bounds_init(variant, self.bounds, self.init)

    def _check_settings(self):
        start, n_starts, max_starts = check_starts(self.start, self.n_starts, self.max_starts,
                                                   self._default_start, self._default_n_starts)
        check_n_jobs(self.n_jobs)
        check_verbose(self.verbose)
        model = getattr(self, "model", None)  # a user model (CustomModel) goes to the workers
        if model is not None:
            check_picklable(model, f"the model {getattr(model, 'name', model)!r}", self.n_jobs)
        return start, n_starts, max_starts, check_optimizer_options(self.optimizer_options)

    def set_params(self, **params) -> Self:
        """Set the estimator's parameters; ``bounds__<name>`` / ``init__<name>`` set one entry.

        As scikit-learn's ``set_params``, and ``bounds__temperature=(0.01,
        0.5)`` (or ``init__temperature=0.1``) replaces that parameter's entry
        of ``bounds`` (``init``), keeping the others: a grid search can vary
        one bound (``{"bounds__temperature": [(0.01, 0.2), (0.01, 1.0)]}``).

        Returns
        -------
        self
        """
        return super().set_params(**merge_per_parameter(self.get_params(deep=False), params))

    def _load(self, X_learning, X_transfer=None):
        """The task data, missed trials handled as ``missed_trials`` says."""
        missed = check_missed_option(getattr(self, "missed_trials", "skip"), "missed_trials")
        return load_task_data(X_learning, X_transfer, missed=missed)

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
            Transfer-phase trials. Without them (``fit(X_learning)`` with a
            learning-only frame, or no probe rows) the fit has learning terms
            only; :meth:`predict_proba` and :meth:`transfer_log_loss` then
            predict the transfer phase out of sample. ``novel`` and ``decay``
            act only in transfer, so they need transfer data.

        Returns
        -------
        self
        """
        settings = self._fit_settings()
        data = self._load(X_learning, X_transfer)
        if not data.n_transfer.any() and (settings.variant.novel or settings.variant.decay):
            raise ValueError(
                f"{settings.variant.name}: the data have no transfer trials, but novel=True / "
                "decay=True add parameters that act only in the transfer phase (they would "
                "not be identified); fit without them, or give the transfer data")
        seeds = participant_seeds(self.random_state, data.participants)
        return self._fit_data(data, seeds, settings)

    def _fit_settings(self) -> FitSettings:
        """Validated settings of a fit: variant, bounds, start values, starts, options."""
        variant = self._variant()
        bounds, init = self._resolve_bounds_init(variant)
        start, n_starts, max_starts, options = self._check_settings()
        screen_starts = check_number(getattr(self, "screen_starts", 0), "screen_starts",
                                     integer=True, low=0,
                                     expected="a non-negative integer (0: no screen)")
        if start == "fixed":
            # L-BFGS-B is deterministic: repeated fixed starts are identical,
            # and the one start is the user's choice: no screen either
            n_starts = max_starts = 1
            screen_starts = 0
        gradient = check_gradient(getattr(self, "gradient", "exact"))
        check_intervals(getattr(self, "intervals", "wald"))
        if options.get("backend") == "bfgsb" and gradient != "exact":
            raise ValueError("optimizer_options['backend'] = 'bfgsb' needs gradient='exact' "
                             f"(it descends with exact gradients), got gradient={gradient!r}")
        return FitSettings(variant=variant, bounds=bounds, init=init, start=start,
                           n_starts=n_starts, max_starts=max_starts, options=options,
                           screen_starts=int(screen_starts), gradient=gradient)

    def _fit_data(self, data, seeds, settings, warn=True, intervals=True):
        """Fit validated data, participant ``i`` drawing its starts from ``seeds[i]``.

        ``intervals=False`` skips ``params_ci_`` and ``posterior_cov_`` (recovery
        fits do not report them).
        """
        n_jobs = min(effective_n_jobs(self.n_jobs), data.n_participants)
        records = fit_participants(data, seeds, settings, n_jobs, self._shows_progress(),
                                   self.verbose)
        best, _ = best_of(records)
        self._set_fitted(data, settings, records, best)
        if intervals:
            set_intervals(self, data, settings, records, best, seeds, n_jobs,
                          check_intervals(getattr(self, "intervals", "wald")))
        if warn:
            self._warn_fit_problems(settings, data.n_participants)
        return self

    def _set_fitted(self, data, settings, records, best):
        """The fitted attributes from the multi-start records and the best points ``best``."""
        names = list(settings.variant.parameter_names)
        ids = pd.Index(data.participants, name="participant_id")
        _, nll = best_of(records)
        k = len(names)
        n_trials = data.n_trials.astype(float)
        self.model_name_ = settings.variant.name
        self.bounds_ = settings.bounds
        self.init_ = settings.init
        self.n_starts_ = settings.n_starts
        self.params_ = pd.DataFrame(best, index=ids, columns=names)
        self.nll_ = pd.Series(nll, index=ids, name="nll")
        self.aic_ = pd.Series(2 * k + 2 * nll, index=ids, name="aic")
        self.bic_ = pd.Series(k * np.log(n_trials) + 2 * nll, index=ids, name="bic")
        self.n_trials_ = pd.Series(data.n_trials, index=ids, name="n_trials")
        self.n_missed_ = pd.Series(data.n_missed, index=ids, name="n_missed")
        self.groups_ = pd.Series(data.groups, index=ids, name="group_code")
        self.converged_ = pd.Series([bool(rec["success"][rec["best"]]) for rec in records],
                                    index=ids, name="converged")
        self.n_starts_used_ = pd.Series([rec["nll"].size for rec in records], index=ids,
                                        name="n_starts_used")
        self.optimum_hits_ = pd.Series([rec["hits"] for rec in records], index=ids,
                                       name="optimum_hits")
        self.fits_ = fits_table(data, records, names)

    def _shows_progress(self):
        """Whether a bar is drawn or a front end listens to this fit's progress."""
        return bool(self.verbose) or progress_listened()

    def _warn_fit_problems(self, settings, n_participants):
        """One ConvergenceWarning per kind of problem, naming the participants."""
        def shown(ids):
            return ", ".join(map(str, ids[:10])) + (" ..." if len(ids) > 10 else "")

        name = settings.variant.name
        failed = self.converged_.index[~self.converged_.to_numpy()]
        if len(failed):
            warn(
                f"{name}: the best start did not converge for {len(failed)} of "
                f"{n_participants} participant(s): {shown(failed)}. See converged_ and "
                "fits_['message']; more starts (n_starts) usually help.",
                ConvergenceWarning)
        if settings.start != "fixed":
            once = self.optimum_hits_.index[self.optimum_hits_.to_numpy() < 2]
            if len(once):
                warn(
                    f"{name}: for {len(once)} of {n_participants} participant(s) the best "
                    f"optimum was reached by only one of up to {settings.max_starts} "
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
        data = self._load(X_learning, X_transfer)
        matrix = self._params_matrix(params, data.participants, variant)
        learning, transfer = Objective(variant, data).phases(matrix)
        return pd.DataFrame(
            {"learning": learning, "transfer": transfer, "total": learning + transfer},
            index=pd.Index(data.participants, name="participant_id"))

    def bic(self, X_learning: FrameLike, X_transfer: FrameLike | None = None) -> pd.Series:
        """BIC of each participant at the fitted parameters (own trial count n, missed excluded)."""
        self._check_fitted_model(self._variant())
        nll = self.negative_log_likelihood(X_learning, X_transfer)
        data_n = self._trial_counts(X_learning, X_transfer)
        return pd.Series(self.n_parameters * np.log(data_n) + 2 * nll["total"].to_numpy(),
                         index=nll.index, name="bic")

    def _trial_counts(self, X_learning, X_transfer):
        return self._load(X_learning, X_transfer).n_trials.astype(float)

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
        data = self._load(X_learning, X_transfer)
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
        return self._trial_values_on(self._load(X_learning, X_transfer), params)

    def _trial_values_on(self, data, params=None):
        """:meth:`trial_values` of data already loaded (models of one report share a load)."""
        variant = self._variant()
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
            "pair": np.asarray(PAIR_LETTERS)[s],
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
        table = pd.concat([learning, transfer], ignore_index=True)
        position = participant_positions(data.participants, table["participant_id"])
        order = np.lexsort((table["trial"].to_numpy(), table["phase"] == "transfer", position))
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
                check_number(n_participants, "n_participants", integer=True, low=1)
                init = getattr(self, "init_", None) or self._resolve_bounds_init(variant)[1]
                params = pd.DataFrame([init] * int(n_participants),
                                      index=pd.Index([f"sim_{i}" for i in range(n_participants)],
                                                     name="participant_id"))
            ids = list(params.index)
            matrix = self._params_matrix(params, ids, variant)
            for what, value in (("trials_per_pair", trials_per_pair),
                                ("transfer_repeats", transfer_repeats)):
                check_number(value, what, integer=True, low=1)
            learning, transfer = default_design(ids, rng, trials_per_pair=trials_per_pair,
                                                transfer_repeats=transfer_repeats)
            return simulate_frames(variant, matrix, ids, learning, transfer, ids, rng)
        learning, transfer = split_phases(X_learning, X_transfer)
        return self._sample_on(self._load(learning, transfer), learning, transfer, params, rng)

    def _sample_on(self, data, learning, transfer, params, random_state, frames=True):
        """:meth:`sample` on template frames already validated into ``data``.

        Repeated simulations of the same templates (posterior predictive checks)
        validate them once; ``frames=False`` gives :func:`simulate_rows`' rows.
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
        if not frames:
            return simulate_rows(variant, matrix, learning, transfer, ids, rng, data=data)
        return simulate_frames(variant, matrix, ids, learning, transfer, ids, rng, data=data)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
