"""Model declarations: parameters, bounds, start values and update rules.

Each base model is declared once here, as a small class holding its free
parameters and its trial update. The same methods serve the likelihood kernel
(:mod:`avoidrl._likelihood`, actions read from data) and the simulator
(:mod:`avoidrl._simulate`, actions drawn from the model), so there is no second
copy of any equation.

All arrays are batched: model parameters (``theta[name]``) have shape
``(batch, 1)`` and broadcast against per-pair arrays of shape
``(batch, 4)``; per-step inputs made by ``prepare`` carry a leading time axis.
``choice`` is 1.0 when option 1 (the worse option) was chosen.

The equations follow the reference implementation (see
``reference-spec.md`` sections 2-3): temperature softmax, complete feedback
with factual / counterfactual learning rates, L1-normalised actor weights,
decay of Q values towards 0 before transfer, and the valence bias transform.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ._data import N_PAIRS


#: The unit interval, the valid domain of rates, weights and factors.
UNIT = (0.0, 1.0)


@dataclass(frozen=True)
class Parameter:
    """A free parameter: its name, default bounds and start value, and valid domain.

    ``domain`` is the closed interval of values for which the model is
    defined (a learning rate outside [0, 1] makes the recursion diverge, a
    temperature must be positive); bounds must lie within it, and parameter
    values given by a user are checked against it. ``open_low`` marks a
    domain whose lower end is excluded (the temperature: 0 < T).
    """

    name: str
    low: float
    high: float
    init: float
    description: str
    domain: tuple = UNIT
    open_low: bool = False

    @property
    def bounds(self):
        return (self.low, self.high)

    def domain_text(self):
        """The domain in words, for error messages (e.g. ``(0, inf)``)."""
        low, high = self.domain
        return f"{'(' if self.open_low else '['}{low:g}, {high:g}{']' if np.isfinite(high) else ')'}"

    def outside_domain(self, values):
        """Boolean mask of ``values`` outside the domain (NaN counts as outside)."""
        values = np.asarray(values, dtype=float)
        low, high = self.domain
        below = values <= low if self.open_low else values < low
        with np.errstate(invalid="ignore"):
            return ~np.isfinite(values) | below | (values > high)


def _lr(name, init, description):
    return Parameter(name, 0.01, 0.99, init, description)


def _temperature(init=0.06):
    return Parameter("temperature", 0.01, 1.0, init,
                     "softmax temperature T (P(a) ∝ exp(v_a / T)); higher is noisier",
                     domain=(0.0, np.inf), open_low=True)


def _mixing(init):
    return Parameter("mixing_factor", 0.0, 1.0, init,
                     "weight m of the Q system in the hybrid value (1 - m) W + m Q")


def _noise(init=0.04):
    return Parameter("noise_factor", 0.0, 0.2, init,
                     "lapse rate ε: P(a) = (1 - ε) softmax + ε / 2")


VALENCE = Parameter("valence_factor", 0.0, 1.0, 0.33,
                    "valence bias b: gains scaled by (1 - b), losses by b")
NOVEL = Parameter("novel_value", -1.0, 1.0, 0.0,
                  "value of the novel stimulus N in the transfer phase", domain=(-1.0, 1.0))
DECAY = Parameter("decay_factor", 0.0, 0.2, 0.08,
                  "shrinkage d of Q values toward 0 before transfer: (1 - d) Q")


def _by_choice(chose1, factual, counterfactual):
    """Learning rates of both options, shape (..., 2, batch, 4).

    The chosen option gets the factual rate, the unchosen one the
    counterfactual rate; ``np.where`` keeps the reference's values exactly.
    ``chose1`` has shape (n_steps, batch, 4); the rates (batch, 4) or scalars.
    """
    return np.stack([np.where(chose1, counterfactual, factual),
                     np.where(chose1, factual, counterfactual)], axis=1)


def _both_options(per_pair):
    """Repeat a (n_steps, batch, 4) per-pair array for both options."""
    return np.repeat(per_pair[:, None], 2, axis=1)


def stimulus_table(values, novel):
    """Lay out final per-option values (2, batch, 4) as the 9 stimuli A-H, N.

    ``novel`` broadcasts to (batch, 1).
    """
    batch = values.shape[1]
    table = np.empty((batch, 2 * N_PAIRS + 1))
    table[:, 0:-1:2] = values[0]
    table[:, 1:-1:2] = values[1]
    table[:, -1:] = novel
    return table


def _q_step(state, step, t, scratch):
    """Delta-rule update of both options' Q values towards their targets."""
    q = state["q"]
    errors = step["target"][t] - q
    q += np.multiply(step["lr"][t], errors, scratch)
    return errors


def _actor_critic_step(state, step, t, critic_lr, scratch, guard):
    """Actor (L1-normalised weights) and critic update of one trial, in place.

    When both new weights are exactly 0 the reference restarts them at 0.01;
    that check costs a reduction per trial, so with ``guard=False`` it is
    skipped and the weights become NaN instead (0 / 0), which the likelihood
    kernel detects and re-evaluates with ``guard=True``.
    """
    value, weights = state["v"], state["w"]
    errors = step["outcome"][t] - value
    weights += np.multiply(step["actor_lr"][t], errors, scratch)
    np.abs(weights, scratch)
    total = scratch[0] + scratch[1]
    if guard and not total.all():  # both weights cancelled exactly: restart them
        degenerate = total == 0.0
        weights[:, degenerate] = 0.01
        total[degenerate] = 0.02
    weights[0] /= total
    weights[1] /= total
    value += np.multiply(critic_lr, np.subtract(step["chosen_outcome"][t], value, scratch),
                         scratch)
    return errors


class BaseModel:
    """A base reinforcement-learning model.

    Subclasses declare ``parameters``, the latent ``state_names``, the value
    systems that drive choices (``value_systems``: ``"q"`` and/or ``"w"``) and
    implement ``prepare``, ``update`` and ``transfer_values``.

    Every state entry has shape (2, batch, 4): option × batch row × pair, so
    that both options update in one contiguous operation. Per-pair quantities
    (critic value ``v``, context value ``context``) hold the same value in both
    option rows.
    """

    name = None
    parameters = ()
    #: whether the +bias option is meaningful (the reward transform is used)
    allows_bias = True
    #: whether the +decay option acts on anything (it shrinks Q values only)
    has_q_values = True
    #: lapse noise in the choice rule (noise_factor)
    lapse = False
    #: latent state entries
    state_names = ()
    #: state entries per pair (not per option); both option rows are equal
    pair_states = ()
    #: value systems whose option-1 minus option-0 difference drives choices
    value_systems = ()
    #: initial value of each state entry
    initial_values = {}
    #: a simpler base model this one reduces to, as ``(base name, {parameter:
    #: value})``: with those parameters fixed, the likelihood equals the simpler
    #: model's (the other shared parameters keep their names and meaning). A fit
    #: uses it as a reference point it must not end worse than.
    nests = None

    def initial_state(self, shape):
        return {name: np.full((2,) + tuple(shape), self.initial_values.get(name, 0.0))
                for name in self.state_names}

    def prepare(self, theta, chose1, outcome):
        """Per-trial inputs that depend only on parameters and data.

        ``chose1`` (n_steps, batch, 4) is True where option 1 was chosen,
        ``outcome`` (n_steps, 2, batch, 4) holds both options' outcomes. The
        result is computed for all trials at once, outside the sequential
        recursion.
        """
        raise NotImplementedError

    def mix_values(self, differences, theta):
        """Combine the value systems' differences into the choice's v1 - v0."""
        (difference,) = differences
        return difference

    def update(self, state, step, t, theta, scratch, guard=True):
        """Update ``state`` in place after trial ``t`` of each pair.

        ``theta`` entries have the state's shape (2, batch, 4). ``scratch``
        is a work array of that shape; ``guard`` asks for the exact handling
        of measure-zero degenerate cases (see ``_actor_critic_step``).
        Returns the prediction errors of the trial: a dict of arrays of shape
        (2, batch, 4), ``"pe"`` (and ``"q_pe"`` for the Q system of hybrids).
        """
        raise NotImplementedError

    def transfer_values(self, state, theta, novel, decay):
        """Return the (batch, 9) values of stimuli A-H and N used in transfer."""
        raise NotImplementedError


class QLearning(BaseModel):
    r"""Q-learning with factual and counterfactual learning rates.

    :math:`Q_i \leftarrow Q_i + \alpha_i (r_i - Q_i)` for both options, the
    chosen one with ``factual_lr``, the unchosen one with ``counterfactual_lr``.
    """

    name = "QLearning"
    allows_bias = False
    parameters = (
        _lr("factual_lr", 0.28, "learning rate of the chosen option's Q value"),
        _lr("counterfactual_lr", 0.18, "learning rate of the unchosen option's Q value"),
        _temperature(0.06),
    )
    state_names = ("q",)
    value_systems = ("q",)

    def _targets(self, theta, outcome):
        return outcome

    def prepare(self, theta, chose1, outcome):
        return {"lr": _by_choice(chose1, theta["factual_lr"], theta["counterfactual_lr"]),
                "target": self._targets(theta, outcome)}

    def update(self, state, step, t, theta, scratch, guard=True):
        return {"pe": _q_step(state, step, t, scratch)}

    def transfer_values(self, state, theta, novel, decay):
        values = stimulus_table(state["q"], novel)
        if decay is not None:
            values = (1.0 - decay) * values
        return values


class Advantage(QLearning):
    r"""Weighted-relative ("advantage") Q-learning.

    Targets are outcomes minus a weighted context mean:
    :math:`\delta_i = r_i - \omega (r_0 + r_1) / 2 - Q_i`.
    """

    name = "Advantage"
    parameters = (
        _lr("factual_lr", 0.28, "learning rate of the chosen option's Q value"),
        _lr("counterfactual_lr", 0.18, "learning rate of the unchosen option's Q value"),
        _temperature(0.06),
        Parameter("weighting_factor", 0.0, 1.0, 0.5,
                  "weight ω of the context mean subtracted from outcomes"),
    )
    nests = ("QLearning", {"weighting_factor": 0.0})

    def _targets(self, theta, outcome):
        baseline = theta["weighting_factor"] * ((outcome[:, 0] + outcome[:, 1]) / 2)
        return outcome - baseline[:, None]


class Relative(QLearning):
    r"""Relative (context-dependent) Q-learning (Palminteri et al., 2015).

    A context value C per pair tracks the mean outcome of both options;
    :math:`\delta_i = r_i - C - Q_i` and
    :math:`C \leftarrow C + \alpha_C ((r_0 + r_1)/2 - C)`.
    """

    name = "Relative"
    parameters = (
        _lr("factual_lr", 0.19, "learning rate of the chosen option's Q value"),
        _lr("counterfactual_lr", 0.15, "learning rate of the unchosen option's Q value"),
        _lr("contextual_lr", 0.33, "learning rate of the context value"),
        _temperature(0.05),
    )
    state_names = ("q", "context")
    pair_states = ("context",)

    def prepare(self, theta, chose1, outcome):
        step = super().prepare(theta, chose1, outcome)
        step["mean_outcome"] = _both_options((outcome[:, 0] + outcome[:, 1]) / 2)
        return step

    def update(self, state, step, t, theta, scratch, guard=True):
        q, context = state["q"], state["context"]
        errors = step["target"][t] - context
        errors -= q
        q += np.multiply(step["lr"][t], errors, scratch)
        context += np.multiply(
            theta["contextual_lr"], np.subtract(step["mean_outcome"][t], context, scratch),
            scratch)
        return {"pe": errors}


class ActorCritic(BaseModel):
    r"""Actor-critic with L1-normalised actor weights.

    :math:`\delta_i = r_i - V`, :math:`W_i \leftarrow W_i + \beta_i \delta_i`,
    then :math:`W \leftarrow W / (|W_0| + |W_1|)`, and the critic learns from
    the chosen outcome, :math:`V \leftarrow V + \alpha_C (r_a - V)`.
    Weights start at 0.01 (unnormalised), the critic at 0.
    """

    name = "ActorCritic"
    has_q_values = False
    parameters = (
        _lr("factual_actor_lr", 0.33, "actor learning rate of the chosen option"),
        _lr("counterfactual_actor_lr", 0.33, "actor learning rate of the unchosen option"),
        _lr("critic_lr", 0.48, "critic learning rate"),
        _temperature(0.06),
    )
    state_names = ("w", "v")
    pair_states = ("v",)
    value_systems = ("w",)
    initial_values = {"w": 0.01}

    def _counterfactual_actor_lr(self, theta):
        return theta["counterfactual_actor_lr"]

    def prepare(self, theta, chose1, outcome):
        return {
            "actor_lr": _by_choice(chose1, theta["factual_actor_lr"],
                                   self._counterfactual_actor_lr(theta)),
            "outcome": outcome,
            "chosen_outcome": _both_options(np.where(chose1, outcome[:, 1], outcome[:, 0])),
        }

    def update(self, state, step, t, theta, scratch, guard=True):
        return {"pe": _actor_critic_step(state, step, t, theta["critic_lr"], scratch, guard)}

    def transfer_values(self, state, theta, novel, decay):
        return stimulus_table(state["w"], novel)


class Hybrid2012(ActorCritic):
    r"""Hybrid of Q-learning and actor-critic (Gold et al., 2012).

    Both systems learn from the same outcomes; choices use
    :math:`H = (1 - m) W + m Q`. Transfer values mix the final W and the
    (decayed) final Q the same way.
    """

    name = "Hybrid2012"
    has_q_values = True
    counterfactual = True
    parameters = (
        _lr("factual_lr", 0.49, "learning rate of the chosen option's Q value"),
        _lr("counterfactual_lr", 0.49, "learning rate of the unchosen option's Q value"),
        _lr("factual_actor_lr", 0.33, "actor learning rate of the chosen option"),
        _lr("counterfactual_actor_lr", 0.33, "actor learning rate of the unchosen option"),
        _lr("critic_lr", 0.48, "critic learning rate"),
        _temperature(0.06),
        _mixing(0.70),
    )
    state_names = ("q", "w", "v")
    value_systems = ("w", "q")
    # m = 1: choices and transfer use Q alone, learnt as in QLearning
    nests = ("QLearning", {"mixing_factor": 1.0})

    def _counterfactual_actor_lr(self, theta):
        return theta["counterfactual_actor_lr"] if self.counterfactual else 0.0

    def prepare(self, theta, chose1, outcome):
        step = super().prepare(theta, chose1, outcome)
        counterfactual_lr = theta["counterfactual_lr"] if self.counterfactual else 0.0
        step["lr"] = _by_choice(chose1, theta["factual_lr"], counterfactual_lr)
        step["target"] = outcome
        return step

    def mix_values(self, differences, theta):
        w_difference, q_difference = differences
        m = theta["mixing_factor"][0]
        w_difference *= 1.0 - m
        q_difference *= m
        w_difference += q_difference
        return w_difference

    def update(self, state, step, t, theta, scratch, guard=True):
        q_errors = _q_step(state, step, t, scratch)
        errors = _actor_critic_step(state, step, t, theta["critic_lr"], scratch, guard)
        return {"pe": errors, "q_pe": q_errors}

    def transfer_values(self, state, theta, novel, decay):
        m = theta["mixing_factor"]
        q = stimulus_table(state["q"], novel)
        if decay is not None:
            q = (1.0 - decay) * q
        w = stimulus_table(state["w"], novel)
        return (1.0 - m) * w + m * q


class Hybrid2021(Hybrid2012):
    """Hybrid2012 with lapse noise in every choice (Geana et al., 2021)."""

    name = "Hybrid2021"
    lapse = True
    parameters = Hybrid2012.parameters[:-1] + (_mixing(0.69), _noise(0.04))
    nests = ("QLearning", {"mixing_factor": 1.0, "noise_factor": 0.0})


class StandardHybrid2012(Hybrid2012):
    """Hybrid2012 without counterfactual learning: only the chosen option learns.

    The unchosen actor weight still changes through the L1 normalisation.
    """

    name = "StandardHybrid2012"
    counterfactual = False
    # at m = 1 it is QLearning with counterfactual_lr = 0, outside QLearning's bounds
    nests = None
    parameters = tuple(p for p in Hybrid2012.parameters if not p.name.startswith("counterfactual"))


class StandardHybrid2021(StandardHybrid2012):
    """StandardHybrid2012 with lapse noise in every choice."""

    name = "StandardHybrid2021"
    lapse = True
    parameters = StandardHybrid2012.parameters[:-1] + (_mixing(0.69), _noise(0.04))


BASE_MODELS = {
    cls.name: cls()
    for cls in (QLearning, ActorCritic, Relative, Advantage, Hybrid2012, Hybrid2021,
                StandardHybrid2012, StandardHybrid2021)
}
OPTIONS = ("bias", "novel", "decay")


@dataclass(frozen=True)
class ModelVariant:
    """A base model with its options: the unit that is fitted and simulated."""

    base: BaseModel
    bias: bool = False
    novel: bool = False
    decay: bool = False

    def __post_init__(self):
        check_options(self.base.name, self.bias, self.decay)

    @property
    def name(self):
        """The reference-style name, e.g. ``Hybrid2012+bias+novel``."""
        suffix = "".join(f"+{opt}" for opt in OPTIONS if getattr(self, opt))
        return self.base.name + suffix

    @property
    def parameters(self):
        """Free parameters in the reference's order: base, then bias, novel, decay."""
        extra = tuple(p for p, on in ((VALENCE, self.bias), (NOVEL, self.novel),
                                      (DECAY, self.decay)) if on)
        return self.base.parameters + extra

    @property
    def parameter_names(self):
        return tuple(p.name for p in self.parameters)

    @property
    def n_parameters(self):
        return len(self.parameters)

    def theta(self, values):
        """Split a (batch, k) parameter matrix into named (batch, 1) columns."""
        values = np.asarray(values, dtype=float)
        return {name: values[:, i:i + 1] for i, name in enumerate(self.parameter_names)}

    def transform_outcomes(self, theta, outcome):
        """Apply the valence bias (gains × (1 - b), losses × b) when it is on.

        ``outcome`` has shape (n_steps, 2, batch, 4), ``theta`` entries (batch, 4).
        """
        if not self.bias:
            return outcome
        b = theta["valence_factor"]
        return np.where(outcome > 0, (1.0 - b) * outcome, b * outcome)

    def prepare(self, theta, choice, outcome):
        """Per-trial inputs of the base model, after the valence bias."""
        return self.base.prepare(theta, choice == 1.0, self.transform_outcomes(theta, outcome))

    def nested(self):
        """The simpler variant this one reduces to, and the values that reduce it.

        Returns ``(variant, fixed)`` or None: with the parameters in ``fixed``
        at those values (and the others shared by name), this variant's
        likelihood is the simpler variant's. The valence bias has no
        counterpart in the simpler models, so a biased variant nests nothing.
        """
        if self.base.nests is None or self.bias:
            return None
        name, fixed = self.base.nests
        return ModelVariant(BASE_MODELS[name], novel=self.novel, decay=self.decay), dict(fixed)

    def transfer_values(self, state, theta):
        novel = theta["novel_value"] if self.novel else 0.0
        decay = theta["decay_factor"] if self.decay else None
        return self.base.transfer_values(state, theta, novel, decay)


def check_options(base_name, bias, decay):
    """Refuse option combinations that the reference crashes on or that have no effect."""
    base = BASE_MODELS[base_name]
    if bias and not base.allows_bias:
        raise ValueError(
            f"{base_name} does not take the 'bias' option: the valence bias is defined "
            "only for ActorCritic and the hybrid models"
        )
    if decay and not base.has_q_values:
        raise ValueError(
            f"{base_name} does not take the 'decay' option: decay shrinks Q values, "
            f"{base_name} has none, so decay_factor would be an unidentifiable parameter "
            "that still counts in AIC/BIC"
        )


def parse_model_name(name):
    """Parse a reference-style name such as ``"Hybrid2012+bias+novel"``.

    Options may come in any order. Returns ``(base_name, options)`` where
    ``options`` maps each of bias/novel/decay to a bool.
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a model name must be a non-empty string, got {name!r}")
    base_name, *opts = [part.strip() for part in re.split(r"\+", name.strip())]
    if base_name not in BASE_MODELS:
        raise ValueError(
            f"unknown base model {base_name!r} in {name!r}; valid bases are "
            f"{sorted(BASE_MODELS)}"
        )
    options = dict.fromkeys(OPTIONS, False)
    for opt in opts:
        if opt not in options:
            raise ValueError(
                f"unknown option {opt!r} in model name {name!r}; valid options are "
                f"{list(OPTIONS)}"
            )
        if options[opt]:
            raise ValueError(f"option {opt!r} appears twice in model name {name!r}")
        options[opt] = True
    return base_name, options


def make_variant(name):
    """Return the :class:`ModelVariant` of a reference-style model name."""
    base_name, options = parse_model_name(name)
    return ModelVariant(BASE_MODELS[base_name], **options)
