"""Source of the compiled tangent kernel: the traced recursion, differentiated line by line.

:func:`avoidrl._core._trace.trace` turns a declaration into scalar
operations. Here each operation ``c = f(a, b)`` gets, for every parameter
``j`` that ``a`` or ``b`` depends on, a line ``c__dj = ...`` (forward mode:
the product rule for ``*``, the quotient rule for ``/``, ``sign(a)`` for
``abs``, the chosen branch's tangent for a select). Which tangents are not
identically zero is known when the code is generated, so only those are
written: the state's are found as a fixed point over one trial's update
(a Q value never depends on an actor learning rate, so no line carries
that). Nothing here knows any model: a user's traceable declaration gets
its kernel the same way.

The generated ``kernel(params, owner, chose1, outcome, d_outcome,
outcome_row, chain_length, initial, difference, d_difference, final,
d_final)`` fills ``difference[t, b, p]`` with the unscaled choice difference
(``mix_values``'s, as the value kernel computes it, same bits),
``d_difference[t, b, p, j]`` with its derivative by parameter ``j``, and
``final`` / ``d_final`` with each chain's last state and its derivatives.
Every entry of ``d_difference`` is written (zeros for the parameters ``D``
does not depend on, and on padding), so it need not be zeroed; ``d_final``
must be: its identically zero entries are never written. Under +bias the
outcomes are the biased ones and ``d_outcome`` their derivative by the
valence factor (parameter ``len(base.parameters)``).

:func:`generate_transfer` does the same for a variant's ``transfer_values``
(traced by :func:`avoidrl._core._trace.trace_transfer`): a kernel that turns
the final state and its tangents into the nine stimulus values and theirs.
"""

from __future__ import annotations

import re

from .task import N_PAIRS

_LOCAL = re.compile(
    r"\b((?:state_\d+_\d|step_\d+|_v\d+|outcome_\d|difference_value|chosen)(?:__d\d+)?)\b")


def _dependencies(traced, outcome_deps, state_deps):
    """``{name: set of parameters}`` after one trial, from the state's dependencies."""
    deps = {f"theta_{k}": {k} for k in range(len(traced["names"]))}
    deps.update({f"outcome_{i}": set(outcome_deps) for i in (0, 1)})
    deps.update(state_deps)

    def of(operand):
        return deps.get(operand, set())

    for target, _, operands in traced["prepare_ops"]:
        deps[target] = set().union(*(of(o) for o in operands))
    for name, when_false, when_true in traced["select"]:
        deps[name] = of(when_false) | of(when_true)
    for target, _, operands in traced["choice_ops"] + traced["update_ops"]:
        deps[target] = set().union(*(of(o) for o in operands))
    deps["difference_value"] = of(traced["difference"])
    return deps


def _state_dependencies(traced, outcome_deps):
    """The parameters each state entry depends on at some trial: a fixed point."""
    state = {name: set() for name, _ in traced["assign"]}
    while True:
        deps = _dependencies(traced, outcome_deps, state)
        new = {name: state[name] | deps.get(operand, set())
               for name, operand in traced["assign"]}
        if new == state:
            return state, deps
        state = new


def _tangent_lines(op, deps):
    """The tangent lines of one traced operation ``(target, operator, operands)``."""
    target, operator, operands = op

    def d(operand, j):
        return f"{operand}__d{j}" if j in deps.get(operand, ()) else None

    lines = []
    for j in sorted(deps[target]):
        if operator in ("+", "-"):
            a, b = d(operands[0], j), d(operands[1], j)
            if b is None:
                expression = a
            elif a is None:
                expression = f"-{b}" if operator == "-" else b
            else:
                expression = f"{a} {operator} {b}"
        elif operator == "*":
            a, b = d(operands[0], j), d(operands[1], j)
            terms = [f"{a} * {operands[1]}" if a else None,
                     f"{operands[0]} * {b}" if b else None]
            expression = " + ".join(t for t in terms if t)
        elif operator == "/":
            a, b = d(operands[0], j), d(operands[1], j)
            numerator = a if b is None else (
                f"-({target} * {b})" if a is None else f"{a} - {target} * {b}")
            expression = f"({numerator}) / {operands[1]}"
        elif operator == "neg":
            expression = f"-{d(operands[0], j)}"
        elif operator == "abs":
            a, x = d(operands[0], j), operands[0]
            expression = f"({a} if {x} > 0.0 else (-{a} if {x} < 0.0 else 0.0))"
        elif operator == "sqrt":
            expression = f"{d(operands[0], j)} / (2.0 * {target})"
        elif operator == "select_if_zero":
            condition, if_zero, otherwise = operands
            expression = (f"{d(if_zero, j) or '0.0'} if {condition} == 0.0 "
                          f"else {d(otherwise, j) or '0.0'}")
        else:  # pragma: no cover - the tracer records no other operator
            raise ValueError(f"no derivative of {operator!r}")
        lines.append(f"{target}__d{j} = {expression}")
    return lines


def _with_tangents(ops, deps):
    lines = []
    for op in ops:
        lines.append(_value_line(op))
        lines += _tangent_lines(op, deps)
    return lines


def _value_line(op):
    """The value line of an operation, as :class:`~avoidrl._core._trace._Tape` wrote it."""
    target, operator, operands = op
    if operator in ("+", "-", "*", "/"):
        return f"{target} = {operands[0]} {operator} {operands[1]}"
    if operator == "neg":
        return f"{target} = -{operands[0]}"
    if operator == "abs":
        return f"{target} = abs({operands[0]})"
    if operator == "sqrt":
        return f"{target} = math.sqrt({operands[0]})"
    condition, if_zero, otherwise = operands
    return f"{target} = {if_zero} if {condition} == 0.0 else {otherwise}"


def _copy(name, operand, deps, targets):
    """``name = operand`` and its tangents ``targets`` (0 where ``operand`` has none)."""
    lines = [f"{name} = {operand}"]
    for j in sorted(targets):
        source = f"{operand}__d{j}" if j in deps.get(operand, ()) else "0.0"
        lines.append(f"{name}__d{j} = {source}")
    return lines


def generate(base, bias):
    """Python source of the tangent kernel of ``base`` (+bias when ``bias``).

    Raises
    ------
    NotTraceable
        When the declaration cannot be traced (see :func:`avoidrl._core._trace.trace`).
    """
    from ._trace import trace

    traced = trace(base)
    names = traced["names"]
    valence = len(names)
    outcome_deps = {valence} if bias else set()
    state_deps, deps = _state_dependencies(traced, outcome_deps)
    entries = [name for name, _ in traced["assign"]]

    body = _with_tangents(traced["choice_ops"], deps)
    body += _copy("difference_value", traced["difference"], deps, deps["difference_value"])
    body += ["difference[t, b, PAIR] = difference_value"]
    # every column is written (zeros where D does not depend on the parameter), so
    # that the caller need not zero the array first
    n_known = len(names) + bool(bias)
    body += [f"d_difference[t, b, PAIR, {j}] = difference_value__d{j}"
             if j in deps["difference_value"] else f"d_difference[t, b, PAIR, {j}] = 0.0"
             for j in range(n_known)]
    body += [f"for j in range({n_known}, d_difference.shape[3]):",
             "    d_difference[t, b, PAIR, j] = 0.0"]
    for i in (0, 1):
        body += [f"outcome_{i} = outcome[t, {i}, row, PAIR]"]
        if bias:
            body += [f"outcome_{i}__d{valence} = d_outcome[t, {i}, row, PAIR]"]
    body += ["chosen = chose1[t, data_row, PAIR]"]
    body += _with_tangents(traced["prepare_ops"], deps)
    for name, when_false, when_true in traced["select"]:
        body += [f"{name} = {when_true}" if when_true == when_false
                 else f"{name} = {when_true} if chosen else {when_false}"]
        for j in sorted(deps[name]):
            true = f"{when_true}__d{j}" if j in deps.get(when_true, ()) else "0.0"
            false = f"{when_false}__d{j}" if j in deps.get(when_false, ()) else "0.0"
            body += [f"{name}__d{j} = {true} if chosen else {false}"]
    body += _with_tangents(traced["update_ops"], deps)
    # values first, then tangents: both read the operands of this trial
    body += [f"{name} = {operand}" for name, operand in traced["assign"]]
    for name, operand in traced["assign"]:
        body += _copy(name, operand, deps, state_deps[name])[1:]

    def for_pair(lines, p):
        return [_LOCAL.sub(rf"\1_p{p}", line).replace("PAIR", str(p)) for line in lines]

    source = [
        "def kernel(params, owner, chose1, outcome, d_outcome, outcome_row, chain_length,",
        "           initial, difference, d_difference, final, d_final):",
        "    n_steps = chose1.shape[0]",
        "    for b in range(params.shape[0]):",
        "        row, data_row = outcome_row[b], owner[b]",
        *[f"        theta_{k} = params[b, {k}]" for k in range(len(names))],
        # each parameter's derivative by itself (a constant numba folds away)
        *[f"        theta_{k}__d{k} = 1.0" for k in range(len(names))],
    ]
    for p in range(N_PAIRS):
        for s, name in enumerate(entries):
            state, option = divmod(s, 2)
            source += [f"        {name}_p{p} = initial[{state}, {option}, b, {p}]"]
            source += [f"        {name}__d{j}_p{p} = 0.0" for j in sorted(state_deps[name])]
        source += [f"        length_p{p} = chain_length[data_row, {p}]"]
    source += ["        for t in range(n_steps):"]
    for p in range(N_PAIRS):
        source += [f"            if t < length_p{p}:",
                   *["                " + line for line in for_pair(body, p)],
                   "            else:",
                   f"                difference[t, b, {p}] = 0.0",
                   "                for j in range(d_difference.shape[3]):",
                   f"                    d_difference[t, b, {p}, j] = 0.0"]
    for p in range(N_PAIRS):
        for s, name in enumerate(entries):
            state, option = divmod(s, 2)
            source += [f"        final[{state}, {option}, b, {p}] = {name}_p{p}"]
            source += [f"        d_final[{state}, {option}, b, {p}, {j}] = {name}__d{j}_p{p}"
                       for j in sorted(state_deps[name])]
    return "\n".join(source) + "\n"


def _transfer_dependencies(variant, traced):
    """``{name: set of parameters}`` of the transfer trace's symbols and operations.

    A state entry depends on what the learning recursion lets it depend on
    (:func:`_state_dependencies`, +bias through the outcomes, as in
    :func:`generate`); the option parameters only enter here.
    """
    from ._trace import trace

    learning = trace(variant.base)
    outcome_deps = {len(learning["names"])} if variant.bias else set()
    state_deps, _ = _state_dependencies(learning, outcome_deps)
    deps = {f"theta_{k}": {k} for k in range(len(traced["names"]))}
    for name, depends in state_deps.items():
        deps.update({f"{name}_p{p}": depends for p in range(N_PAIRS)})
    for target, _, operands in traced["ops"]:
        deps[target] = set().union(*(deps.get(o, set()) for o in operands))
    return deps


def _transfer_reads(traced, deps):
    """The lines that load the parameters and the state entries the trace reads."""
    used = {o for _, _, operands in traced["ops"] for o in operands} | set(traced["values"])
    lines = []
    for k in range(len(traced["names"])):
        if f"theta_{k}" in used:
            lines += [f"theta_{k} = params[b, {k}]", f"theta_{k}__d{k} = 1.0"]
    for name in sorted(n for n in used if n.startswith("state_")):
        state, option, pair = re.fullmatch(r"state_(\d+)_(\d)_p(\d)", name).groups()
        lines += [f"{name} = final[{state}, {option}, b, {pair}]"]
        lines += [f"{name}__d{j} = d_final[{state}, {option}, b, {pair}, {j}]"
                  for j in sorted(deps[name])]
    return lines


def generate_transfer(variant):
    """Python source of the transfer kernel of ``variant`` (its options included).

    The generated ``transfer_kernel(params, final, d_final, values, d_values)``
    fills ``values[b, i]`` with the nine stimulus values of
    ``variant.transfer_values`` (same bits) and ``d_values[b, i, j]`` with
    their derivatives by parameter ``j``, from the final state ``final``
    (n_states, 2, batch, 4) and its tangents ``d_final`` (as the tangent
    kernel leaves them). ``d_values`` must be zeroed by the caller: entries
    that are identically zero are never written.

    Raises
    ------
    NotTraceable
        When ``transfer_values`` or the learning recursion cannot be traced.
    """
    from ._trace import trace_transfer

    traced = trace_transfer(variant)
    deps = _transfer_dependencies(variant, traced)
    body = _transfer_reads(traced, deps) + _with_tangents(traced["ops"], deps)
    for i, operand in enumerate(traced["values"]):
        body += [f"values[b, {i}] = {operand}"]
        body += [f"d_values[b, {i}, {j}] = {operand}__d{j}"
                 for j in sorted(deps.get(operand, ()))]
    source = ["def transfer_kernel(params, final, d_final, values, d_values):",
              "    for b in range(params.shape[0]):",
              *["        " + line for line in body]]
    return "\n".join(source) + "\n"
