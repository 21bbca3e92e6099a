"""avoidrl: reinforcement-learning models of avoidance learning, scikit-learn style.

Fit the reference models (QLearning, ActorCritic, Relative, Advantage and the
hybrids, with the novel, decay and bias options) to learning- and
transfer-phase choices, compare them by BIC, and validate them by parameter
and model recovery. Declare your own models with :mod:`avoidrl.models`.
"""

from .datasets import load_example
from .estimators import (
    ActorCritic, Advantage, CustomModel, Hybrid2012, Hybrid2021, QLearning, Relative,
    StandardHybrid2012, StandardHybrid2021, make_model,
)
from . import hierarchical  # noqa: F401  (registers its inference method)

__version__ = "0.1.0"

__all__ = [
    "QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012", "Hybrid2021",
    "StandardHybrid2012", "StandardHybrid2021", "CustomModel", "make_model", "load_example",
    "__version__",
]
