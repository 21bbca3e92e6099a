"""The eight built-in base models, declared with the public declaration API.

Each base model is declared once here with the public declaration API of
:mod:`avoidrl.models` (its :class:`~avoidrl.models.Parameter`,
:class:`~avoidrl.models.BaseModel` and helpers), the same API users write
their own models with. The same methods serve the likelihood kernel
(:mod:`avoidrl._core.likelihood`, actions read from data) and the simulator
(:mod:`avoidrl._core.simulate`, actions drawn from the model), so there is no second
copy of any equation. A declaration also holds the model's facts that reports
and estimators read: its start policy (``default_start``, ``default_n_starts``,
measured by benchmarks/fit_quality.py, with the share of participants it fits
well, ``_fit_quality``) and its prediction error's formula (``pe_formula``).

The equations follow the reference implementation (see
``reference-spec.md`` sections 2-3): temperature softmax, complete feedback
with factual / counterfactual learning rates, L1-normalised actor weights,
decay of Q values towards 0 before transfer, and the valence bias transform.

A missed trial (``choice_made`` missing, see :func:`avoidrl._core.data.load_task_data`)
is in no pair's chain: no model updates on it or scores it, so every model
behaves as if it were not there; decay and the novel value still apply once,
before transfer. ``update``'s ``t`` counts a chain's trials with a choice.

Option parameters, model variants and names, user models and the declaration
checks are in :mod:`avoidrl.models._registry` (their names are importable
from here too); the declarations register themselves in its ``BASE_MODELS``.
"""

from __future__ import annotations

import numpy as np

from .._core.task import N_PAIRS  # noqa: F401  (part of this module's names)
from ._declare import (
    BaseModel, Parameter, both_options, by_choice, decayed, delta_rule, divide_or,
    learning_rate, stimulus_table, temperature,
)
from ._registry import (  # noqa: F401  (importable from here as before)
    _USER_MODELS, BASE_MODELS, DECAY, NOVEL, OPTIONS, VALENCE, ModelVariant, check_declaration,
    check_options, load_model, make_variant, parse_model_name, register_model, resolve_base,
)

#: What a user's subclass of a built-in model does not inherit: these were
#: measured or written for the built-in model itself (see _BuiltinModel).
_PER_MODEL = ("default_start", "default_n_starts", "pe_formula", "_fit_quality")

_Q_CHOSEN = "learning rate of the chosen option's Q value"
_Q_UNCHOSEN = "learning rate of the unchosen option's Q value"
_ACTOR_CHOSEN = "actor learning rate of the chosen option"
_ACTOR_UNCHOSEN = "actor learning rate of the unchosen option"


def _mixing(init):
    return Parameter("mixing_factor", 0.0, 1.0, init,
                     "weight m of the Q system in the hybrid value (1 - m) W + m Q")


def _noise(init=0.04):
    return Parameter("noise_factor", 0.0, 0.2, init,
                     "lapse rate ε: P(a) = (1 - ε) softmax + ε / 2")


class _BuiltinModel(BaseModel):
    """The built-in declarations' common parent.

    A built-in's start policy, its measured fit quality and its prediction
    error's formula belong to that model: a user's subclass is a new model,
    so it starts from :class:`BaseModel`'s unless it sets its own (as its
    ``name`` does).
    """

    _fit_quality = None

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__ != __name__:
            for attribute in _PER_MODEL:
                if attribute not in cls.__dict__:
                    setattr(cls, attribute, getattr(_BuiltinModel, attribute))


def _actor_critic_step(state, step, t, critic_lr, scratch, guard):
    """Actor (L1-normalised weights) and critic update of one trial, in place.

    When both new weights are exactly 0 the reference restarts them at 0.01,
    so both normalise to 0.01 / 0.02 = 0.5 (exactly). It happens on the first
    punished trial whenever an actor learning rate sits at its 0.01 bound.
    With ``guard=False`` the numpy kernel skips that check (a reduction per
    trial) and the weights become NaN instead (0 / 0), which the likelihood
    detects and re-evaluates with ``guard=True``; the compiled kernel always
    applies it.
    """
    value, weights = state["v"], state["w"]
    errors = step["outcome"][t] - value
    weights += np.multiply(step["actor_lr"][t], errors, scratch)
    np.abs(weights, scratch)
    total = scratch[0] + scratch[1]
    divide_or(weights, total, 0.5, weights, guard)  # both options in one call
    value += np.multiply(critic_lr, np.subtract(step["chosen_outcome"][t], value, scratch),
                         scratch)
    return errors


class QLearning(_BuiltinModel):
    r"""Q-learning with factual and counterfactual learning rates.

    :math:`Q_i \leftarrow Q_i + \alpha_i (r_i - Q_i)` for both options, the
    chosen one with ``factual_lr``, the unchosen one with ``counterfactual_lr``.
    """

    name = "QLearning"
    allows_bias = False
    pe_formula = "r - Q"
    default_start, default_n_starts, _fit_quality = "normal", 10, "100 %"
    parameters = (
        learning_rate("factual_lr", 0.28, _Q_CHOSEN),
        learning_rate("counterfactual_lr", 0.18, _Q_UNCHOSEN),
        temperature(0.06),
    )
    state_names = ("q",)
    value_systems = ("q",)

    def _targets(self, theta, outcome):
        return outcome

    def prepare(self, theta, chose1, outcome):
        return {"lr": by_choice(chose1, theta["factual_lr"], theta["counterfactual_lr"]),
                "target": self._targets(theta, outcome)}

    def update(self, state, step, t, theta, scratch, guard=True):
        return {"pe": delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)}

    def transfer_values(self, state, theta, novel, decay):
        return decayed(stimulus_table(state["q"], novel), decay)


class Advantage(QLearning):
    r"""Weighted-relative ("advantage") Q-learning.

    Targets are outcomes minus a weighted context mean:
    :math:`\delta_i = r_i - \omega (r_0 + r_1) / 2 - Q_i`.
    """

    name = "Advantage"
    pe_formula = "r - weighting_factor * (r0 + r1) / 2 - Q"
    default_start, default_n_starts, _fit_quality = "normal", 10, "98 %"
    parameters = (
        learning_rate("factual_lr", 0.28, _Q_CHOSEN),
        learning_rate("counterfactual_lr", 0.18, _Q_UNCHOSEN),
        temperature(0.06),
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
    pe_formula = "r - C - Q"
    default_start, default_n_starts, _fit_quality = "normal", 10, "91 %"
    parameters = (
        learning_rate("factual_lr", 0.19, _Q_CHOSEN),
        learning_rate("counterfactual_lr", 0.15, _Q_UNCHOSEN),
        learning_rate("contextual_lr", 0.33, "learning rate of the context value"),
        temperature(0.05),
    )
    state_names = ("q", "context")
    pair_states = ("context",)

    def prepare(self, theta, chose1, outcome):
        step = super().prepare(theta, chose1, outcome)
        step["mean_outcome"] = both_options((outcome[:, 0] + outcome[:, 1]) / 2)
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


class ActorCritic(_BuiltinModel):
    r"""Actor-critic with L1-normalised actor weights.

    :math:`\delta_i = r_i - V`, :math:`W_i \leftarrow W_i + \beta_i \delta_i`,
    then :math:`W \leftarrow W / (|W_0| + |W_1|)`, and the critic learns from
    the chosen outcome, :math:`V \leftarrow V + \alpha_C (r_a - V)`.
    Weights start at 0.01 (unnormalised), the critic at 0.
    """

    name = "ActorCritic"
    has_q_values = False
    pe_formula = "r - V"
    default_start, default_n_starts, _fit_quality = "random", 30, "98 %"
    parameters = (
        learning_rate("factual_actor_lr", 0.33, _ACTOR_CHOSEN),
        learning_rate("counterfactual_actor_lr", 0.33, _ACTOR_UNCHOSEN),
        learning_rate("critic_lr", 0.48, "critic learning rate"),
        temperature(0.06),
    )
    state_names = ("w", "v")
    pair_states = ("v",)
    value_systems = ("w",)
    initial_values = {"w": 0.01}

    def _counterfactual_actor_lr(self, theta):
        return theta["counterfactual_actor_lr"]

    def prepare(self, theta, chose1, outcome):
        return {
            "actor_lr": by_choice(chose1, theta["factual_actor_lr"],
                                  self._counterfactual_actor_lr(theta)),
            "outcome": outcome,
            "chosen_outcome": both_options(np.where(chose1, outcome[:, 1], outcome[:, 0])),
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
    pe_formula = "r - V"
    default_start, default_n_starts, _fit_quality = "random", 100, "91 %"
    parameters = (
        learning_rate("factual_lr", 0.49, _Q_CHOSEN),
        learning_rate("counterfactual_lr", 0.49, _Q_UNCHOSEN),
        learning_rate("factual_actor_lr", 0.33, _ACTOR_CHOSEN),
        learning_rate("counterfactual_actor_lr", 0.33, _ACTOR_UNCHOSEN),
        learning_rate("critic_lr", 0.48, "critic learning rate"),
        temperature(0.06),
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
        step["lr"] = by_choice(chose1, theta["factual_lr"], counterfactual_lr)
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
        q_errors = delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)
        errors = _actor_critic_step(state, step, t, theta["critic_lr"], scratch, guard)
        return {"pe": errors, "q_pe": q_errors}

    def transfer_values(self, state, theta, novel, decay):
        m = theta["mixing_factor"]
        q = decayed(stimulus_table(state["q"], novel), decay)
        w = stimulus_table(state["w"], novel)
        return (1.0 - m) * w + m * q


class Hybrid2021(Hybrid2012):
    r"""Hybrid2012 with lapse noise in every choice (Geana et al., 2021).

    Every learning and transfer choice mixes the softmax with a uniform
    choice: :math:`P(a) = (1 - \varepsilon)\,\mathrm{softmax}_T(H)_a + \varepsilon / 2`.
    """

    name = "Hybrid2021"
    lapse = True
    pe_formula = "r - V"
    default_start, default_n_starts, _fit_quality = "random", 100, "91 %"
    parameters = Hybrid2012.parameters[:-1] + (_mixing(0.69), _noise(0.04))
    nests = ("QLearning", {"mixing_factor": 1.0, "noise_factor": 0.0})


class StandardHybrid2012(Hybrid2012):
    r"""Hybrid2012 without counterfactual learning: only the chosen option learns.

    For the chosen option :math:`a` only,
    :math:`Q_a \leftarrow Q_a + \alpha_F (r_a - Q_a)` and
    :math:`W_a \leftarrow W_a + \beta_F (r_a - V)`; then
    :math:`W \leftarrow W / (|W_0| + |W_1|)`, so the unchosen actor weight
    still changes through the L1 normalisation.
    """

    name = "StandardHybrid2012"
    counterfactual = False
    pe_formula = "r - V"
    default_start, default_n_starts, _fit_quality = "random", 30, "98 %"
    # at m = 1 it is QLearning with counterfactual_lr = 0, outside QLearning's bounds
    nests = None
    parameters = tuple(p for p in Hybrid2012.parameters if not p.name.startswith("counterfactual"))


class StandardHybrid2021(StandardHybrid2012):
    r"""StandardHybrid2012 with lapse noise in every choice.

    :math:`P(a) = (1 - \varepsilon)\,\mathrm{softmax}_T(H)_a + \varepsilon / 2`, as in Hybrid2021.
    """

    name = "StandardHybrid2021"
    lapse = True
    pe_formula = "r - V"
    default_start, default_n_starts, _fit_quality = "normal", 100, "89 %"
    parameters = StandardHybrid2012.parameters[:-1] + (_mixing(0.69), _noise(0.04))


BASE_MODELS.update({
    cls.name: cls()
    for cls in (QLearning, ActorCritic, Relative, Advantage, Hybrid2012, Hybrid2021,
                StandardHybrid2012, StandardHybrid2021)
})
