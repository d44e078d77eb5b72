r"""A scalar reverse-mode automatic differentiation engine, for teaching backprop.

Every arithmetic operation on :class:`Value` objects records a node in a
computational graph: the result remembers its inputs and how to send a
gradient back to them (the local derivative times the incoming gradient: the
chain rule). ``loss.backward()`` visits the graph in reverse topological order,
so each node's gradient is complete before it is passed on.

>>> x = Value(2.0); y = Value(-3.0)
>>> z = x * y + x ** 2      # z = xy + x^2
>>> z.backward()
>>> x.grad, y.grad          # dz/dx = y + 2x, dz/dy = x
(1.0, 2.0)
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

__all__ = ["Value"]


class Value:
    """A scalar that records how it was computed, so gradients can flow back."""

    __slots__ = ("data", "grad", "_backward", "_prev", "op", "label")

    def __init__(self, data: float, _children: Iterable["Value"] = (), op: str = "", label: str = ""):
        if isinstance(data, Value):
            raise TypeError("Value(data) needs a number, got a Value - help: use it directly")
        try:
            self.data = float(data)
        except (TypeError, ValueError):
            raise TypeError(f"Value(data) needs a real number, got {type(data).__name__}") from None
        self.grad = 0.0
        self._backward: Callable[[], None] = lambda: None
        self._prev = tuple(_children)
        self.op = op
        self.label = label

    # -- helpers -------------------------------------------------------------
    @staticmethod
    def _lift(other) -> "Value":
        return other if isinstance(other, Value) else Value(other)

    def __repr__(self) -> str:
        name = f"{self.label}: " if self.label else ""
        return f"Value({name}data={self.data:.6g}, grad={self.grad:.6g})"

    # -- binary operations ---------------------------------------------------
    def __add__(self, other) -> "Value":
        other = self._lift(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other) -> "Value":
        other = self._lift(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other) -> "Value":
        """``x ** k`` for a constant k, or ``x ** y`` for a Value y (needs x > 0)."""
        if isinstance(other, Value):
            return (other * self.log()).exp()
        if not isinstance(other, (int, float)):
            raise TypeError(f"exponent must be a number or a Value, got {type(other).__name__}")
        k = float(other)
        out = Value(self.data ** k, (self,), f"**{other:g}")

        def _backward():
            self.grad += k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def __rpow__(self, base) -> "Value":
        return self._lift(base) ** self

    def __neg__(self) -> "Value":
        return self * -1.0

    def __sub__(self, other) -> "Value":
        return self + (-self._lift(other))

    def __truediv__(self, other) -> "Value":
        other = self._lift(other)
        if other.data == 0.0:
            raise ZeroDivisionError("Value division by zero")
        return self * other ** -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other

    def __rsub__(self, other):
        return self._lift(other) - self

    def __rtruediv__(self, other):
        return self._lift(other) / self

    # -- unary functions -----------------------------------------------------
    def _unary(self, value: float, local_grad: float, op: str) -> "Value":
        out = Value(value, (self,), op)

        def _backward():
            self.grad += local_grad * out.grad

        out._backward = _backward
        return out

    def exp(self) -> "Value":
        e = math.exp(self.data)
        return self._unary(e, e, "exp")

    def log(self) -> "Value":
        if self.data <= 0.0:
            raise ValueError(f"log needs a positive value, got {self.data}")
        return self._unary(math.log(self.data), 1.0 / self.data, "log")

    def tanh(self) -> "Value":
        t = math.tanh(self.data)
        return self._unary(t, 1.0 - t * t, "tanh")

    def sigmoid(self) -> "Value":
        x = self.data
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        return self._unary(s, s * (1.0 - s), "sigmoid")

    def relu(self) -> "Value":
        positive = self.data > 0
        return self._unary(self.data if positive else 0.0, 1.0 if positive else 0.0, "relu")

    # -- the graph -----------------------------------------------------------
    def topological_order(self) -> list["Value"]:
        """Every node this value depends on, inputs before the nodes that use them."""
        order, seen = [], set()
        stack = [(self, False)]
        while stack:  # iterative DFS: deep graphs do not hit the recursion limit
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for child in node._prev:
                if id(child) not in seen:
                    stack.append((child, False))
        return order

    def graph(self) -> tuple[list["Value"], list[tuple["Value", "Value"]]]:
        """The computational graph: (nodes, edges), an edge going input -> result."""
        nodes = self.topological_order()
        edges = [(child, node) for node in nodes for child in node._prev]
        return nodes, edges

    def backward(self) -> None:
        """Fill ``.grad`` of every node with d(self)/d(node), by the chain rule.

        As in PyTorch, gradients of leaves (inputs made by ``Value(...)``)
        accumulate over calls: zero them between two backward passes. Inner
        nodes start from zero on every call.
        """
        order = self.topological_order()
        for node in order:
            if node._prev:
                node.grad = 0.0
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
