"""Nested models never fit worse: an independent check of the optimizer's optima.

Advantage with weighting_factor = 0 is QLearning, and Hybrid2012 with
mixing_factor = 1 is QLearning too, so at their best fits their NLL must not
exceed QLearning's on any participant (with their default starts).
"""

import pandas as pd
import pytest

from avoidrl import make_model


@pytest.fixture(scope="module")
def frames():
    learning, transfer = make_model("QLearning+novel").sample(
        params=pd.DataFrame(
            {"factual_lr": [0.3, 0.15, 0.5, 0.2, 0.1], "counterfactual_lr": [0.2, 0.1, 0.4, 0.05, 0.3],
             "temperature": [0.08, 0.15, 0.05, 0.1, 0.2], "novel_value": [0.0, -0.3, 0.4, 0.1, -0.6]},
            index=pd.Index([f"p{i}" for i in range(5)], name="participant_id")),
        random_state=11)
    return learning, transfer


@pytest.mark.parametrize("nesting", ["Advantage+novel",
                                     pytest.param("Hybrid2012+novel", marks=pytest.mark.slow)])
def test_nesting_model_fits_at_least_as_well(frames, nesting):
    nested = make_model("QLearning+novel", random_state=0).fit(*frames)
    larger = make_model(nesting, random_state=0).fit(*frames)
    assert (larger.nll_ <= nested.nll_ + 1e-6).all(), pd.concat(
        [larger.nll_, nested.nll_], axis=1, keys=[nesting, "QLearning+novel"])
