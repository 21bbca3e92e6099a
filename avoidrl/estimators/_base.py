"""The shared estimator machinery: validation, multi-start fitting, scoring, sampling."""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from .._data import STIMULUS_LETTERS, load_task_data, split_phases
from .._likelihood import Objective, choice_nll, learning_recursion
from .._models import BASE_MODELS, ModelVariant
from .._optimize import minimize_lbfgsb_batch
from .._simulate import default_design, simulate_frames

START_MODES = ("normal", "random", "fixed")
OPTIMIZER_OPTIONS = ("maxiter", "maxfun", "ftol", "gtol", "maxcor", "maxls", "eps", "backend")
#: spread of 'normal' starts as a fraction of each parameter's range (the reference's 1/15)
NORMAL_START_SPREAD = 1.0 / 15.0


def _effective_n_jobs(n_jobs):
    from joblib import effective_n_jobs

    return effective_n_jobs(n_jobs if n_jobs is not None else 1)


def _fit_problems(variant, data, starts, owner, bounds, options):
    """Lock-step L-BFGS-B over a set of (participant, start) problems."""
    objective = Objective(variant, data)

    def fun(points, problem):
        return objective(points, owner[problem])

    return minimize_lbfgsb_batch(fun, starts, bounds, **options)


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

    # ------------------------------------------------------------------ model
    @property
    def model_name(self):
        """The reference-style name of this model variant (e.g. ``QLearning+novel``)."""
        return self._variant().name

    def _variant(self):
        bias = bool(getattr(self, "bias", False))
        decay = bool(getattr(self, "decay", False))
        return ModelVariant(BASE_MODELS[self._base_name], bias=bias,
                            novel=bool(getattr(self, "novel", False)), decay=decay)

    @property
    def parameter_names(self):
        """Free parameter names, in the reference's order."""
        return list(self._variant().parameter_names)

    @property
    def n_parameters(self):
        """Number of free parameters k (used in AIC and BIC)."""
        return self._variant().n_parameters

    def _resolve_bounds_init(self, variant):
        names = variant.parameter_names
        bounds = {p.name: (float(p.low), float(p.high)) for p in variant.parameters}
        init = {p.name: float(p.init) for p in variant.parameters}
        for what, given in (("bounds", self.bounds), ("init", self.init)):
            if given is None:
                continue
            if not hasattr(given, "items"):
                raise ValueError(f"{what} must be a dict mapping parameter names, got {given!r}")
            unknown = sorted(set(given) - set(names))
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
            bounds[name] = (low, high)
        for name, value in (self.init or {}).items():
            if not isinstance(value, numbers.Real):
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
        if bounds["temperature"][0] <= 0:
            raise ValueError("bounds['temperature'] must have a positive lower bound")
        return bounds, init

    def _check_settings(self):
        start = self._default_start if self.start is None else self.start
        if start not in START_MODES:
            raise ValueError(f"start must be one of {list(START_MODES)}, got {self.start!r}")
        n_starts = self._default_n_starts if self.n_starts is None else self.n_starts
        if not isinstance(n_starts, numbers.Integral) or isinstance(n_starts, bool) \
                or n_starts < 1:
            raise ValueError(f"n_starts must be a positive integer, got {self.n_starts!r}")
        options = dict(self.optimizer_options or {})
        unknown = sorted(set(options) - set(OPTIMIZER_OPTIONS))
        if unknown:
            raise ValueError(
                f"optimizer_options: unknown option(s) {unknown}; valid options are "
                f"{list(OPTIMIZER_OPTIONS)}")
        return start, int(n_starts), options

    def _draw_starts(self, rng, n_participants, settings):
        """Start points of shape (n_participants, n_starts, k)."""
        bounds, init = settings["bounds"], settings["init"]
        names = settings["variant"].parameter_names
        n_starts, start = settings["n_starts"], settings["start"]
        low = np.array([bounds[n][0] for n in names])
        high = np.array([bounds[n][1] for n in names])
        centre = np.array([init[n] for n in names])
        shape = (n_participants, n_starts, len(names))
        if start == "fixed":
            return np.broadcast_to(centre, shape).copy()
        if start == "random":
            return low + (high - low) * rng.random_sample(shape)
        draws = centre + (high - low) * NORMAL_START_SPREAD * rng.standard_normal(shape)
        return np.clip(draws, low, high)

    # -------------------------------------------------------------------- fit
    def fit(self, X_learning, X_transfer=None):
        """Fit the model to every participant by maximum likelihood.

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
        data = load_task_data(X_learning, X_transfer)
        settings = self._fit_settings()
        rng = check_random_state(self.random_state)
        starts = self._draw_starts(rng, data.n_participants, settings)
        return self._fit_data(data, starts, settings)

    def _fit_settings(self):
        """Validated settings of a fit: variant, bounds, start values, starts, options."""
        variant = self._variant()
        bounds, init = self._resolve_bounds_init(variant)
        start, n_starts, options = self._check_settings()
        if start == "fixed":
            n_starts = 1  # L-BFGS-B is deterministic: repeated fixed starts are identical
        return {"variant": variant, "bounds": bounds, "init": init, "start": start,
                "n_starts": n_starts, "options": options}

    def _fit_data(self, data, starts, settings, warn=True):
        """Fit validated data from given start points of shape (n, n_starts, k)."""
        variant = settings["variant"]
        bounds, init, options = settings["bounds"], settings["init"], settings["options"]
        n_starts = starts.shape[1]
        names = variant.parameter_names
        box = np.array([bounds[n] for n in names])

        n_jobs = min(_effective_n_jobs(self.n_jobs), data.n_participants)
        # Participants are split into contiguous chunks; each problem's result
        # does not depend on the others', so any n_jobs gives the same fit.
        chunks = [c for c in np.array_split(np.arange(data.n_participants), n_jobs) if c.size]
        with threadpool_limits(1):
            if len(chunks) == 1:
                results = [_fit_problems(variant, data, starts.reshape(-1, len(names)),
                                         np.repeat(np.arange(data.n_participants), n_starts),
                                         box, options)]
            else:
                results = Parallel(n_jobs=len(chunks), verbose=self.verbose)(
                    delayed(_fit_problems)(
                        variant, data.subset(chunk), starts[chunk].reshape(-1, len(names)),
                        np.repeat(np.arange(len(chunk)), n_starts), box, options)
                    for chunk in chunks)

        x = np.concatenate([r.x for r in results]).reshape(data.n_participants, n_starts, -1)
        nll = np.concatenate([r.fun for r in results]).reshape(data.n_participants, n_starts)
        success = np.concatenate([r.success for r in results]).reshape(nll.shape)
        nit = np.concatenate([r.nit for r in results]).reshape(nll.shape)
        nfev = np.concatenate([r.nfev for r in results]).reshape(nll.shape)
        message = sum((list(r.message) for r in results), [])

        ids = pd.Index(data.participants, name="participant_id")
        ranked = np.where(np.isnan(nll), np.inf, nll)
        best = ranked.argmin(axis=1)
        rows = np.arange(data.n_participants)
        k = len(names)
        n_trials = data.n_trials.astype(float)
        self.bounds_ = bounds
        self.init_ = init
        self.n_starts_ = n_starts
        self.params_ = pd.DataFrame(x[rows, best], index=ids, columns=list(names))
        self.nll_ = pd.Series(nll[rows, best], index=ids, name="nll")
        self.aic_ = pd.Series(2 * k + 2 * self.nll_.to_numpy(), index=ids, name="aic")
        self.bic_ = pd.Series(k * np.log(n_trials) + 2 * self.nll_.to_numpy(), index=ids,
                              name="bic")
        self.n_trials_ = pd.Series(data.n_trials, index=ids, name="n_trials")
        self.groups_ = pd.Series(data.groups, index=ids, name="group_code")
        self.converged_ = pd.Series(success[rows, best], index=ids, name="converged")
        fits = pd.DataFrame({
            "participant_id": np.repeat(data.participants, n_starts),
            "group_code": np.repeat(data.groups, n_starts),
            "start": np.tile(np.arange(n_starts), data.n_participants),
        })
        for j, name in enumerate(names):
            fits[f"start_{name}"] = starts[:, :, j].ravel()
        for j, name in enumerate(names):
            fits[name] = x[:, :, j].ravel()
        fits["nll"] = nll.ravel()
        fits["converged"] = success.ravel()
        fits["best"] = (np.arange(n_starts)[None, :] == best[:, None]).ravel()
        fits["n_iter"] = nit.ravel()
        fits["n_fev"] = nfev.ravel()
        fits["message"] = message
        self.fits_ = fits
        failed = ids[~self.converged_.to_numpy()]
        if warn and len(failed):
            shown = ", ".join(map(str, failed[:10])) + (" ..." if len(failed) > 10 else "")
            warnings.warn(
                f"{variant.name}: the best of {n_starts} start(s) did not converge for "
                f"{len(failed)} of {data.n_participants} participant(s): {shown}. See "
                "converged_ and fits_['message']; more starts (n_starts) usually help.",
                ConvergenceWarning, stacklevel=2)
        return self

    # ---------------------------------------------------------------- scoring
    def _params_matrix(self, params, participants, variant):
        """Parameter vectors of ``participants`` from a DataFrame (or params_)."""
        if params is None:
            check_is_fitted(self, "params_")
            params = self.params_
        if not isinstance(params, pd.DataFrame):
            raise ValueError(
                "params must be a DataFrame indexed by participant_id with one column per "
                f"parameter {list(variant.parameter_names)}")
        missing_cols = [n for n in variant.parameter_names if n not in params.columns]
        if missing_cols:
            raise ValueError(f"params: missing parameter column(s) {missing_cols} for "
                             f"{variant.name}")
        missing = [p for p in participants if p not in params.index]
        if missing:
            fitted = " were not fitted" if params is getattr(self, "params_", None) else \
                " have no row in params"
            raise ValueError(f"participant(s) {missing[:10]}{fitted}")
        matrix = params.loc[list(participants), list(variant.parameter_names)].to_numpy(float)
        if not np.isfinite(matrix).all():
            raise ValueError("params contains NaN or infinite values")
        return matrix

    def negative_log_likelihood(self, X_learning, X_transfer=None, params=None):
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

    def bic(self, X_learning, X_transfer=None):
        """BIC of each participant at the fitted parameters (own trial count n)."""
        check_is_fitted(self, "params_")
        nll = self.negative_log_likelihood(X_learning, X_transfer)
        data_n = self._trial_counts(X_learning, X_transfer)
        return pd.Series(self.n_parameters * np.log(data_n) + 2 * nll["total"].to_numpy(),
                         index=nll.index, name="bic")

    def _trial_counts(self, X_learning, X_transfer):
        return load_task_data(X_learning, X_transfer).n_trials.astype(float)

    def score(self, X_learning, X_transfer=None):
        """Minus the mean BIC per participant of the given data (higher is better).

        The participants must have been fitted.
        """
        return -float(self.bic(X_learning, X_transfer).mean())

    # ----------------------------------------------------------------- traces
    def trial_values(self, X_learning, X_transfer=None, params=None):
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
    def sample(self, X_learning=None, X_transfer=None, params=None, random_state=None, *,
               n_participants=None, trials_per_pair=24, transfer_repeats=12):
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
        rng = check_random_state(random_state)
        if X_learning is None and X_transfer is None:
            if params is None:
                if n_participants is None:
                    raise ValueError("give params, template data or n_participants")
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
        data = load_task_data(learning, transfer)
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
        return simulate_frames(variant, matrix, ids, learning, transfer, ids, rng)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.two_d_array = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.target_tags.required = False
        return tags
