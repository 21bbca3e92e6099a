"""Parameter and model recovery: validate models on data they generated."""

from ._common import SyntheticDataset
from ._model import ModelRecovery
from ._parameter import ParameterRecovery

__all__ = ["ParameterRecovery", "ModelRecovery", "SyntheticDataset"]
