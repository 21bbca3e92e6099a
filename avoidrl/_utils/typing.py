"""Type aliases of the public signatures (imported for type checkers only)."""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import pandas as pd

#: Task data: a DataFrame, or the path of a CSV file.
FrameLike = Union[pd.DataFrame, str, "os.PathLike[str]"]
#: What ``random_state`` takes, as in scikit-learn (numpy's Generator too).
RandomStateLike = Union[int, np.integer, np.random.RandomState, np.random.Generator, None]
