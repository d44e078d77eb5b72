"""Chapter 01 (neurons and layers): wrong and differently right answers, per task.

Each entry is appended to the model answer of the task's answer cell, so it redefines only
the function it changes. Labels read "<function>: <misconception>".
"""

NOTEBOOK = "01-neurons-and-layers"

CELLS = {
    "dense": ("dense", "test-dense"),
    "layer_shapes": ("layer-shapes", "test-layer-shapes"),
    "count_parameters": ("layer-shapes", "test-count-parameters"),
    "perceptron": ("perceptron", "test-perceptron"),
    "collapse_linear": ("collapse-linear", "test-collapse-linear"),
    "xor_network": ("xor-network", "test-xor-network"),
}

WRONG = {
    "dense": {
        "dense: a forgotten bias": "def dense(a, W, b):\n    return a @ W.T\n",
        "dense: W not transposed for a batch (works for square W only)": (
            "def dense(a, W, b):\n    if a.ndim == 1:\n        return W @ a + b\n    return a @ W + b\n"),
        "dense: the batch comes out as (H, N)": (
            "def dense(a, W, b):\n    if a.ndim == 1:\n        return W @ a + b\n"
            "    return W @ a.T + b[:, None]\n"),
        "dense: np.dot turns tensors into trouble": "def dense(a, W, b):\n    return np.dot(a, np.asarray(W).T) + np.asarray(b)\n",
        "dense: float64 bias mixed into float32": (
            "def dense(a, W, b):\n    z = a @ W.T\n    if isinstance(z, np.ndarray):\n"
            "        return z + np.asarray(b, dtype=np.float64)\n    return z + b\n"),
    },
    "layer_shapes": {
        "layer_shapes: W as (in, out)": (
            "def layer_shapes(sizes):\n    if len(sizes) < 2:\n        raise ValueError(sizes)\n"
            "    return [((i, o), (o,)) for i, o in zip(sizes[:-1], sizes[1:])]\n"),
        "layer_shapes: the input layer gets weights too": (
            "def layer_shapes(sizes):\n    if len(sizes) < 2:\n        raise ValueError(sizes)\n"
            "    prev = [sizes[0]] + list(sizes[:-1])\n    return [((o, i), (o,)) for i, o in zip(prev, sizes)]\n"),
        "layer_shapes: bias as wide as the input": (
            "def layer_shapes(sizes):\n    if len(sizes) < 2:\n        raise ValueError(sizes)\n"
            "    return [((o, i), (i,)) for i, o in zip(sizes[:-1], sizes[1:])]\n"),
        "layer_shapes: no check for a single size": (
            "def layer_shapes(sizes):\n    return [((o, i), (o,)) for i, o in zip(sizes[:-1], sizes[1:])]\n"),
    },
    "count_parameters": {
        "count_parameters: total counts the weights only": (
            "def count_parameters(sizes):\n    s = layer_shapes(sizes)\n    w = sum(a * b for (a, b), _ in s)\n"
            "    n = sum(c for _, (c,) in s)\n    return {'weights': w, 'biases': n, 'total': w}\n"),
        "count_parameters: a bias for the input layer too": (
            "def count_parameters(sizes):\n    s = layer_shapes(sizes)\n    w = sum(a * b for (a, b), _ in s)\n"
            "    n = sum(sizes)\n    return {'weights': w, 'biases': n, 'total': w + n}\n"),
        "count_parameters: weights counted as in + out": (
            "def count_parameters(sizes):\n    s = layer_shapes(sizes)\n    w = sum(a + b for (a, b), _ in s)\n"
            "    n = sum(c for _, (c,) in s)\n    return {'weights': w, 'biases': n, 'total': w + n}\n"),
        "count_parameters: float counts from np.prod": (
            "def count_parameters(sizes):\n    s = layer_shapes(sizes)\n"
            "    w = float(sum(np.prod(ws) for ws, _ in s))\n    n = float(sum(np.prod(bs) for _, bs in s))\n"
            "    return {'weights': w, 'biases': n, 'total': w + n}\n"),
    },
    "perceptron": {
        "Perceptron: updates on correct predictions too": (
            "class Perceptron(Perceptron):\n    def fit(self, X, y, max_epochs=100):\n"
            "        for _ in range(max_epochs):\n            mistakes = 0\n"
            "            for x_i, y_i in zip(X, y):\n                mistakes += int(y_i != (x_i @ self.w + self.b > 0))\n"
            "                self.w = self.w + self.lr * y_i * x_i\n                self.b = self.b + self.lr * y_i\n"
            "            if mistakes == 0:\n                return True\n        return False\n"),
        "Perceptron: no bias": (
            "class Perceptron(Perceptron):\n    def predict(self, X):\n        return (np.asarray(X) @ self.w > 0).astype(float)\n"
            "    def fit(self, X, y, max_epochs=100):\n        for _ in range(max_epochs):\n            mistakes = 0\n"
            "            for x_i, y_i in zip(X, y):\n                error = y_i - (x_i @ self.w > 0)\n"
            "                if error:\n                    self.w = self.w + self.lr * error * x_i\n                    mistakes += 1\n"
            "            if mistakes == 0:\n                return True\n        return False\n"),
        "Perceptron: sign error in the update": (
            "class Perceptron(Perceptron):\n    def fit(self, X, y, max_epochs=100):\n"
            "        for _ in range(max_epochs):\n            mistakes = 0\n            for x_i, y_i in zip(X, y):\n"
            "                error = y_i - (x_i @ self.w + self.b > 0)\n                if error:\n"
            "                    self.w = self.w - self.lr * error * x_i\n                    self.b = self.b - self.lr * error\n"
            "                    mistakes += 1\n            if mistakes == 0:\n                return True\n        return False\n"),
        "Perceptron: claims to converge after max_epochs": (
            "class Perceptron(Perceptron):\n    def fit(self, X, y, max_epochs=100):\n        super().fit(X, y, max_epochs)\n"
            "        return True\n"),
        "Perceptron: a -1/+1 rule on 0/1 labels": (
            "class Perceptron(Perceptron):\n    def fit(self, X, y, max_epochs=100):\n"
            "        for _ in range(max_epochs):\n            mistakes = 0\n            for x_i, y_i in zip(X, y):\n"
            "                if y_i != (x_i @ self.w + self.b > 0):\n                    self.w = self.w + self.lr * y_i * x_i\n"
            "                    self.b = self.b + self.lr * y_i\n                    mistakes += 1\n"
            "            if mistakes == 0:\n                return True\n        return False\n"),
    },
    "collapse_linear": {
        "collapse_linear: multiplies in the wrong order": (
            "def collapse_linear(weights, biases):\n    W, b = weights[0], biases[0]\n"
            "    for Wn, bn in zip(weights[1:], biases[1:]):\n        W = W @ Wn if W.shape[1] == Wn.shape[0] else Wn @ W\n"
            "        b = Wn @ b + bn\n    return W, b\n"),
        "collapse_linear: only the last bias counts": (
            "def collapse_linear(weights, biases):\n    W = weights[0]\n    for Wn in weights[1:]:\n        W = Wn @ W\n"
            "    return W, biases[-1]\n"),
        "collapse_linear: forgets to add each later layer's own bias": (
            "def collapse_linear(weights, biases):\n    W, b = weights[0], biases[0]\n"
            "    for Wn in weights[1:]:\n        W = Wn @ W\n        b = Wn @ b\n    return W, b\n"),
        "collapse_linear: two layers only": (
            "def collapse_linear(weights, biases):\n    if len(weights) == 1:\n        return weights[0], biases[0]\n"
            "    return weights[1] @ weights[0], weights[1] @ biases[0] + biases[1]\n"),
    },
    "xor_network": {
        "xor_network: the OR network": (
            "def xor_network():\n    return (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -1.5]),\n"
            "            np.array([[1.0, 0.0]]), np.array([-0.5]))\n"),
        "xor_network: thresholds on the corners (b = 0 and -1)": (
            "def xor_network():\n    return (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([0.0, -1.0]),\n"
            "            np.array([[1.0, -1.0]]), np.array([-0.5]))\n"),
        "xor_network: W2 as a vector (2,)": (
            "def xor_network():\n    return (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -1.5]),\n"
            "            np.array([1.0, -1.0]), np.array([-0.5]))\n"),
        "xor_network: AND minus OR (XNOR-like)": (
            "def xor_network():\n    return (np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([-0.5, -1.5]),\n"
            "            np.array([[-1.0, 1.0]]), np.array([0.5]))\n"),
    },
}

RIGHT = {
    "dense": {
        "dense: one expression for both cases (a @ W.T + b)": "def dense(a, W, b):\n    return a @ W.T + b\n",
        "dense: a loop over rows and neurons, NumPy or torch": (
            "def dense(a, W, b):\n    single = a.ndim == 1\n    rows = a[None] if single else a\n"
            "    out = [[(row * W[h]).sum() + b[h] for h in range(W.shape[0])] for row in rows]\n"
            "    if isinstance(a, torch.Tensor):\n        z = torch.stack([torch.stack(r) for r in out])\n"
            "    else:\n        z = np.array(out, dtype=a.dtype)\n    return z[0] if single else z\n"),
    },
    "layer_shapes": {
        "layer_shapes: lists instead of tuples, an index loop": (
            "def layer_shapes(sizes):\n    if len(sizes) < 2:\n        raise ValueError('one size is no layer')\n"
            "    out = []\n    for k in range(1, len(sizes)):\n        out.append([[sizes[k], sizes[k - 1]], [sizes[k]]])\n"
            "    return out\n"),
    },
    "count_parameters": {
        "count_parameters: from the sizes directly, NumPy integers": (
            "def count_parameters(sizes):\n    if len(sizes) < 2:\n        raise ValueError('one size is no layer')\n"
            "    s = np.array(sizes)\n    w = np.sum(s[1:] * s[:-1])\n    n = np.sum(s[1:])\n"
            "    return {'total': w + n, 'biases': n, 'weights': w}\n"),
    },
    "perceptron": {
        "Perceptron: vectorised predictions, update only on mistakes, a while loop": (
            "class Perceptron:\n    def __init__(self, n_inputs, lr=1.0):\n        self.w, self.b, self.lr = np.zeros(n_inputs), 0.0, lr\n"
            "    def predict(self, X):\n        return np.where(np.asarray(X) @ self.w + self.b > 0, 1, 0)\n"
            "    def fit(self, X, y, max_epochs=100):\n        epoch = 0\n        while epoch < max_epochs:\n"
            "            wrong = 0\n            for i in range(len(X)):\n                y_hat = 1 if X[i] @ self.w + self.b > 0 else 0\n"
            "                if y_hat != y[i]:\n                    self.w += self.lr * (y[i] - y_hat) * X[i]\n"
            "                    self.b += self.lr * (y[i] - y_hat)\n                    wrong += 1\n"
            "            epoch += 1\n            if not wrong:\n                return True\n        return False\n"),
    },
    "collapse_linear": {
        "collapse_linear: a function of x, then read off W and b (torch and NumPy)": (
            "def collapse_linear(weights, biases):\n    def f(x):\n        for W_l, b_l in zip(weights, biases):\n"
            "            x = W_l @ x + b_l\n        return x\n    n_in = weights[0].shape[1]\n"
            "    zero = weights[0][0] * 0\n    b = f(zero)\n"
            "    eye = torch.eye(n_in, dtype=zero.dtype) if isinstance(zero, torch.Tensor) else np.eye(n_in, dtype=zero.dtype)\n"
            "    cols = [f(eye[k]) - b for k in range(n_in)]\n"
            "    W = torch.stack(cols, 1) if isinstance(zero, torch.Tensor) else np.stack(cols, 1)\n    return W, b\n"),
    },
    "xor_network": {
        "xor_network: NAND and OR into AND, as lists scaled by 10": (
            "def xor_network():\n    W1 = [[-10.0, -10.0], [10.0, 10.0]]\n    b1 = [15.0, -5.0]\n"
            "    return np.array(W1), np.array(b1), np.array([[10.0, 10.0]]), np.array([-15.0])\n"),
    },
}

#: the wrong answer with which Validate must name exactly one part (tests/test_chapters_student_day.py)
VALIDATE_WRONG = ("collapse_linear", "collapse_linear: only the last bias counts")
