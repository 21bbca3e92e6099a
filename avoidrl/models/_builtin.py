"""Model declarations: the eight built-in base models, and model names.

Each base model is declared once here with the public declaration API of
:mod:`avoidrl.models` (its :class:`~avoidrl.models.Parameter`,
:class:`~avoidrl.models.BaseModel` and helpers), the same API users write
their own models with. The same methods serve the likelihood kernel
(:mod:`avoidrl._core.likelihood`, actions read from data) and the simulator
(:mod:`avoidrl._core.simulate`, actions drawn from the model), so there is no second
copy of any equation.

The equations follow the reference implementation (see
``reference-spec.md`` sections 2-3): temperature softmax, complete feedback
with factual / counterfactual learning rates, L1-normalised actor weights,
decay of Q values towards 0 before transfer, and the valence bias transform.

Model names are ``Base[+bias][+novel][+decay]``; ``Base`` is a built-in
name, a user model's import path ``module:Class``, or the name of a user
model loaded before in this session (:func:`parse_model_name`).
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

import numpy as np

from .._core.task import N_PAIRS  # noqa: F401  (part of this module's names)
from ._declare import (
    OPTION_PARAMETERS, UNIT, BaseModel, Parameter, _model_instance, _names, both_options,
    by_choice, decayed, delta_rule, divide_or, learning_rate, stimulus_table, temperature,
)


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


VALENCE = Parameter("valence_factor", 0.0, 1.0, 0.33,
                    "valence bias b: gains scaled by (1 - b), losses by b")
NOVEL = Parameter("novel_value", -1.0, 1.0, 0.0,
                  "value of the novel stimulus N in the transfer phase", domain=(-1.0, 1.0))
DECAY = Parameter("decay_factor", 0.0, 0.2, 0.08,
                  "shrinkage d of Q values toward 0 before transfer: (1 - d) Q")


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


class QLearning(BaseModel):
    r"""Q-learning with factual and counterfactual learning rates.

    :math:`Q_i \leftarrow Q_i + \alpha_i (r_i - Q_i)` for both options, the
    chosen one with ``factual_lr``, the unchosen one with ``counterfactual_lr``.
    """

    name = "QLearning"
    allows_bias = False
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
    # at m = 1 it is QLearning with counterfactual_lr = 0, outside QLearning's bounds
    nests = None
    parameters = tuple(p for p in Hybrid2012.parameters if not p.name.startswith("counterfactual"))


class StandardHybrid2021(StandardHybrid2012):
    r"""StandardHybrid2012 with lapse noise in every choice.

    :math:`P(a) = (1 - \varepsilon)\,\mathrm{softmax}_T(H)_a + \varepsilon / 2`, as in Hybrid2021.
    """

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
        check_options(self.base, self.bias, self.decay)

    @property
    def name(self) -> str:
        """The reference-style name, e.g. ``Hybrid2012+bias+novel``."""
        suffix = "".join(f"+{opt}" for opt in OPTIONS if getattr(self, opt))
        return self.base.name + suffix

    @property
    def parameters(self) -> tuple[Parameter, ...]:
        """Free parameters in the reference's order: base, then bias, novel, decay."""
        extra = tuple(p for p, on in ((VALENCE, self.bias), (NOVEL, self.novel),
                                      (DECAY, self.decay)) if on)
        return self.base.parameters + extra

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    @property
    def n_parameters(self) -> int:
        return len(self.parameters)

    def theta(self, values: np.ndarray) -> dict[str, np.ndarray]:
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

    def prepare(self, theta, chose1, outcome):
        """Per-trial inputs of the base model, after the valence bias.

        ``chose1`` is a bool array, True where option 1 was chosen.
        """
        return self.base.prepare(theta, chose1, self.transform_outcomes(theta, outcome))

    def nested(self) -> tuple[ModelVariant, dict[str, float]] | None:
        """The simpler variant this one reduces to, and the values that reduce it.

        Returns ``(variant, fixed)`` or None: with the parameters in ``fixed``
        at those values (and the others shared by name), this variant's
        likelihood is the simpler variant's. The valence bias has no
        counterpart in the simpler models, so a biased variant nests nothing.
        """
        if self.base.nests is None or self.bias:
            return None
        simpler, fixed = self.base.nests
        simpler = resolve_base(simpler)
        # the simpler model may not take +decay (it has no Q values to shrink)
        decay = self.decay and simpler.has_q_values
        return ModelVariant(simpler, novel=self.novel, decay=decay), dict(fixed)

    def transfer_values(self, state, theta):
        novel = theta["novel_value"] if self.novel else 0.0
        decay = theta["decay_factor"] if self.decay else None
        return self.base.transfer_values(state, theta, novel, decay)


def check_options(base: str | BaseModel, bias: bool, decay: bool) -> None:
    """Refuse option combinations that the reference crashes on or that have no effect.

    ``base`` is a base model name or a :class:`~avoidrl.models.BaseModel` instance.
    """
    if not isinstance(base, BaseModel):
        base = resolve_base(base)
    name, builtin = base.name, type(BASE_MODELS.get(base.name)) is type(base)
    if bias and not base.allows_bias:
        why = "the valence bias is defined only for ActorCritic and the hybrid models" \
            if builtin else "its class sets allows_bias = False"
        raise ValueError(f"{name} does not take the 'bias' option: {why}")
    if decay and not base.has_q_values:
        raise ValueError(
            f"{name} does not take the 'decay' option: decay shrinks Q values, "
            f"{name} has none, so decay_factor would be an unidentifiable parameter "
            "that still counts in AIC/BIC"
        )


# ------------------------------------------------------------ user models
#: User models by name, latest first: a model loaded by import path (or given to
#: make_estimator) can then be named without its path, so that the canonical
#: names that estimators report (``Name+novel``) parse again.
_USER_MODELS = {}


def register_model(cls: type[BaseModel]) -> str:
    """Make a user model's name usable in model names in this session; returns the name.

    A later model of the same name replaces an earlier one (e.g. after a
    module is reloaded). A built-in model's name is refused.
    """
    name = check_declaration(cls).name
    if name in BASE_MODELS:
        return name  # check_declaration allows only the built-in class itself here
    _USER_MODELS[name] = cls
    return name


def load_model(path: str) -> type[BaseModel]:
    """The BaseModel subclass named by an import path ``"package.module:Class"``.

    Raises
    ------
    ValueError
        Naming the module or attribute when the import fails, or when the
        attribute is not a :class:`~avoidrl.models.BaseModel` subclass.
    """
    module_name, _, attribute = path.partition(":")
    module_name, attribute = module_name.strip(), attribute.strip()
    if not module_name or not attribute:
        raise ValueError(f"a user model is named 'module:Class' (e.g. "
                         f"'mypackage.models:AsymmetricQ'), got {path!r}")
    try:
        found = importlib.import_module(module_name)
    except Exception as exc:  # ImportError, or an error raised while the module runs
        raise ValueError(f"cannot import module {module_name!r} of model {path!r}: "
                         f"{type(exc).__name__}: {exc}") from None
    for part in attribute.split("."):
        try:
            found = getattr(found, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attribute!r} "
                             f"(model {path!r})") from None
    if not (isinstance(found, type) and issubclass(found, BaseModel)):
        raise ValueError(f"{path!r} is not a model: {attribute!r} in module {module_name!r} "
                         "must be a subclass of avoidrl.models.BaseModel, got "
                         f"{type(found).__name__} {found!r:.60}")
    return found


def resolve_base(base: str | BaseModel | type[BaseModel]) -> BaseModel:
    """The base model instance of a name, an import path, a BaseModel class or instance."""
    if isinstance(base, BaseModel):
        return base
    if isinstance(base, type) and issubclass(base, BaseModel):
        return check_declaration(base)
    if isinstance(base, str):
        if base in BASE_MODELS:
            return BASE_MODELS[base]
        if ":" in base:
            return load_model(base)()
        if base in _USER_MODELS:
            return _USER_MODELS[base]()
    loaded = f" ({', '.join(sorted(_USER_MODELS))})" if _USER_MODELS else ""
    raise ValueError(f"unknown base model {base!r}; valid bases are {sorted(BASE_MODELS)}, "
                     f"a user model's import path 'module:Class', or a user model loaded "
                     f"before{loaded}")


def parse_model_name(name: str) -> tuple[str, dict[str, bool]]:
    """Parse a reference-style name such as ``"Hybrid2012+bias+novel"``.

    Options may come in any order. The base is a built-in name, a user
    model's import path ``"module:Class"`` (imported and registered under
    its name; e.g. ``"mypackage.models:AsymmetricQ+novel"``), or the name of
    a user model loaded before. Returns ``(base_name, options)`` where
    ``options`` maps each of bias/novel/decay to a bool and ``base_name`` is
    the model's name (a user model's without its path).
    """
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a model name must be a non-empty string, got {name!r}")
    base_name, *opts = [part.strip() for part in re.split(r"\+", name.strip())]
    if ":" in base_name:
        base_name = register_model(load_model(base_name))
    elif base_name not in BASE_MODELS and base_name not in _USER_MODELS:
        loaded = f"; user models loaded: {sorted(_USER_MODELS)}" if _USER_MODELS else ""
        raise ValueError(
            f"unknown base model {base_name!r} in {name!r}; valid bases are "
            f"{sorted(BASE_MODELS)}, or a user model as 'module:Class'{loaded}"
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


def make_variant(name: str) -> ModelVariant:
    """Return the :class:`ModelVariant` of a reference-style model name."""
    base_name, options = parse_model_name(name)
    return ModelVariant(resolve_base(base_name), **options)


def check_declaration(model: BaseModel | type[BaseModel]) -> BaseModel:
    """The checks of :func:`check_model` that need no computation (done before every fit).

    Returns
    -------
    BaseModel
        ``model``, instantiated if it was a class.
    """
    model = _model_instance(model)

    name = model.name
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"model name {name!r} must be a valid Python identifier (it is "
                         "used in model names such as 'Name+novel')")
    builtin = BASE_MODELS.get(name)
    if builtin is not None and type(builtin) is not type(model):
        raise ValueError(f"model name {name!r} is a built-in model's name; set a different "
                         "`name` in the class")
    parameters = model.parameters
    if not isinstance(parameters, (tuple, list)) \
            or not all(isinstance(p, Parameter) for p in parameters):
        raise ValueError(f"{name}: parameters must be a tuple of avoidrl.models.Parameter")
    names = [p.name for p in parameters]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{name}: parameter name(s) {repeated} declared more than once")
    clash = [n for n in names if n in OPTION_PARAMETERS]
    if clash:
        raise ValueError(f"{name}: parameter(s) {clash} are the options' parameters "
                         f"({', '.join(OPTION_PARAMETERS)}); the +bias/+novel/+decay options "
                         "add them, rename yours")
    if "temperature" not in names:
        raise ValueError(f"{name}: every model needs a 'temperature' parameter (the softmax "
                         "temperature of both phases); add avoidrl.models.temperature()")
    if bool(model.lapse) != ("noise_factor" in names):
        raise ValueError(f"{name}: lapse={model.lapse} needs "
                         f"{'a' if model.lapse else 'no'} 'noise_factor' parameter (the lapse "
                         "rate the choice rule reads)")
    states = _names(model.state_names, "state_names", model)
    if not states or len(set(states)) != len(states) \
            or not all(isinstance(s, str) and s.isidentifier() for s in states):
        raise ValueError(f"{name}: state_names must be distinct identifiers, at least one, "
                         f"got {states!r}")
    for what in ("pair_states", "value_systems"):
        entries = _names(getattr(model, what), what, model)
        unknown = [s for s in entries if s not in states]
        if unknown:
            raise ValueError(f"{name}: {what} {unknown} are not in state_names {list(states)}")
    if not model.value_systems:
        raise ValueError(f"{name}: value_systems must name at least one state entry (the "
                         "values that drive choices)")
    if not hasattr(model.initial_values, "items") \
            or any(k not in states for k in model.initial_values):
        raise ValueError(f"{name}: initial_values must map state names {list(states)} to "
                         f"numbers, got {model.initial_values!r}")
    if model.default_start not in ("normal", "random", "fixed"):
        raise ValueError(f"{name}: default_start must be 'normal', 'random' or 'fixed', got "
                         f"{model.default_start!r}")
    if model.nests is not None:
        try:
            simpler, fixed = model.nests
            simpler = resolve_base(simpler)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name}: nests must be (simpler model, {{parameter: value}}): "
                             f"{exc}") from None
        unknown = [p for p in fixed if p not in names]
        if unknown:
            raise ValueError(f"{name}: nests fixes {unknown}, which are not its parameters")
        other = [p for p in simpler.parameter_names if p not in names]
        if other:
            raise ValueError(f"{name}: nests {simpler.name}, whose parameters {other} it "
                             "does not have")
    return model
