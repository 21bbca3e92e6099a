"""The model registry: option parameters, model variants and names, user models, checks.

Below the built-in declarations (:mod:`avoidrl.models._builtin`) and the public
API (:mod:`avoidrl.models`), above the declaration API
(:mod:`avoidrl.models._declare`): ``_declare`` <- ``_registry`` <- ``_builtin``
<- ``models``. Here a declared base model becomes a :class:`ModelVariant`
(base + options, what is fitted and simulated), and a reference-style name
``Base[+bias][+novel][+decay]`` its variant; ``Base`` is a built-in name, a
user model's import path ``module:Class``, or the name of a user model loaded
before in this session (:func:`parse_model_name`).

:data:`BASE_MODELS` is filled by :mod:`avoidrl.models._builtin` when it is
imported (importing :mod:`avoidrl.models` imports it), so this module does
not import the declarations that read it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass

import numpy as np

from .._utils.validation import START_MODES
from ._declare import OPTION_PARAMETERS, BaseModel, Parameter, _model_instance, _names

#: The built-in base models by name, {name: instance}, in the reference's order;
#: registered by :mod:`avoidrl.models._builtin`.
BASE_MODELS = {}

VALENCE = Parameter("valence_factor", 0.0, 1.0, 0.33,
                    "valence bias b: gains scaled by (1 - b), losses by b")
NOVEL = Parameter("novel_value", -1.0, 1.0, 0.0,
                  "value of the novel stimulus N in the transfer phase", domain=(-1.0, 1.0))
DECAY = Parameter("decay_factor", 0.0, 0.2, 0.08,
                  "shrinkage d of Q values toward 0 before transfer: (1 - d) Q")

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
    if model.default_start not in START_MODES:
        raise ValueError(f"{name}: default_start must be 'normal', 'random' or 'fixed', got "
                         f"{model.default_start!r}")
    if model.pe_formula is not None and not isinstance(model.pe_formula, str):
        raise ValueError(f"{name}: pe_formula must be None or a short formula as text "
                         f"(e.g. 'r - Q'), got {model.pe_formula!r}")
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
