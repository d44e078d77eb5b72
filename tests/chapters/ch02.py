"""Chapter 02 (activation functions): wrong and differently right answers, per task.

Each entry is appended to the model answer of the task's answer cell, so it redefines only
the function it changes. Labels read "<function>: <misconception>".
"""

NOTEBOOK = "02-activation-functions"

CELLS = {task: (cell, "test-" + cell) for task, cell in {
    "step": "step", "relu": "relu", "leaky_relu": "leaky-relu", "sigmoid": "sigmoid", "tanh": "tanh",
    "swish": "swish", "gelu": "gelu", "prelu": "prelu", "softmax": "softmax",
    "classifier_outputs": "classifier-outputs", "mlp_forward": "mlp-forward",
    "fit_hidden_layer": "fit-hidden-layer"}.items()}


from chapters import fn  # noqa: E402  (tests/ is on sys.path when these load)


WRONG = {
    "step": {
        "step: fires at 0 too (x >= 0)": fn("step(x)", "return x * 0 + (x >= 0)"),
        "step: (sign(x) + 1) / 2 gives one half at 0": fn("step(x)", "return (array_module(x).sign(x) + 1) / 2"),
        "step: np.where with float constants (float64, NumPy only)": fn("step(x)", "return np.where(x > 0, 1.0, 0.0)"),
        "step_derivative: a spike of 1 at 0": fn("step_derivative(x)", "return x * 0 + (x == 0)"),
        "step_derivative: np.zeros (float64, NumPy only)": fn("step_derivative(x)", "return np.zeros(x.shape)"),
        "step_derivative: one number instead of an array": fn("step_derivative(x)", "return 0.0"),
    },
    "relu": {
        "relu: Python's max on a whole array": fn("relu(x)", "return max(0, x)"),
        "relu: clipped at 1 as well (ReLU6 confusion)": fn("relu(x)", "return array_module(x).clip(x, 0, 1)"),
        "relu: absolute value": fn("relu(x)", "return abs(x)"),
        "relu_derivative: 1 at the kink": fn("relu_derivative(x)", "return x * 0 + (x >= 0)"),
        "relu_derivative: returns relu(x)": fn("relu_derivative(x)", "return relu(x)"),
        "relu_derivative: the sign of x": fn("relu_derivative(x)", "return array_module(x).sign(x)"),
    },
    "leaky_relu": {
        "leaky_relu: slope fixed at 0.01": fn("leaky_relu(x, negative_slope=0.01)",
                                              "return array_module(x).where(x > 0, x, 0.01 * x)"),
        "leaky_relu: adds the slope instead of multiplying": fn("leaky_relu(x, negative_slope=0.01)",
                                                                "return array_module(x).where(x > 0, x, x * 0 + negative_slope)"),
        "leaky_relu: slope on the positive side": fn("leaky_relu(x, negative_slope=0.01)",
                                                     "return array_module(x).where(x > 0, negative_slope * x, x)"),
        "leaky_relu_derivative: 1 at the kink": fn("leaky_relu_derivative(x, negative_slope=0.01)",
                                                   "return array_module(x).where(x >= 0, x * 0 + 1, x * 0 + negative_slope)"),
        "leaky_relu_derivative: slope fixed at 0.01": fn("leaky_relu_derivative(x, negative_slope=0.01)",
                                                         "return array_module(x).where(x > 0, x * 0 + 1, x * 0 + 0.01)"),
        "leaky_relu_derivative: returns the activation": fn("leaky_relu_derivative(x, negative_slope=0.01)",
                                                            "return leaky_relu(x, negative_slope)"),
    },
    "sigmoid": {
        "sigmoid: sign error, 1 / (1 + exp(x))": fn("sigmoid(x)", "return 1 / (1 + array_module(x).exp(x))"),
        "sigmoid: exp(x) / (1 + exp(x)) overflows to nan": fn(
            "sigmoid(x)", "xp = array_module(x)", "with np.errstate(all='ignore'):",
            "    return xp.exp(x) / (1 + xp.exp(x))"),
        "sigmoid: math.exp works on one number only": fn("sigmoid(x)", "return 1 / (1 + math.exp(-x))"),
        "sigmoid_derivative: s (1 + s)": fn("sigmoid_derivative(x)", "s = sigmoid(x)", "return s * (1 + s)"),
        "sigmoid_derivative: applied to the input, s (1 - x)": fn("sigmoid_derivative(x)", "return sigmoid(x) * (1 - x)"),
        "sigmoid_derivative: tanh's 1 - s^2": fn("sigmoid_derivative(x)", "return 1 - sigmoid(x) ** 2"),
    },
    "tanh": {
        "tanh: the textbook quotient, nan for large |x|": fn(
            "tanh(x)", "xp = array_module(x)", "with np.errstate(all='ignore'):",
            "    return (xp.exp(x) - xp.exp(-x)) / (xp.exp(x) + xp.exp(-x))"),
        "tanh: 2 sigmoid(x) - 1 (that is tanh(x / 2))": fn("tanh(x)", "return 2 * sigmoid(x) - 1"),
        "tanh: math.tanh works on one number only": fn("tanh(x)", "return math.tanh(x)"),
        "tanh_derivative: 1 - x^2": fn("tanh_derivative(x)", "return 1 - x * x"),
        "tanh_derivative: 1 - tanh(x)": fn("tanh_derivative(x)", "return 1 - tanh(x)"),
        "tanh_derivative: sech without the square": fn("tanh_derivative(x)", "t = tanh(x)",
                                                       "return array_module(x).sqrt(1 - t * t)"),
    },
    "swish": {
        "swish: beta ignored": fn("swish(x, beta=1.0)", "return x * sigmoid(x)"),
        "swish: the gate without x": fn("swish(x, beta=1.0)", "return sigmoid(beta * x)"),
        "swish: beta multiplies the output": fn("swish(x, beta=1.0)", "return beta * x * sigmoid(x)"),
        "swish_derivative: beta left out of the second term": fn("swish_derivative(x, beta=1.0)", "s = sigmoid(beta * x)",
                                                                  "return s + x * s * (1 - s)"),
        "swish_derivative: only the sigmoid's derivative": fn("swish_derivative(x, beta=1.0)", "s = sigmoid(beta * x)",
                                                               "return s * (1 - s)"),
        "swish_derivative: x forgotten in the product rule": fn("swish_derivative(x, beta=1.0)", "s = sigmoid(beta * x)",
                                                                "return s + beta * s * (1 - s)"),
    },
    "gelu": {
        "gelu: approximate ignored (always exact)": fn(
            "gelu(x, approximate='none')", "erf = torch.erf if isinstance(x, torch.Tensor) else scipy.special.erf",
            "return x * 0.5 * (1 + erf(x / math.sqrt(2)))"),
        "gelu: erf(x) without the 1/sqrt(2)": fn(
            "gelu(x, approximate='none')", "if approximate == 'tanh':",
            "    return 0.5 * x * (1 + array_module(x).tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))",
            "erf = torch.erf if isinstance(x, torch.Tensor) else scipy.special.erf", "return x * 0.5 * (1 + erf(x))"),
        "gelu: the sigmoid approximation x sigmoid(1.702 x)": fn("gelu(x, approximate='none')", "return x * sigmoid(1.702 * x)"),
        "gelu_derivative: Phi(x) only (product rule forgotten)": fn(
            "gelu_derivative(x, approximate='none')", "if approximate == 'tanh':",
            "    return 0.5 * (1 + array_module(x).tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))",
            "erf = torch.erf if isinstance(x, torch.Tensor) else scipy.special.erf",
            "return 0.5 * (1 + erf(x / math.sqrt(2)))"),
        "gelu_derivative: approximate ignored": fn(
            "gelu_derivative(x, approximate='none')", "xp = array_module(x)",
            "erf = torch.erf if xp is torch else scipy.special.erf",
            "return 0.5 * (1 + erf(x / math.sqrt(2))) + x * xp.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)"),
        "gelu_derivative: phi without its 1/sqrt(2 pi)": fn(
            "gelu_derivative(x, approximate='none')", "xp = array_module(x)", "if approximate == 'tanh':",
            "    c = math.sqrt(2 / math.pi)", "    t = xp.tanh(c * (x + 0.044715 * x ** 3))",
            "    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)",
            "erf = torch.erf if xp is torch else scipy.special.erf",
            "return 0.5 * (1 + erf(x / math.sqrt(2))) + x * xp.exp(-0.5 * x * x)"),
    },
    "prelu": {
        "prelu: slopes broadcast over the last axis, not the channel axis": fn(
            "prelu(x, weight)", "return array_module(x).where(x > 0, x, weight * x)"),
        "prelu: the first slope used for every channel": fn(
            "prelu(x, weight)", "return array_module(x).where(x > 0, x, weight[0] * x)"),
        "prelu: slope on the positive side": fn(
            "prelu(x, weight)", "a = weight.reshape(()) if weight.shape[0] == 1 else weight.reshape((1, -1) + (1,) * (x.ndim - 2))",
            "return array_module(x).where(x > 0, a * x, x)"),
        "prelu_grads: the slope's gradient summed over every entry": fn(
            "prelu_grads(x, weight, dout)", "dx, dw = _model_prelu_grads(x, weight, dout)",
            "return dx, (dout * x).sum().reshape(1) if weight.shape[0] == 1 else dw + (dout * x * (x > 0)).sum(0)"),
        "prelu_grads: the slope's gradient not summed": fn(
            "prelu_grads(x, weight, dout)", "dx, _ = _model_prelu_grads(x, weight, dout)",
            "return dx, array_module(x).where(x > 0, dout * 0, dout * x)"),
        "prelu_grads: dx as for ReLU (0 on the negative side)": fn(
            "prelu_grads(x, weight, dout)", "_, dw = _model_prelu_grads(x, weight, dout)",
            "return array_module(x).where(x > 0, dout, dout * 0), dw"),
    },
    "softmax": {
        "softmax: no shift, overflow at 1000": fn("softmax(z)", "xp = array_module(z)", "with np.errstate(all='ignore'):",
                                                 "    e = xp.exp(z)", "    return e / e.sum()"),
        "softmax: shifted by the minimum": fn("softmax(z)", "xp = array_module(z)", "with np.errstate(all='ignore'):",
                                             "    e = xp.exp(z - z.min())", "    return e / e.sum()"),
        "softmax: scores divided by their sum": fn("softmax(z)", "return z / z.sum()"),
        "softmax_jacobian: the diagonal only": fn("softmax_jacobian(z)", "return array_module(z).diag(softmax(z))"),
        "softmax_jacobian: outer(s, 1 - s)": fn("softmax_jacobian(z)", "s = softmax(z)",
                                                "return array_module(z).outer(s, 1 - s)"),
        "softmax_jacobian: the elementwise s (1 - s)": fn("softmax_jacobian(z)", "s = softmax(z)", "return s * (1 - s)"),
    },
    "classifier_outputs": {
        "classifier_outputs: softmax for several labels too": fn(
            "classifier_outputs(X, W, b, multi_label=False)", "return _model_classifier_outputs(X, W, b, False)"),
        "classifier_outputs: softmax over the batch axis": fn(
            "classifier_outputs(X, W, b, multi_label=False)", "out = _model_classifier_outputs(X, W, b, multi_label)",
            "if not multi_label:", "    logits = out['logits']",
            "    e = array_module(logits).exp(logits - logits.max())", "    out['probs'] = e / e.sum(0)", "return out"),
        "classifier_outputs: probabilities returned as the logits": fn(
            "classifier_outputs(X, W, b, multi_label=False)", "out = _model_classifier_outputs(X, W, b, multi_label)",
            "return {'logits': out['probs'], 'probs': out['probs']}"),
        "classifier_outputs: sigmoid for one label per input": fn(
            "classifier_outputs(X, W, b, multi_label=False)", "return _model_classifier_outputs(X, W, b, True)"),
    },
    "mlp_forward": {
        "mlp_forward: an activation after the output layer too": fn(
            "mlp_forward(X, weights, biases, activation='relu')",
            "act = {'relu': relu, 'tanh': tanh, 'sigmoid': sigmoid, None: lambda z: z}[activation]", "h = X",
            "for W, b in zip(weights, biases):", "    h = act(h @ W.T + b)", "return h"),
        "mlp_forward: None means ReLU (a default that hides the choice)": fn(
            "mlp_forward(X, weights, biases, activation='relu')",
            "return _model_mlp_forward(X, weights, biases, activation or 'relu')"),
        "mlp_forward: the first layer's activation skipped": fn(
            "mlp_forward(X, weights, biases, activation='relu')",
            "act = {'relu': relu, 'tanh': tanh, 'sigmoid': sigmoid, None: lambda z: z}[activation]", "h = X",
            "for k, (W, b) in enumerate(zip(weights, biases)):", "    h = h @ W.T + b",
            "    if 0 < k < len(weights) - 1:", "        h = act(h)", "return h"),
    },
    "fit_hidden_layer": {
        "fit_hidden_layer: the output layer left at random": fn(
            "fit_hidden_layer(X, y, width, activation='relu', seed=0)",
            "W1, b1, W2, b2 = _model_fit_hidden_layer(X, y, width, activation, seed)",
            "rng = np.random.default_rng(seed + 1)", "return W1, b1, rng.normal(size=W2.shape), rng.normal(size=1)"),
        "fit_hidden_layer: activation ignored (always ReLU)": fn(
            "fit_hidden_layer(X, y, width, activation='relu', seed=0)",
            "return _model_fit_hidden_layer(X, y, width, 'relu', seed)"),
        "fit_hidden_layer: W2 returned as a vector (width,)": fn(
            "fit_hidden_layer(X, y, width, activation='relu', seed=0)",
            "W1, b1, W2, b2 = _model_fit_hidden_layer(X, y, width, activation, seed)", "return W1, b1, W2[0], b2"),
        "fit_hidden_layer: every kink at the origin (b1 = 0) and tiny weights": fn(
            "fit_hidden_layer(X, y, width, activation='relu', seed=0)", "rng = np.random.default_rng(seed)",
            "W1 = rng.normal(size=(width, X.shape[1])) * 0.01", "b1 = np.zeros(width)",
            "act = {'relu': relu, 'tanh': tanh, 'sigmoid': sigmoid, None: lambda z: z}[activation]",
            "H = np.column_stack([act(X @ W1.T + b1), np.ones(len(X))])",
            "theta = np.linalg.lstsq(H, y, rcond=None)[0]", "return W1, b1, theta[None, :-1], theta[-1:]"),
    },
}

RIGHT = {
    "step": {
        "step: where with ones_like and zeros_like": fn("step(x)", "xp = array_module(x)",
                                                        "return xp.where(x > 0, xp.ones_like(x), xp.zeros_like(x))"),
        "step_derivative: x * 0.0": fn("step_derivative(x)", "return x * 0.0"),
    },
    "relu": {
        "relu: x times a mask": fn("relu(x)", "return x * (x > 0)"),
        "relu_derivative: astype / to by backend": fn("relu_derivative(x)", "if isinstance(x, torch.Tensor):",
                                                      "    return (x > 0).to(x.dtype)", "return (x > 0).astype(x.dtype)"),
    },
    "leaky_relu": {
        "leaky_relu: maximum(x, slope x) for slopes below 1": fn(
            "leaky_relu(x, negative_slope=0.01)", "return array_module(x).maximum(x, negative_slope * x)"),
        "leaky_relu_derivative: ones, then a masked assignment": fn(
            "leaky_relu_derivative(x, negative_slope=0.01)", "d = array_module(x).ones_like(x)",
            "d[x <= 0] = negative_slope", "return d"),
    },
    "sigmoid": {
        "sigmoid: through tanh, 0.5 (1 + tanh(x / 2))": fn("sigmoid(x)", "return 0.5 * (1 + array_module(x).tanh(0.5 * x))"),
        "sigmoid_derivative: e^-|x| / (1 + e^-|x|)^2": fn("sigmoid_derivative(x)", "e = array_module(x).exp(-abs(x))",
                                                           "return e / (1 + e) ** 2"),
    },
    "tanh": {
        "tanh: 2 sigmoid(2x) - 1": fn("tanh(x)", "return 2 * sigmoid(2 * x) - 1"),
        "tanh_derivative: 4 sigmoid'(2x)": fn("tanh_derivative(x)", "return 4 * sigmoid_derivative(2 * x)"),
    },
    "swish": {
        "swish: the gate written with tanh": fn("swish(x, beta=1.0)",
                                                "return x * 0.5 * (1 + array_module(x).tanh(0.5 * beta * x))"),
        "swish_derivative: product rule spelled out with tanh": fn(
            "swish_derivative(x, beta=1.0)", "g = 0.5 * (1 + array_module(x).tanh(0.5 * beta * x))",
            "dg = beta * g * (1 - g)", "return g + x * dg"),
    },
    "gelu": {
        "gelu: Phi from ndtr (scipy / torch.special)": fn(
            "gelu(x, approximate='none')", "if approximate == 'tanh':",
            "    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)",
            "    return x * sigmoid(2 * inner)",
            "ndtr = torch.special.ndtr if isinstance(x, torch.Tensor) else scipy.special.ndtr", "return x * ndtr(x)"),
        "gelu_derivative: Phi from ndtr, the tanh form through sech^2 = 4 sigma'(2u)": fn(
            "gelu_derivative(x, approximate='none')", "xp = array_module(x)", "if approximate == 'tanh':",
            "    c = math.sqrt(2 / math.pi)", "    u = c * (x + 0.044715 * x * x * x)",
            "    return sigmoid(2 * u) + x * 2 * sigmoid_derivative(2 * u) * c * (1 + 0.134145 * x * x)",
            "ndtr = torch.special.ndtr if xp is torch else scipy.special.ndtr",
            "return ndtr(x) + x * xp.exp(-x * x / 2) * (1 / math.sqrt(2 * math.pi))"),
    },
    "prelu": {
        "prelu: masks and None-indexing for the channel axis": fn(
            "prelu(x, weight)", "a = weight if weight.shape[0] == 1 else weight[(None, slice(None)) + (None,) * (x.ndim - 2)]",
            "return x * (x > 0) + a * x * (x <= 0)"),
        "prelu_grads: a loop over the channels": fn(
            "prelu_grads(x, weight, dout)", "neg = x <= 0", "a = weight if weight.shape[0] == 1 else "
            "weight[(None, slice(None)) + (None,) * (x.ndim - 2)]",
            "dx = dout * (x > 0) + a * dout * neg", "if weight.shape[0] == 1:",
            "    return dx, (dout * x * neg).sum().reshape(1)",
            "parts = [(dout[:, c] * x[:, c] * neg[:, c]).sum() for c in range(weight.shape[0])]",
            "dw = torch.stack(parts) if isinstance(x, torch.Tensor) else np.array(parts, dtype=x.dtype)",
            "return dx, dw"),
    },
    "softmax": {
        "softmax: through the log-sum-exp": fn("softmax(z)", "xp = array_module(z)", "m = z.max()",
                                               "return xp.exp(z - m - xp.log(xp.exp(z - m).sum()))"),
        "softmax_jacobian: two loops": fn(
            "softmax_jacobian(z)", "s = softmax(z)", "K = len(s)",
            "rows = [[s[i] * ((1 if i == j else 0) - s[j]) for j in range(K)] for i in range(K)]",
            "if isinstance(z, torch.Tensor):", "    return torch.stack([torch.stack(r) for r in rows])",
            "return np.array(rows, dtype=s.dtype)"),
    },
    "classifier_outputs": {
        "classifier_outputs: log-sum-exp and logaddexp": fn(
            "classifier_outputs(X, W, b, multi_label=False)", "logits = X @ W.T + b", "xp = array_module(logits)",
            "if multi_label:", "    return {'logits': logits, 'probs': xp.exp(-xp.logaddexp(0 * logits, -logits))}",
            "if xp is torch:", "    lse = torch.logsumexp(logits, 1, keepdim=True)",
            "else:", "    m = logits.max(1, keepdims=True)", "    lse = m + np.log(np.exp(logits - m).sum(1, keepdims=True))",
            "return {'probs': xp.exp(logits - lse), 'logits': logits}"),
    },
    "mlp_forward": {
        "mlp_forward: library activations by backend, recursion over the layers": fn(
            "mlp_forward(X, weights, biases, activation='relu')", "z = X @ weights[0].T + biases[0]",
            "if len(weights) == 1:", "    return z", "xp = array_module(z)",
            "if activation == 'relu':", "    z = z.clamp(min=0) if xp is torch else np.maximum(z, 0)",
            "elif activation == 'tanh':", "    z = xp.tanh(z)",
            "elif activation == 'sigmoid':", "    z = 0.5 * (1 + xp.tanh(0.5 * z))",
            "return mlp_forward(z, weights[1:], biases[1:], activation)"),
    },
    "fit_hidden_layer": {
        "fit_hidden_layer: uniform weights and ridge normal equations": fn(
            "fit_hidden_layer(X, y, width, activation='relu', seed=0)", "rng = np.random.default_rng(seed)",
            "W1 = rng.uniform(-2, 2, size=(width, X.shape[1]))",
            "b1 = -(W1 * X[rng.choice(len(X), size=width)]).sum(1)",
            "f = {'relu': lambda z: np.maximum(z, 0), 'tanh': np.tanh, 'sigmoid': sigmoid, None: lambda z: z}[activation]",
            "H = np.hstack([f(X @ W1.T + b1), np.ones((len(X), 1))])",
            "theta = np.linalg.solve(H.T @ H + 1e-8 * np.eye(width + 1), H.T @ y)",
            "return W1, b1, theta[:width].reshape(1, width), theta[width:]"),
    },
}

# the wrong versions above call the model answer under another name
_MODEL_ALIASES = {
    "prelu": "_model_prelu_grads = prelu_grads\n",
    "classifier_outputs": "_model_classifier_outputs = classifier_outputs\n",
    "mlp_forward": "_model_mlp_forward = mlp_forward\n",
    "fit_hidden_layer": "_model_fit_hidden_layer = fit_hidden_layer\n",
}
for _task, _alias in _MODEL_ALIASES.items():
    WRONG[_task] = {label: _alias + code for label, code in WRONG[_task].items()}

#: the wrong answer with which Validate must name exactly one part (tests/test_chapters_student_day.py)
VALIDATE_WRONG = ("prelu", "prelu_grads: dx as for ReLU (0 on the negative side)")
