"""Grid search over parameter bounds, selecting by BIC.

Candidate upper bounds of the softmax temperature are compared by in-sample
BIC: every candidate is fitted to all participants' complete data
(InSampleSplit) and scored by minus the mean BIC (the estimator's ``score``).
Both phases travel in one long frame, so they reach ``fit`` and ``score``
together.

Run: ``python examples/grid_search_bounds.py``
"""

import pandas as pd
from sklearn.model_selection import GridSearchCV

from avoidrl import QLearning, load_example
from avoidrl.model_selection import InSampleSplit, combine_phases


def main(n_starts=5):
    X = combine_phases(*load_example())
    grid = {"bounds": [{"temperature": (0.01, high)} for high in (0.1, 0.2, 0.5, 1.0)]}
    search = GridSearchCV(QLearning(novel=True, n_starts=n_starts, random_state=0), grid,
                          cv=InSampleSplit())
    search.fit(X)
    table = pd.DataFrame({
        "temperature upper bound": [b["bounds"]["temperature"][1] for b in search.cv_results_["params"]],
        "mean BIC": -search.cv_results_["mean_test_score"],
    })
    print(table.to_string(index=False))
    print("selected:", search.best_params_)
    return search


if __name__ == "__main__":
    main()
