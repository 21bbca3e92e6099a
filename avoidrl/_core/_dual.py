"""Forward-mode dual-number arrays: a value and its derivatives, carried through numpy code.

A :class:`Dual` holds an array ``value`` and ``tangent``, the derivatives of
every element with respect to ``k`` inputs, on a trailing axis of length
``k`` (shape ``value.shape + (k,)``). numpy's ufuncs and the few array
functions a model declaration uses (``np.where``, ``np.stack``,
``np.repeat``, ...) dispatch to it, in place too (``out=``, ``+=``), so a
declaration's own ``prepare`` / ``update`` / ``mix_values`` /
``transfer_values`` run unchanged on duals and give exact derivatives: no
update rule is differentiated by hand, and a user model gets its gradient
with nothing to add.

Values are computed by the same ufunc calls on the same operands as plain
numpy would make them, so a dual's ``value`` is bit-identical to the plain
computation. The tangent axis is last so that broadcasting of values carries
over to tangents unchanged.

Kinks: ``abs`` has derivative ``sign(a)`` (0 at 0), ``maximum`` takes the
first operand's derivative on ties, and a value picked by ``np.where`` (or
set by assignment, such as :func:`~avoidrl.models.divide_or`'s ``if_zero``)
carries the derivative of what was picked: a constant has derivative 0.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Dual", "seed", "value_of"]


def value_of(x):
    """The value part of a dual, or ``x`` itself."""
    return x.value if isinstance(x, Dual) else x


def _tangent(x):
    return x.tangent if isinstance(x, Dual) else None


def _lift(v):
    """``v[..., None]``: a value broadcast against tangents."""
    return np.asarray(v)[..., None]


def _sum(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _derivative(ufunc, a, b, v):
    """The tangent of ``ufunc(a, b)`` (value ``v``), or None when it is constant."""
    ta, tb = _tangent(a), _tangent(b)
    av, bv = value_of(a), value_of(b)
    if ufunc is np.add:
        return _sum(ta, tb)
    if ufunc is np.subtract:
        return _sum(ta, None if tb is None else -tb)
    if ufunc is np.multiply:
        return _sum(None if ta is None else ta * _lift(bv),
                    None if tb is None else _lift(av) * tb)
    if ufunc is np.true_divide:
        numerator = _sum(ta, None if tb is None else -(_lift(v) * tb))
        return None if numerator is None else numerator / _lift(bv)
    if ufunc is np.maximum:
        first = _lift(np.greater_equal(av, bv))
        if ta is None and tb is None:
            return None
        return np.where(first, 0.0 if ta is None else ta, 0.0 if tb is None else tb)
    if ta is None:
        return None
    if ufunc is np.negative:
        return -ta
    if ufunc is np.positive:
        return ta.copy()
    if ufunc is np.absolute:
        return _lift(np.sign(av)) * ta
    if ufunc is np.sqrt:
        return ta / _lift(2.0 * v)
    if ufunc is np.exp:
        return ta * _lift(v)
    if ufunc is np.log:
        return ta / _lift(av)
    raise TypeError(f"no derivative of numpy.{ufunc.__name__} for dual numbers")


_DIFFERENTIABLE = {np.add, np.subtract, np.multiply, np.true_divide, np.maximum, np.negative,
                   np.positive, np.absolute, np.sqrt, np.exp, np.log}
_VALUE_ONLY = {np.greater, np.greater_equal, np.less, np.less_equal, np.equal, np.not_equal,
               np.isnan, np.isfinite, np.isinf, np.sign, np.logical_and, np.logical_or,
               np.logical_not}


def _axis(axis, ndim):
    """A value axis as an axis of the tangent (which has one more, last)."""
    return axis if axis >= 0 else axis - 1


class Dual:
    """An array of values and their derivatives with respect to ``k`` inputs.

    Parameters
    ----------
    value : ndarray
    tangent : ndarray, shape ``value.shape + (k,)``
    """

    __array_priority__ = 100

    def __init__(self, value, tangent):
        self.value = value
        self.tangent = tangent

    # ----------------------------------------------------------- array-like
    shape = property(lambda self: self.value.shape)
    ndim = property(lambda self: self.value.ndim)
    dtype = property(lambda self: self.value.dtype)
    size = property(lambda self: self.value.size)

    def __len__(self):
        return len(self.value)

    def __repr__(self):
        return f"Dual(value={self.value!r}, k={self.tangent.shape[-1]})"

    def __array__(self, *args, **kwargs):
        raise TypeError("a Dual cannot become a plain array (its derivatives would be lost)")

    def _key(self, key):
        return (key if isinstance(key, tuple) else (key,)) + (slice(None),)

    def __getitem__(self, key):
        return Dual(self.value[key], self.tangent[self._key(key)])

    def __setitem__(self, key, other):
        self.value[key] = value_of(other)
        tangent = _tangent(other)
        self.tangent[self._key(key)] = 0.0 if tangent is None else tangent

    def copy(self):
        return Dual(self.value.copy(), self.tangent.copy())

    def reshape(self, *shape):
        shape = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        value = self.value.reshape(shape)
        return Dual(value, self.tangent.reshape(value.shape + self.tangent.shape[-1:]))

    def all(self, *args, **kwargs):
        return self.value.all(*args, **kwargs)

    def any(self, *args, **kwargs):
        return self.value.any(*args, **kwargs)

    # -------------------------------------------------------------- ufuncs
    def __array_ufunc__(self, ufunc, method, *inputs, out=None, **kwargs):
        if method != "__call__" or kwargs.get("where", True) is not True:
            return NotImplemented
        values = [value_of(x) for x in inputs]
        if ufunc in _VALUE_ONLY:
            result = ufunc(*values, **kwargs)
            if out is not None:
                out[0][...] = result
                return out[0]
            return result
        if ufunc not in _DIFFERENTIABLE:
            raise TypeError(f"numpy.{ufunc.__name__} is not supported on dual numbers")
        value = ufunc(*values, **kwargs)
        tangent = _derivative(ufunc, inputs[0], inputs[1] if len(inputs) > 1 else None, value)
        k = next(x.tangent.shape[-1] for x in (*inputs, *(out or ())) if isinstance(x, Dual))
        if out is not None:
            target = out[0]
            if not isinstance(target, Dual):
                if tangent is None:
                    target[...] = value
                    return target
                raise TypeError("a dual-number result cannot be written into a plain array")
            target.value[...] = value
            target.tangent[...] = 0.0 if tangent is None else tangent
            return target
        shape = np.shape(value) + (k,)
        if tangent is None:
            tangent = np.zeros(shape)
        elif tangent.shape != shape or any(
                tangent is getattr(x, "tangent", None) for x in inputs):
            # broadcast, or an operand's own tangent (x + constant): a new array
            tangent = np.array(np.broadcast_to(tangent, shape))
        return Dual(value, tangent)

    def __add__(self, other):
        return np.add(self, other)

    def __radd__(self, other):
        return np.add(other, self)

    def __sub__(self, other):
        return np.subtract(self, other)

    def __rsub__(self, other):
        return np.subtract(other, self)

    def __mul__(self, other):
        return np.multiply(self, other)

    def __rmul__(self, other):
        return np.multiply(other, self)

    def __truediv__(self, other):
        return np.true_divide(self, other)

    def __rtruediv__(self, other):
        return np.true_divide(other, self)

    def __iadd__(self, other):
        return np.add(self, other, out=self)

    def __isub__(self, other):
        return np.subtract(self, other, out=self)

    def __imul__(self, other):
        return np.multiply(self, other, out=self)

    def __itruediv__(self, other):
        return np.true_divide(self, other, out=self)

    def __neg__(self):
        return np.negative(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return np.absolute(self)

    # comparisons are of values (data-dependent branches keep their derivative)
    def __lt__(self, other):
        return self.value < value_of(other)

    def __le__(self, other):
        return self.value <= value_of(other)

    def __gt__(self, other):
        return self.value > value_of(other)

    def __ge__(self, other):
        return self.value >= value_of(other)

    def __eq__(self, other):
        return self.value == value_of(other)

    def __ne__(self, other):
        return self.value != value_of(other)

    __hash__ = None

    # ------------------------------------------------------ array functions
    def __array_function__(self, func, types, args, kwargs):
        handler = _FUNCTIONS.get(func)
        if handler is None:
            return NotImplemented
        return handler(*args, **kwargs)


def _k(*arrays):
    return next(x.tangent.shape[-1] for x in arrays if isinstance(x, Dual))


def _full_tangent(x, k):
    tangent = _tangent(x)
    return np.zeros(np.shape(x) + (k,)) if tangent is None else tangent


def _where(condition, x, y):
    k = _k(x, y)
    value = np.where(condition, value_of(x), value_of(y))
    tx, ty = _tangent(x), _tangent(y)
    tangent = np.where(_lift(condition), 0.0 if tx is None else tx, 0.0 if ty is None else ty)
    return Dual(value, np.array(np.broadcast_to(tangent, value.shape + (k,))))


def _stack(arrays, axis=0):
    arrays = list(arrays)
    k = _k(*arrays)
    value = np.stack([value_of(a) for a in arrays], axis=axis)
    return Dual(value, np.stack([_full_tangent(a, k) for a in arrays],
                                axis=_axis(axis, value.ndim)))


def _concatenate(arrays, axis=0):
    arrays = list(arrays)
    k = _k(*arrays)
    value = np.concatenate([value_of(a) for a in arrays], axis=axis)
    return Dual(value, np.concatenate([_full_tangent(a, k) for a in arrays],
                                      axis=_axis(axis, value.ndim)))


def _repeat(a, repeats, axis=None):
    if axis is None:
        raise TypeError("np.repeat of a dual needs an axis")
    return Dual(np.repeat(a.value, repeats, axis=axis),
                np.repeat(a.tangent, repeats, axis=_axis(axis, a.ndim)))


def _take(a, indices, axis=None):
    if axis is None:
        raise TypeError("np.take of a dual needs an axis")
    return Dual(np.take(a.value, indices, axis=axis),
                np.take(a.tangent, indices, axis=_axis(axis, a.ndim)))


def _broadcast_to(a, shape, subok=False):
    shape = tuple(np.atleast_1d(shape)) if not isinstance(shape, tuple) else shape
    return Dual(np.broadcast_to(a.value, shape),
                np.broadcast_to(a.tangent, shape + a.tangent.shape[-1:]))


def _empty_like(a, dtype=None, order="K", subok=True, shape=None):
    shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
    return Dual(np.empty(shape), np.zeros(shape + a.tangent.shape[-1:]))


def _zeros_like(a, dtype=None, order="K", subok=True, shape=None):
    shape = a.shape if shape is None else tuple(np.atleast_1d(shape))
    return Dual(np.zeros(shape), np.zeros(shape + a.tangent.shape[-1:]))


def _sum_axis(a, axis=None, **kwargs):
    if axis is None or kwargs:
        raise TypeError("np.sum of a dual needs one axis (and no other argument)")
    return Dual(np.sum(a.value, axis=axis), np.sum(a.tangent, axis=_axis(axis, a.ndim)))


def _copyto(dst, src, casting="same_kind", where=True):
    if where is not True:
        raise TypeError("np.copyto of duals takes no where=")
    dst[...] = src


_FUNCTIONS = {np.copyto: _copyto, np.where: _where, np.stack: _stack, np.concatenate: _concatenate,
              np.repeat: _repeat, np.take: _take, np.broadcast_to: _broadcast_to,
              np.empty_like: _empty_like, np.zeros_like: _zeros_like, np.sum: _sum_axis}


def seed(columns):
    """Duals of ``(batch, 1)`` parameter columns, each the derivative of itself.

    Parameters
    ----------
    columns : dict of ndarray, each of shape (batch, 1)
        In the order of the derivatives' axis.

    Returns
    -------
    dict of Dual
    """
    k = len(columns)
    out = {}
    for j, (name, column) in enumerate(columns.items()):
        tangent = np.zeros(column.shape + (k,))
        tangent[..., j] = 1.0
        out[name] = Dual(column, tangent)
    return out
