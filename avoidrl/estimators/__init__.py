"""scikit-learn estimators, one per base model."""

from ._base import RLModelBase
from ._classes import (
    ESTIMATORS, ActorCritic, Advantage, Hybrid2012, Hybrid2021, QLearning, Relative,
    StandardHybrid2012, StandardHybrid2021, make_model,
)

__all__ = [
    "RLModelBase", "QLearning", "ActorCritic", "Relative", "Advantage", "Hybrid2012",
    "Hybrid2021", "StandardHybrid2012", "StandardHybrid2021", "make_model", "ESTIMATORS",
]
