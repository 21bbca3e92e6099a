"""Parameter and model recovery: validate models on data they generated."""

from ._common import SyntheticDataset
from ._recovery import ModelRecovery, ParameterRecovery

__all__ = ["ParameterRecovery", "ModelRecovery", "SyntheticDataset"]
