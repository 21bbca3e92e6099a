"""The tracer: a model declaration run on symbolic scalars, recorded as scalar code.

:func:`trace` runs a declaration's ``prepare``, ``mix_values`` and ``update``
once on numpy object arrays of one batch row and one pair whose elements are
:class:`_Symbol`: every arithmetic operation they make is recorded, in order,
as one line of scalar code and as a structured operation. The value kernel
(:func:`avoidrl._core.compiled.generate_source`) is generated from the
lines, the gradient's tangent kernel (:mod:`avoidrl._core._tangent_source`)
from the operations. :func:`trace_transfer` records a variant's
``transfer_values`` the same way, for the gradient's transfer kernel. See
:mod:`avoidrl._core.compiled` for what is traceable.
"""

from __future__ import annotations

import math

import numpy as np

from .task import N_PAIRS, N_STIMULI


class NotTraceable(Exception):
    """The declaration does something the tracer cannot turn into scalar code."""


class _Tape:
    """The recorded operations: one assignment per operation, in order.

    ``lines`` hold the source text, ``ops`` the same operations as
    ``(target, operator, operands)`` for the derivative generator
    (:mod:`avoidrl._core._tangent_source`).
    """

    def __init__(self):
        self.lines = []
        self.ops = []
        self.count = 0

    def emit(self, expression, operator, operands):
        name = f"_v{self.count}"
        self.count += 1
        self.lines.append(f"{name} = {expression}")
        self.ops.append((name, operator, tuple(operands)))
        return _Symbol(name, self)


def _operand(value):
    """The source text of an operand: a symbol's name or a float literal."""
    if isinstance(value, _Symbol):
        return value.name
    if isinstance(value, (bool, np.bool_, int, float, np.integer, np.floating)):
        number = float(value)
        if math.isnan(number):
            return "math.nan"
        if math.isinf(number):
            return "math.inf" if number > 0 else "-math.inf"
        return repr(number)
    raise NotTraceable(f"operand of type {type(value).__name__}")


class _Symbol:
    """A scalar of the traced loop; numpy object arrays call its operators."""

    def __init__(self, name, tape):
        self.name = name
        self.tape = tape

    def _binary(self, operator, other, reflected=False):
        left, right = (_operand(other), self.name) if reflected else (self.name, _operand(other))
        return self.tape.emit(f"{left} {operator} {right}", operator, (left, right))

    def __add__(self, other):
        return self._binary("+", other)

    def __radd__(self, other):
        return self._binary("+", other, True)

    def __sub__(self, other):
        return self._binary("-", other)

    def __rsub__(self, other):
        return self._binary("-", other, True)

    def __mul__(self, other):
        return self._binary("*", other)

    def __rmul__(self, other):
        return self._binary("*", other, True)

    def __truediv__(self, other):
        return self._binary("/", other)

    def __rtruediv__(self, other):
        return self._binary("/", other, True)

    def __neg__(self):
        return self.tape.emit(f"-{self.name}", "neg", (self.name,))

    def __pos__(self):
        return self

    def __abs__(self):
        return self.tape.emit(f"abs({self.name})", "abs", (self.name,))

    def select_if_zero(self, if_zero, otherwise):
        """``if_zero`` where this scalar is exactly 0, else ``otherwise`` (see ``divide_or``)."""
        operands = (self.name, _operand(if_zero), _operand(otherwise))
        return self.tape.emit(f"{operands[1]} if {self.name} == 0.0 else {operands[2]}",
                              "select_if_zero", operands)

    # numpy's object ufunc loops call these methods; exp and log are left out
    # on purpose: numba's differ from numpy's in the last bit
    def sqrt(self):
        return self.tape.emit(f"math.sqrt({self.name})", "sqrt", (self.name,))

    def _refuse(self, *args):
        raise NotTraceable("a value-dependent branch or comparison")

    __bool__ = __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __pow__ = _refuse
    __hash__ = None


def _symbols(tape, shape, name):
    """An object array of fresh symbols; ``name(index)`` names each."""
    array = np.empty(shape, dtype=object)
    for index in np.ndindex(*shape):
        array[index] = _Symbol(name(index), tape)
    return array


def _expression(value):
    try:
        return _operand(value)
    except NotTraceable:
        raise NotTraceable(f"a value of type {type(value).__name__}") from None


def _per_trial(array, what):
    """Check that a traced array has shape (1, ..., 1, 1) (one trial, row and pair)."""
    array = np.asarray(array)
    if array.ndim < 3 or array.shape[0] != 1 or array.shape[-2:] != (1, 1):
        raise NotTraceable(f"{what} has shape {array.shape}")
    return array


def trace(base):
    """Trace the declaration of ``base`` into scalar code: the pieces of the kernels.

    Returns a dict: ``names`` (parameters), ``states``, the source lines and
    the operations (see :class:`_Tape`) of ``prepare`` (both choices), of the
    choice (``difference_value``) and of ``update``; ``select``, the step
    entries ``(name, when_false, when_true)``; ``difference``, the operand of
    ``difference_value``; ``assign``, the new state entries ``(name, operand)``.

    Raises
    ------
    NotTraceable
        When the declaration cannot be traced.
    """
    tape = _Tape()
    names = base.parameter_names
    theta = {name: _symbols(tape, (2, 1, 1), lambda i, k=k: f"theta_{k}")
             for k, name in enumerate(names)}
    pair_theta = {name: value[0] for name, value in theta.items()}
    outcome = _symbols(tape, (1, 2, 1, 1), lambda i: f"outcome_{i[1]}")

    # prepare, once per choice; its step entries become the symbols step_k_i,
    # chosen between the two branches' values without a jump
    steps, lines, ops, values = {}, [], [], {}
    for chosen in (False, True):
        tape.lines, tape.ops = [], []
        step = base.prepare(pair_theta, np.full((1, 1, 1), chosen), outcome)
        if not hasattr(step, "items"):
            raise NotTraceable("prepare does not return a dict")
        flat = {key: _per_trial(value, f"step[{key!r}]") for key, value in step.items()}
        lines += tape.lines
        ops += tape.ops
        values[chosen] = [_expression(element) for value in flat.values()
                          for element in value.reshape(-1)]
        steps[chosen] = {key: value.shape for key, value in flat.items()}
    if steps[False] != steps[True]:
        raise NotTraceable("prepare returns different entries for the two choices")
    select = [(f"step_{i}", when_false, when_true)
              for i, (when_false, when_true) in enumerate(zip(values[False], values[True]))]
    prepare_lines = lines + [
        f"{name} = {when_true}" if when_true == when_false
        else f"{name} = {when_true} if chosen else {when_false}"
        for name, when_false, when_true in select]
    step, offset = {}, 0
    for key, shape in steps[True].items():
        step[key] = _symbols(tape, shape, lambda i, offset=offset, shape=shape:
                             f"step_{offset + int(np.ravel_multi_index(i, shape))}")
        offset += int(np.prod(shape))

    # the choice before the update, then the update
    tape.lines, tape.ops = [], []
    states = base.state_names
    state = {name: _symbols(tape, (2, 1, 1), lambda i, s=s: f"state_{s}_{i[0]}")
             for s, name in enumerate(states)}
    index = {name: s for s, name in enumerate(states)}
    differences = [state[name][1:2] - state[name][0:1] for name in base.value_systems]
    mixed = _per_trial(np.asarray(base.mix_values(differences, theta))[None], "mix_values")
    difference = _expression(mixed.reshape(-1)[0])
    choice_lines = tape.lines + [f"difference_value = {difference}"]
    choice_ops = tape.ops

    tape.lines, tape.ops = [], []
    arrays = dict(state)
    base.update(state, step, 0, theta, np.empty((2, 1, 1), dtype=object), False)
    if any(state[name] is not arrays[name] for name in states):
        raise NotTraceable("update replaced a state entry instead of changing it in place")
    assign = [(f"state_{index[name]}_{o}", _expression(state[name][o, 0, 0]))
              for name in states for o in (0, 1)]
    update_lines = tape.lines + [f"{name} = {value}" for name, value in assign]
    return {"names": names, "states": states, "prepare_lines": prepare_lines,
            "prepare_ops": ops, "select": select, "choice_lines": choice_lines,
            "choice_ops": choice_ops, "difference": difference, "update_lines": update_lines,
            "update_ops": tape.ops, "assign": assign}


def trace_transfer(variant):
    """Trace ``variant.transfer_values`` (options included) into scalar operations.

    The state entries are object arrays of shape (2, 1, N_PAIRS) whose symbols
    are named ``state_{s}_{option}_p{pair}`` (``s`` in ``base.state_names``
    order), the parameters (1, 1) columns ``theta_{k}`` in
    ``variant.parameter_names`` order.

    Returns
    -------
    dict
        ``names`` (parameters), ``ops`` (see :class:`_Tape`) and ``values``,
        the operand (a symbol's name or a float literal) of each of the nine
        stimulus values.

    Raises
    ------
    NotTraceable
        When the transfer values cannot be traced.
    """
    tape = _Tape()
    names = variant.parameter_names
    theta = {name: _symbols(tape, (1, 1), lambda i, k=k: f"theta_{k}")
             for k, name in enumerate(names)}
    state = {name: _symbols(tape, (2, 1, N_PAIRS),
                            lambda i, s=s: f"state_{s}_{i[0]}_p{i[2]}")
             for s, name in enumerate(variant.base.state_names)}
    try:
        values = np.asarray(variant.transfer_values(state, theta))
    except NotTraceable:
        raise
    except Exception as exc:  # noqa: BLE001  (a ufunc symbols lack, np.where on them, ...)
        raise NotTraceable(f"transfer_values: {type(exc).__name__}: {exc}") from None
    if values.shape != (1, N_STIMULI):
        raise NotTraceable(f"transfer_values has shape {values.shape}")
    return {"names": names, "ops": tape.ops,
            "values": [_expression(value) for value in values[0]]}
