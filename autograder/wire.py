"""Results as plain data, from the sandbox process to the judge.

Whatever the student's code returns (arrays, tensors, numbers, strings,
tuples, lists, dicts, nested) is sent as JSON for the structure and raw bytes
for the arrays; nothing is pickled, so the judge never runs code from the
sandbox. On the judge's side arrays become :class:`Arr` (the values as a
NumPy array plus the kind, dtype and device the student returned), an
exception a runner caught becomes :class:`Raised`, and anything that is not
data becomes :class:`Opaque` (only its type name travels).

The child builds its packer with :func:`make_packer` *before* any student code
runs: the packer keeps its own references to what it uses, so replacing
functions of this module (or of ``json``) from a notebook cell cannot stop it.
"""

from __future__ import annotations

import json
import sys

import numpy as np

__all__ = ["Arr", "Raised", "Opaque", "make_packer", "unpack", "map_tree", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 64 * 1024 * 1024  # one case's result, all arrays together
MAX_ITEMS = 100_000  # values in one result (nested items counted)
MAX_DEPTH = 24


class Raised:
    """An exception a runner caught while calling the student's code."""

    def __init__(self, exc_type: str, message: str):
        self.type = exc_type
        self.message = message

    @classmethod
    def from_exception(cls, exc: BaseException) -> "Raised":
        return cls(type(exc).__name__, describe_exception(exc))

    def __repr__(self):
        return f"Raised({self.message!r})"


class Opaque:
    """A returned value that is not data (a function, a custom object...): only its type name."""

    def __init__(self, type_name: str, note: str = ""):
        self.type_name = type_name
        self.note = note

    def __repr__(self):
        return f"Opaque({self.type_name})"


class Arr:
    """A returned array: ``value`` (NumPy, on the CPU), ``kind`` ("numpy", "numpy-scalar"
    or "torch"), the ``dtype`` and ``device`` it had in the student's process."""

    def __init__(self, value: np.ndarray, kind: str, dtype: str, device: str):
        self.value = value
        self.kind = kind
        self.dtype = dtype
        self.device = device

    @property
    def shape(self):
        return tuple(self.value.shape)

    def __repr__(self):
        return f"Arr({self.kind}, {self.dtype}, shape={self.shape})"


def map_tree(fn, value):
    """``value`` with ``fn`` applied to every leaf inside its tuples, lists and dicts."""
    if isinstance(value, tuple):
        return tuple(map_tree(fn, v) for v in value)
    if isinstance(value, list):
        return [map_tree(fn, v) for v in value]
    if isinstance(value, dict):
        return {k: map_tree(fn, v) for k, v in value.items()}
    return fn(value)


def describe_exception(exc: BaseException) -> str:
    """``"TypeError: message (cell line 3: x @ w)"``: the error and where in the notebook it happened."""
    import traceback

    where = ""
    try:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            if frame.filename.startswith("<cell"):
                code = (frame.line or "").strip()
                where = f" (cell line {frame.lineno}" + (f": {code})" if code else ")")
                break
    except Exception:  # noqa: BLE001 - a broken traceback still gets reported
        pass
    try:
        message = str(exc)
        text = f"{type(exc).__name__}: {message}" if message.strip() else type(exc).__name__
    except Exception:  # noqa: BLE001 - str() of the student's exception may itself fail
        text = type(exc).__name__
    if isinstance(exc, NotImplementedError) and text == "NotImplementedError":
        text += " (not written yet: replace `raise NotImplementedError()` with your code)"
    return text[:300] + where


def make_packer():
    """``pack(meta, value) -> bytes``, with every helper bound now (see the module docstring)."""
    dumps = json.dumps
    ndarray, generic = np.ndarray, np.generic
    raised = Raised
    modules = sys.modules
    scalars = (bool, int, float, str, type(None))
    limits = {"items": MAX_ITEMS, "bytes": MAX_MESSAGE_BYTES, "depth": MAX_DEPTH, "string": 1 << 20}

    def pack(meta: dict, *value) -> bytes:
        """``meta`` (a JSON object) and, when given, the one returned ``value``."""
        chunks: list = []
        state = {"items": 0, "bytes": 0}

        def array(a, kind, device):
            if a.dtype.kind not in "biufc":
                return {"~o": f"array of {a.dtype}"}
            n = a.nbytes
            if state["bytes"] + n > limits["bytes"]:
                return {"~o": "array", "note": f"too large to grade ({n} bytes)"}
            offset = state["bytes"]
            chunks.append(a.tobytes(order="C"))  # C order whatever the layout; 0-d stays 0-d
            state["bytes"] += n
            return {"~a": offset, "n": n, "k": kind, "t": str(a.dtype), "s": list(a.shape), "dev": device}

        def encode(v, depth):
            state["items"] += 1
            if state["items"] > limits["items"] or depth > limits["depth"]:
                return {"~o": type(v).__name__, "note": "too large or too deeply nested to grade"}
            if isinstance(v, scalars):
                if isinstance(v, int) and not isinstance(v, bool) and abs(v) > 2 ** 63:
                    return float(v)
                if isinstance(v, str) and len(v) > limits["string"]:
                    return {"~o": "str", "note": f"a string too long to grade ({len(v)} characters)"}
                return v
            if isinstance(v, raised):
                return {"~r": str(v.message)[:400], "e": str(v.type)[:80]}
            if isinstance(v, ndarray):
                return array(v, "numpy", "cpu")
            if isinstance(v, generic):
                return array(np.asarray(v), "numpy-scalar", "cpu")
            torch = modules.get("torch")
            if torch is not None and torch.is_tensor(v):
                try:
                    t = v.detach()
                    device = t.device.type
                    dtype = str(t.dtype).replace("torch.", "")
                    t = t.cpu()
                    if dtype == "bfloat16":
                        t = t.float()
                    out = array(t.resolve_conj().resolve_neg().numpy(), "torch", device)
                    if "~a" in out:
                        out["t"] = dtype if dtype == "bfloat16" else out["t"]
                    return out
                except Exception:  # noqa: BLE001 - sparse, meta or other unusual tensors
                    return {"~o": "tensor", "note": "a tensor that cannot be read as values"}
            if isinstance(v, tuple):
                return {"~t": [encode(x, depth + 1) for x in v]}
            if isinstance(v, list):
                return [encode(x, depth + 1) for x in v]
            if isinstance(v, dict):
                if all(isinstance(k, str) for k in v):
                    return {"~d": {k: encode(x, depth + 1) for k, x in v.items()}}
                return {"~o": "dict", "note": "a dict whose keys are not all strings"}
            return {"~o": type(v).__name__}

        head = dict(meta)
        head.pop("value", None)
        if value:
            head["value"] = encode(value[0], 0)
        payload = dumps(head).encode()
        return len(payload).to_bytes(8, "big") + payload + b"".join(chunks)

    return pack


def unpack(blob: bytes):
    """``(meta, value)`` from bytes made by a packer; arrays become :class:`Arr`."""
    if len(blob) < 8:
        raise ValueError("message too short")
    n = int.from_bytes(blob[:8], "big")
    if n > len(blob) - 8:
        raise ValueError("message header longer than the message")
    meta = json.loads(blob[8:8 + n].decode())
    if not isinstance(meta, dict):
        raise ValueError("message header is not an object")
    data = memoryview(blob)[8 + n:]

    def decode(v, depth=0):
        if depth > MAX_DEPTH + 1:
            raise ValueError("value nested too deeply")
        if isinstance(v, list):
            return [decode(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        if "~a" in v:
            offset, size = int(v["~a"]), int(v["n"])
            if offset < 0 or size < 0 or offset + size > len(data):
                raise ValueError("array outside the message")
            stored = np.dtype(v["t"]) if v["t"] != "bfloat16" else np.dtype("float32")
            if stored.kind not in "biufc":
                raise ValueError(f"unexpected dtype {v['t']}")
            shape = tuple(int(s) for s in v["s"])
            value = np.frombuffer(data[offset:offset + size], dtype=stored).reshape(shape).copy()
            return Arr(value, str(v.get("k", "numpy")), str(v["t"]), str(v.get("dev", "cpu")))
        if "~t" in v:
            return tuple(decode(x, depth + 1) for x in v["~t"])
        if "~d" in v:
            return {str(k): decode(x, depth + 1) for k, x in v["~d"].items()}
        if "~r" in v:
            return Raised(str(v.get("e", "Exception")), str(v["~r"]))
        if "~o" in v:
            return Opaque(str(v["~o"]), str(v.get("note", "")))
        raise ValueError("unknown value in message")

    if "value" in meta:
        meta["value"] = decode(meta["value"])
    return meta, meta.get("value")
