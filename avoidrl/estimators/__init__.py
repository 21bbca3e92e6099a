"""scikit-learn estimators: one per base model, and CustomModel for a user's model."""

from ._base import RLModelBase
from ._classes import (
    ESTIMATORS, ActorCritic, Advantage, CustomModel, Hybrid2012, Hybrid2021, QLearning,
    Relative, StandardHybrid2012, StandardHybrid2021, make_model,
)

__all__ = [
    "RLModelBase", "QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012",
    "Hybrid2021", "StandardHybrid2012", "StandardHybrid2021", "CustomModel", "make_model",
    "ESTIMATORS",
]
