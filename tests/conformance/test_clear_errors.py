"""Wrong settings are ValueErrors that name the setting and say what was expected.

The unclear errors of issue 20 ("Docs"): ``set_params(bounds__temperature=...)``,
``n_jobs`` / ``group_size`` / ``verbose`` of the recovery objects, a string as
a bound, a user model that cannot reach the workers, and a user model whose
``update`` replaces the state instead of changing it (which fitted as a
no-learning model without a word).
"""

import threading

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import ParameterGrid

from avoidrl import QLearning, load_example
from avoidrl.models import (
    BaseModel, by_choice, check_model, decayed, delta_rule, learning_rate, make_estimator,
    stimulus_table, temperature,
)
from avoidrl.recovery import ModelRecovery, ParameterRecovery


@pytest.fixture(scope="module")
def two_participants():
    learning, transfer = load_example()
    ids = learning["participant_id"].unique()[:2]
    return (learning[learning["participant_id"].isin(ids)],
            transfer[transfer["participant_id"].isin(ids)])


# ------------------------------------------------------------ bounds__<name>
def test_set_params_sets_one_bound_the_sklearn_way():
    model = QLearning(bounds={"factual_lr": (0.05, 0.9)})
    own = model.bounds
    assert model.set_params(bounds__temperature=(0.01, 0.5)) is model
    assert model.bounds == {"factual_lr": (0.05, 0.9), "temperature": (0.01, 0.5)}
    assert own == {"factual_lr": (0.05, 0.9)}  # the dict given before is not changed
    model.set_params(init__temperature=0.1, n_starts=2)
    assert model.init == {"temperature": 0.1} and model.n_starts == 2
    # a dict given in the same call is the base, whatever the order
    model.set_params(bounds__temperature=(0.02, 0.3), bounds={"counterfactual_lr": (0.1, 0.5)})
    assert model.bounds == {"counterfactual_lr": (0.1, 0.5), "temperature": (0.02, 0.3)}
    # clone (as GridSearchCV does) keeps the merged dict
    assert clone(model).bounds == model.bounds


def test_bounds_grid_over_one_parameter_reaches_the_fit():
    recovery = ParameterRecovery(QLearning(n_starts=1), n_datasets=2, random_state=0)
    for params in ParameterGrid({"estimator__bounds__temperature": [(0.01, 0.2)]}):
        recovery.set_params(**params)
    assert recovery.estimator.bounds == {"temperature": (0.01, 0.2)}
    assert recovery.estimator._fit_settings().bounds["temperature"] == (0.01, 0.2)


def test_set_params_names_a_malformed_per_parameter_key():
    with pytest.raises(ValueError, match=r"'bounds__' must be bounds__<parameter name>"):
        QLearning().set_params(bounds__=(0, 1))
    with pytest.raises(ValueError, match="bounds is 'x', not a dict"):
        QLearning(bounds="x").set_params(bounds__temperature=(0.01, 0.5))


@pytest.mark.parametrize("value", ["12", ("0.01", "0.5"), (0.01,), 0.5, (0.01, 0.5, 0.9)])
def test_bounds_that_are_not_a_pair_of_numbers_name_the_entry(value):
    with pytest.raises(ValueError, match=r"bounds\['temperature'\] must be a \(low, high\) "
                                         r"pair of numbers"):
        QLearning(bounds={"temperature": value})._fit_settings()


def test_bounds_as_arrays_or_lists_still_work():
    settings = QLearning(bounds={"temperature": np.array([0.01, 0.5]),
                                 "factual_lr": [0.1, 0.9]})._fit_settings()
    assert settings.bounds["temperature"] == (0.01, 0.5)
    assert settings.bounds["factual_lr"] == (0.1, 0.9)


# ------------------------------------------------------------ n_jobs, group_size, verbose
@pytest.mark.parametrize("n_jobs", ["2", 1.5, 0, True])
def test_recovery_objects_refuse_a_wrong_n_jobs(n_jobs, two_participants):
    with pytest.raises(ValueError, match="n_jobs must be None or a non-zero integer"):
        ParameterRecovery(QLearning(n_starts=1), n_datasets=2, n_jobs=n_jobs).fit()
    with pytest.raises(ValueError, match="n_jobs must be None or a non-zero integer"):
        ModelRecovery([QLearning(n_starts=1), QLearning(novel=True, n_starts=1)],
                      n_jobs=n_jobs).fit(*two_participants)


@pytest.mark.parametrize("group_size", [0, -1, 1.5, "2", True])
def test_model_recovery_refuses_a_wrong_group_size(group_size, two_participants):
    with pytest.raises(ValueError, match="group_size must be None .* or a positive integer"):
        ModelRecovery([QLearning(n_starts=1), QLearning(novel=True, n_starts=1)],
                      group_size=group_size).fit(*two_participants)


@pytest.mark.parametrize("verbose", ["x", -1, 1.5, None])
def test_verbose_must_be_a_non_negative_integer(verbose, two_participants):
    message = "verbose must be a non-negative integer"
    with pytest.raises(ValueError, match=message):
        QLearning(n_starts=1, verbose=verbose).fit(*two_participants)
    with pytest.raises(ValueError, match=message):
        ParameterRecovery(QLearning(n_starts=1), n_datasets=2, verbose=verbose).fit()
    with pytest.raises(ValueError, match=message):
        ModelRecovery([QLearning(n_starts=1), QLearning(novel=True, n_starts=1)],
                      verbose=verbose).fit(*two_participants)


def test_verbose_accepts_bools_and_counts():
    from avoidrl._utils.validation import check_verbose

    assert [check_verbose(v) for v in (False, True, 0, 2, np.int64(1))] == [0, 1, 0, 2, 1]


# ------------------------------------------------------------ user models
class _Declared(BaseModel):
    parameters = (learning_rate("lr", 0.3, "learning rate"), temperature(0.1))
    state_names = ("q",)
    value_systems = ("q",)

    def prepare(self, theta, chose1, outcome):
        return {"lr": by_choice(chose1, theta["lr"], theta["lr"]), "target": outcome}

    def transfer_values(self, state, theta, novel, decay):
        return decayed(stimulus_table(state["q"], novel), decay)


def _local_model(name, update, **attributes):
    """A user model ``name`` declared inside a function, with the given update method."""
    return type(name, (_Declared,), {"update": update, "name": name, **attributes})


def _in_place(self, state, step, t, theta, scratch, guard=True):
    return {"pe": delta_rule(state["q"], step["target"][t], step["lr"][t], scratch)}


def _replaces(self, state, step, t, theta, scratch, guard=True):
    pe = step["target"][t] - state["q"]
    state["q"] = state["q"] + step["lr"][t] * pe  # a new array: the kernel never sees it
    return {"pe": pe}


def _updates_a_copy(self, state, step, t, theta, scratch, guard=True):
    q = state["q"]
    pe = step["target"][t] - q
    q = q + step["lr"][t] * pe  # rebinds a local name only
    return {"pe": pe}


def _learns_nothing(self, state, step, t, theta, scratch, guard=True):
    return {"pe": np.zeros_like(state["q"])}


@pytest.mark.parametrize("update, message", [
    (_replaces, r"ReplacingQ.update replaced state entries \['q'\] instead of changing them "
                "in place"),
    (_updates_a_copy, "CopyingQ.update returned non-zero prediction errors but changed no "
                      r"state entry \(\['q'\]\)"),
])
def test_an_update_that_does_not_change_the_state_is_refused_before_fitting(
        update, message, two_participants):
    name = "ReplacingQ" if update is _replaces else "CopyingQ"
    model = _local_model(name, update)
    with pytest.raises(ValueError, match=message):
        make_estimator(model, n_starts=1)
    with pytest.raises(ValueError, match=message):
        check_model(model)


def test_a_model_that_learns_nothing_and_says_so_is_accepted():
    model = _local_model("StaticQ", _learns_nothing)
    assert make_estimator(model).model_name == "StaticQ"


@pytest.mark.slow
def test_a_model_declared_inside_a_function_fits_in_parallel(two_participants):
    model = _local_model("LocalQ", _in_place)  # cloudpickle takes it
    fitted = make_estimator(model, n_starts=1, n_jobs=2, random_state=0).fit(*two_participants)
    assert len(fitted.params_) == 2


def test_an_unpicklable_model_with_n_jobs_names_the_model_and_the_way_out(two_participants):
    model = _local_model("LockedQ", _in_place, lock=threading.Lock())
    estimator = make_estimator(model, n_starts=1, n_jobs=2)
    expected = (r"n_jobs=2 fits in worker processes, which receive the model 'LockedQ' by "
                r"pickling, but it cannot be pickled \(TypeError: cannot pickle "
                r"'_thread.lock' object\).* or use n_jobs=1")
    with pytest.raises(ValueError, match=expected):
        estimator.fit(*two_participants)
    with pytest.raises(ValueError, match="receive the estimator 'LockedQ' by pickling"):
        ParameterRecovery(estimator, n_datasets=2, n_jobs=2).fit()
    # one job: nothing is pickled, and the model fits
    assert len(estimator.set_params(n_jobs=1).fit(*two_participants).params_) == 2
