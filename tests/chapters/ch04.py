"""Chapter 04 (gradients and backpropagation): wrong and differently right answers, per task.

Each entry is appended to the model answer of the task's answer cell, so it redefines only
the function it changes. Labels read "<function>: <misconception>".
"""

NOTEBOOK = "04-gradients-and-backprop"

CELLS = {task: (cell, "test-" + cell) for task, cell in {
    "numerical_derivative": "numerical-derivative", "numerical_gradient": "numerical-gradient",
    "relative_error": "relative-error", "grad_f": "grad-f", "sigmoid_derivative": "sigmoid-derivative",
    "gradient_norms": "layer-gradient-norms", "value": "value", "mlp_gradients": "mlp-gradients"}.items()}
CELLS["gradient_norms"] = ("layer-gradient-norms", "test-gradient-norms")


from chapters import fn  # noqa: E402  (tests/ is on sys.path when these load)


def value_with(**methods):
    """The model Value with some methods replaced (method name -> body lines)."""
    out = "class Value(Value):\n"
    for name, (args, body) in methods.items():
        out += f"    def {name}({args}):\n" + "".join(f"        {line}\n" for line in body)
    return out


WRONG = {
    "numerical_derivative": {
        "numerical_derivative: the forward difference": fn("numerical_derivative(f, x, h=1e-5)",
                                                           "return (f(x + h) - f(x)) / h"),
        "numerical_derivative: divided by h, not 2h": fn("numerical_derivative(f, x, h=1e-5)",
                                                         "return (f(x + h) - f(x - h)) / h"),
        "numerical_derivative: the step h ignored (fixed 1e-3)": fn(
            "numerical_derivative(f, x, h=1e-5)", "return (f(x + 1e-3) - f(x - 1e-3)) / 2e-3"),
        "numerical_derivative: the backward difference": fn("numerical_derivative(f, x, h=1e-5)",
                                                            "return (f(x) - f(x - h)) / h"),
    },
    "numerical_gradient": {
        "numerical_gradient: x not put back": fn(
            "numerical_gradient(f, x, h=1e-5)", "grad = np.zeros_like(x)", "for i in np.ndindex(x.shape):",
            "    old = x[i]", "    x[i] = old + h", "    up = f(x)", "    x[i] = old - h", "    down = f(x)",
            "    grad[i] = (up - down) / (2 * h)", "return grad"),
        "numerical_gradient: the forward difference": fn(
            "numerical_gradient(f, x, h=1e-5)", "grad = np.zeros_like(x)", "base = f(x)",
            "for i in np.ndindex(x.shape):", "    old = x[i]", "    x[i] = old + h", "    grad[i] = (f(x) - base) / h",
            "    x[i] = old", "return grad"),
        "numerical_gradient: a vector only (range(len(x)))": fn(
            "numerical_gradient(f, x, h=1e-5)", "grad = np.zeros_like(x)", "for i in range(len(x)):",
            "    old = x[i].copy()", "    x[i] = old + h", "    up = f(x)", "    x[i] = old - h", "    down = f(x)",
            "    x[i] = old", "    grad[i] = (up - down) / (2 * h)", "return grad"),
        "numerical_gradient: divided by h, not 2h": fn(
            "numerical_gradient(f, x, h=1e-5)", "grad = np.zeros_like(x)", "for i in np.ndindex(x.shape):",
            "    old = x[i]", "    x[i] = old + h", "    up = f(x)", "    x[i] = old - h", "    down = f(x)",
            "    x[i] = old", "    grad[i] = (up - down) / h", "return grad"),
        "numerical_gradient: nudges every entry at once": fn(
            "numerical_gradient(f, x, h=1e-5)", "return np.full(x.shape, (f(x + h) - f(x - h)) / (2 * h))"),
    },
    "relative_error": {
        "relative_error: no floor, 0/0 is nan": fn(
            "relative_error(a, b)", "a, b = np.asarray(a, float), np.asarray(b, float)",
            "with np.errstate(all='ignore'):", "    return float(np.max(np.abs(a - b) / (np.abs(a) + np.abs(b))))"),
        "relative_error: the mean instead of the largest": fn(
            "relative_error(a, b)", "a, b = np.asarray(a, float), np.asarray(b, float)",
            "return float(np.mean(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))"),
        "relative_error: divided by |a| only": fn(
            "relative_error(a, b)", "a, b = np.asarray(a, float), np.asarray(b, float)",
            "return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a))))"),
        "relative_error: norms instead of entries": fn(
            "relative_error(a, b)", "a, b = np.asarray(a, float), np.asarray(b, float)",
            "return float(np.linalg.norm(a - b) / max(1e-8, np.linalg.norm(a) + np.linalg.norm(b)))"),
    },
    "grad_f": {
        "grad_f: the power rule's factor forgotten on x (2/3 x)": fn(
            "grad_f(x, y, z)", "return np.array([2 / 3 * x, 2 * y - 2, 4 * z ** 3 - 4 * z ** 2])"),
        "grad_f: sign error in the y term": fn("grad_f(x, y, z)",
                                               "return np.array([4 / 3 * x, 2 * y + 2, 4 * z ** 3 - 4 * z ** 2])"),
        "grad_f: z^3 differentiated as z^2": fn("grad_f(x, y, z)",
                                                "return np.array([4 / 3 * x, 2 * y - 2, 4 * z ** 3 - 4 / 3 * z ** 2])"),
        "grad_f: numerical differences instead of the formulas": fn(
            "grad_f(x, y, z)", "def f(v):", "    return 2 / 3 * v[0] ** 2 + v[1] ** 2 - 2 * v[1] + v[2] ** 4 - 4 / 3 * v[2] ** 3",
            "return numerical_gradient(f, np.array([x, y, z], dtype=float))"),
    },
    "sigmoid_derivative": {
        "sigmoid_derivative: s (1 + s)": fn("sigmoid_derivative(z)", "s = 1 / (1 + array_module(z).exp(-z))",
                                            "return s * (1 + s)"),
        "sigmoid_derivative: the sigmoid itself": fn("sigmoid_derivative(z)", "return 1 / (1 + array_module(z).exp(-z))"),
        "sigmoid_derivative: e^-z / (1 + e^-z)^2 overflows to nan": fn(
            "sigmoid_derivative(z)", "xp = array_module(z)", "with np.errstate(all='ignore'):",
            "    e = xp.exp(-z)", "    return e / (1 + e) ** 2"),
        "sigmoid_derivative: math.exp, one number only": fn("sigmoid_derivative(z)",
                                                            "s = 1 / (1 + math.exp(-z))", "return s * (1 - s)"),
    },
    "gradient_norms": {
        "layer_gradient_norms: the activation's derivative forgotten": fn(
            "layer_gradient_norms(x, weights, activation)",
            "f = (lambda z: 1 / (1 + np.exp(-z))) if activation == 'sigmoid' else (lambda z: np.maximum(z, 0))",
            "hs = [x]", "for W in weights:", "    hs.append(f(hs[-1] @ W.T))", "up = np.ones_like(hs[-1])", "norms = []",
            "for l in range(len(weights) - 1, -1, -1):", "    norms.append(np.linalg.norm(up.T @ hs[l]))",
            "    up = up @ weights[l]", "return np.array(norms[::-1])"),
        "layer_gradient_norms: the derivative taken at the output h, not at z": fn(
            "layer_gradient_norms(x, weights, activation)",
            "f = (lambda z: 1 / (1 + np.exp(-z))) if activation == 'sigmoid' else (lambda z: np.maximum(z, 0))",
            "df = sigmoid_derivative if activation == 'sigmoid' else (lambda z: (z > 0) * 1.0)",
            "hs = [x]", "for W in weights:", "    hs.append(f(hs[-1] @ W.T))", "up = np.ones_like(hs[-1])", "norms = []",
            "for l in range(len(weights) - 1, -1, -1):", "    d = up * df(hs[l + 1])",
            "    norms.append(np.linalg.norm(d.T @ hs[l]))", "    up = d @ weights[l]", "return np.array(norms[::-1])"),
        "layer_gradient_norms: last layer first": fn(
            "layer_gradient_norms(x, weights, activation)",
            "return _model_layer_gradient_norms(x, weights, activation)[::-1]"),
        "layer_gradient_norms: the norm of the upstream gradient, not of dW": fn(
            "layer_gradient_norms(x, weights, activation)",
            "f = (lambda z: 1 / (1 + np.exp(-z))) if activation == 'sigmoid' else (lambda z: np.maximum(z, 0))",
            "df = sigmoid_derivative if activation == 'sigmoid' else (lambda z: (z > 0) * 1.0)",
            "hs, zs = [x], []", "for W in weights:", "    zs.append(hs[-1] @ W.T)", "    hs.append(f(zs[-1]))",
            "up = np.ones_like(hs[-1])", "norms = []", "for l in range(len(weights) - 1, -1, -1):",
            "    d = up * df(zs[l])", "    norms.append(np.linalg.norm(d))", "    up = d @ weights[l]",
            "return np.array(norms[::-1])"),
    },
    "value": {
        "Value: gradients overwritten instead of accumulated": value_with(__mul__=("self, other", [
            "other = other if isinstance(other, Value) else Value(other)",
            "out = Value(self.data * other.data, (self, other))",
            "def backward():", "    self.grad = other.data * out.grad", "    other.grad = self.data * out.grad",
            "out._backward = backward", "return out"]), __add__=("self, other", [
            "other = other if isinstance(other, Value) else Value(other)",
            "out = Value(self.data + other.data, (self, other))",
            "def backward():", "    self.grad = out.grad", "    other.grad = out.grad",
            "out._backward = backward", "return out"])),
        "Value: backward as the graph is walked, no topological order": value_with(backward=("self", [
            "self.grad = 1.0", "seen, stack = set(), [self]", "while stack:", "    node = stack.pop()",
            "    if id(node) in seen:", "        continue", "    seen.add(id(node))", "    node._backward()",
            "    stack.extend(node._children)"])),
        "Value: backward recursing into every child, no visited set": value_with(backward=("self", [
            "self.grad = 1.0", "def walk(node):", "    node._backward()", "    for child in node._children:",
            "        walk(child)", "walk(self)"])),
        "Value: the power rule without the exponent": value_with(__pow__=("self, k", [
            "out = Value(self.data ** k, (self,))", "def backward():",
            "    self.grad += self.data ** (k - 1) * out.grad", "out._backward = backward", "return out"])),
        "Value: relu lets the gradient through for negative inputs": value_with(relu=("self", [
            "out = Value(max(self.data, 0.0), (self,))", "def backward():", "    self.grad += out.grad",
            "out._backward = backward", "return out"])),
        "Value: tanh's derivative from the input, 1 - x^2": value_with(tanh=("self", [
            "out = Value(math.tanh(self.data), (self,))", "def backward():",
            "    self.grad += (1 - self.data ** 2) * out.grad", "out._backward = backward", "return out"])),
    },
    "mlp_gradients": {
        "mlp_gradients: the ReLU mask forgotten": fn(
            "mlp_gradients(X, Y, W1, b1, W2, b2)", "Z = X @ W1.T + b1", "H = array_module(X).where(Z > 0, Z, Z * 0)",
            "out = H @ W2.T + b2", "D = 2 * (out - Y) / math.prod(out.shape)", "G = D @ W2",
            "return {'loss': ((out - Y) ** 2).mean(), 'W1': G.T @ X, 'b1': G.sum(0), 'W2': D.T @ H, 'b2': D.sum(0)}"),
        "mlp_gradients: the 1/N forgotten (a sum, not a mean)": fn(
            "mlp_gradients(X, Y, W1, b1, W2, b2)", "g = _model_mlp_gradients(X, Y, W1, b1, W2, b2)",
            "n = math.prod(Y.shape)", "return {k: (v if k == 'loss' else v * n) for k, v in g.items()}"),
        "mlp_gradients: bias gradients not summed over the batch": fn(
            "mlp_gradients(X, Y, W1, b1, W2, b2)", "g = _model_mlp_gradients(X, Y, W1, b1, W2, b2)",
            "g['b1'], g['b2'] = g['b1'] / X.shape[0], g['b2'] / X.shape[0]", "return g"),
        "mlp_gradients: dW2 as H.T @ D (transposed)": fn(
            "mlp_gradients(X, Y, W1, b1, W2, b2)", "g = _model_mlp_gradients(X, Y, W1, b1, W2, b2)",
            "g['W2'] = g['W2'].T", "return g"),
    },
}

RIGHT = {
    "numerical_derivative": {
        "numerical_derivative: a Python float, halves written out": fn(
            "numerical_derivative(f, x, h=1e-5)", "up, down = f(x + h), f(x - h)", "return float((up - down) / h / 2)"),
    },
    "numerical_gradient": {
        "numerical_gradient: in place with += and -=, a flat view": fn(
            "numerical_gradient(f, x, h=1e-5)", "flat, out = x.reshape(-1), []", "for i in range(flat.size):",
            "    flat[i] += h", "    up = f(x)", "    flat[i] -= 2 * h", "    down = f(x)", "    flat[i] += h",
            "    out.append((up - down) / (2 * h))", "return np.array(out).reshape(x.shape)"),
        "numerical_gradient: a flat copy, unit vectors, reshape": fn(
            "numerical_gradient(f, x, h=1e-5)", "flat = x.reshape(-1).copy()", "grad = []",
            "for i in range(flat.size):", "    step = np.zeros_like(flat)", "    step[i] = h",
            "    grad.append((f((flat + step).reshape(x.shape)) - f((flat - step).reshape(x.shape))) / (2 * h))",
            "return np.array(grad).reshape(x.shape)"),
    },
    "relative_error": {
        "relative_error: a loop over entries, Python floats": fn(
            "relative_error(a, b)", "worst = 0.0",
            "for p, q in zip(np.ravel(a).tolist(), np.ravel(b).tolist()):",
            "    worst = max(worst, abs(p - q) / max(1e-8, abs(p) + abs(q)))", "return worst"),
    },
    "grad_f": {
        "grad_f: a tuple, factored z term": fn("grad_f(x, y, z)", "return (4 * x / 3, 2 * (y - 1), 4 * z * z * (z - 1))"),
    },
    "sigmoid_derivative": {
        "sigmoid_derivative: 1/4 (1 - tanh^2(z/2))": fn("sigmoid_derivative(z)",
                                                         "t = array_module(z).tanh(z / 2)", "return (1 - t * t) / 4"),
    },
    "gradient_norms": {
        "layer_gradient_norms: torch tensors by hand, norms from sqrt of sums": fn(
            "layer_gradient_norms(x, weights, activation)", "h = torch.tensor(x)", "Ws = [torch.tensor(W) for W in weights]",
            "hs, zs = [h], []", "for W in Ws:", "    zs.append(hs[-1] @ W.T)",
            "    hs.append(torch.sigmoid(zs[-1]) if activation == 'sigmoid' else torch.relu(zs[-1]))",
            "up = torch.ones_like(hs[-1])", "out = [0.0] * len(Ws)", "for l in reversed(range(len(Ws))):",
            "    s = torch.sigmoid(zs[l])", "    d = up * (s * (1 - s) if activation == 'sigmoid' else (zs[l] > 0).to(zs[l].dtype))",
            "    out[l] = float(((d.T @ hs[l]) ** 2).sum().sqrt())", "    up = d @ Ws[l]", "return np.array(out)"),
    },
    "value": {
        "Value: an explicit stack for the topological order, subtraction via __add__": value_with(backward=("self", [
            "order, seen, stack = [], set(), [(self, False)]", "while stack:", "    node, done = stack.pop()",
            "    if done:", "        order.append(node)", "        continue", "    if id(node) in seen:", "        continue",
            "    seen.add(id(node))", "    stack.append((node, True))",
            "    stack.extend((c, False) for c in node._children)", "self.grad = 1.0",
            "for node in reversed(order):", "    node._backward()"]), __sub__=("self, other", [
            "return self + (other * -1 if isinstance(other, Value) else -other)"])),
    },
    "mlp_gradients": {
        "mlp_gradients: a float loss, the mask as a product": fn(
            "mlp_gradients(X, Y, W1, b1, W2, b2)", "Z = X @ W1.T + b1", "mask = (Z > 0) * (Z * 0 + 1)",
            "H = Z * mask", "err = H @ W2.T + b2 - Y", "n = err.shape[0] * err.shape[1]",
            "D = err * (2.0 / n)", "dZ = (D @ W2) * mask",
            "return {'loss': float((err ** 2).sum()) / n, 'W2': D.T @ H, 'b2': D.sum(0), 'W1': dZ.T @ X, 'b1': dZ.sum(0)}"),
    },
}

_MODEL_ALIASES = {
    "gradient_norms": "_model_layer_gradient_norms = layer_gradient_norms\n",
    "mlp_gradients": "_model_mlp_gradients = mlp_gradients\n",
}
for _task, _alias in _MODEL_ALIASES.items():
    WRONG[_task] = {label: _alias + code for label, code in WRONG[_task].items()}

#: the wrong answer with which Validate must name exactly one part (tests/test_chapters_student_day.py)
VALIDATE_WRONG = ("mlp_gradients", "mlp_gradients: the ReLU mask forgotten")
