"""Chapter 03 (loss functions): wrong and differently right answers, per task.

Each entry is appended to the model answer of the task's answer cell, so it redefines only
the function it changes. Labels read "<function>: <misconception>".
"""

NOTEBOOK = "03-loss-functions"

CELLS = {task: (cell, "test-" + cell) for task, cell in {
    "mse": "mse", "mae": "mae", "cross_entropy": "cross-entropy",
    "cross_entropy_from_probs": "cross-entropy-from-probs", "bce": "bce", "bce_with_logits": "bce-with-logits",
    "saturation": "saturation"}.items()}


from chapters import fn  # noqa: E402  (tests/ is on sys.path when these load)


WRONG = {
    "mse": {
        "mse: summed instead of averaged": fn("mse(pred, target)", "return ((pred - target) ** 2).sum()"),
        "mse: the mean error, not squared": fn("mse(pred, target)", "return abs((pred - target).mean())"),
        "mse: the root of the mean (RMSE)": fn("mse(pred, target)", "return ((pred - target) ** 2).mean() ** 0.5"),
        "mse_grad: the factor 2 forgotten": fn("mse_grad(pred, target)", "return (pred - target) / math.prod(pred.shape)"),
        "mse_grad: one summed number (the erratum)": fn(
            "mse_grad(pred, target)", "return -2 * (target - pred).sum() / math.prod(pred.shape)"),
        "mse_grad: sign error, 2 (y - pred) / N": fn("mse_grad(pred, target)",
                                                     "return 2 * (target - pred) / math.prod(pred.shape)"),
        "mse_grad: divided by the number of rows only": fn("mse_grad(pred, target)",
                                                           "return 2 * (pred - target) / pred.shape[0]"),
        "mse_grad: the mean's 1/N forgotten": fn("mse_grad(pred, target)", "return 2 * (pred - target)"),
    },
    "mae": {
        "mae: summed instead of averaged": fn("mae(pred, target)", "return abs(pred - target).sum()"),
        "mae: the absolute value of the mean error": fn("mae(pred, target)", "return abs((pred - target).mean())"),
        "mae: squared (MSE by mistake)": fn("mae(pred, target)", "return ((pred - target) ** 2).mean()"),
        "mae_grad: 1 at ties instead of 0": fn(
            "mae_grad(pred, target)", "d = pred - target",
            "return array_module(d).where(d >= 0, d * 0 + 1, d * 0 - 1) / math.prod(pred.shape)"),
        "mae_grad: sign error": fn("mae_grad(pred, target)",
                                   "return array_module(pred).sign(target - pred) / math.prod(pred.shape)"),
        "mae_grad: without the 1/N": fn("mae_grad(pred, target)", "return array_module(pred).sign(pred - target)"),
    },
    "cross_entropy": {
        "cross_entropy: no max subtracted, overflow at 1000": fn(
            "cross_entropy(logits, target)", "xp = array_module(logits)", "n, c = logits.shape",
            "with np.errstate(all='ignore'):", "    e = xp.exp(logits)",
            "    p = e / e.sum(1)[:, None]",
            "    return -(one_hot(target, c, logits) * xp.log(p)).sum() / n"),
        "cross_entropy: averaged over classes too (divided by N C)": fn(
            "cross_entropy(logits, target)", "n, c = logits.shape",
            "return -(one_hot(target, c, logits) * log_softmax_rows(logits)).sum() / (n * c)"),
        "cross_entropy: log-sum-exp over the wrong axis": fn(
            "cross_entropy(logits, target)", "n, c = logits.shape", "xp = array_module(logits)",
            "shifted = logits - logits.max()", "lse = xp.log(xp.exp(shifted).sum(0))",
            "return -(one_hot(target, c, logits) * (shifted - lse)).sum() / n"),
        "cross_entropy_grad: softmax minus one-hot without the 1/N": fn(
            "cross_entropy_grad(logits, target)", "n, c = logits.shape",
            "return array_module(logits).exp(log_softmax_rows(logits)) - one_hot(target, c, logits)"),
        "cross_entropy_grad: sign error, one-hot minus softmax": fn(
            "cross_entropy_grad(logits, target)", "n, c = logits.shape",
            "return (one_hot(target, c, logits) - array_module(logits).exp(log_softmax_rows(logits))) / n"),
        "cross_entropy_grad: only the target entry, -1/N": fn(
            "cross_entropy_grad(logits, target)", "n, c = logits.shape", "return -one_hot(target, c, logits) / n"),
        "cross_entropy_grad: divided by the number of classes": fn(
            "cross_entropy_grad(logits, target)", "n, c = logits.shape",
            "return (array_module(logits).exp(log_softmax_rows(logits)) - one_hot(target, c, logits)) / c"),
        "cross_entropy_grad: softmax without the max shift, nan at 1000": fn(
            "cross_entropy_grad(logits, target)", "n, c = logits.shape", "xp = array_module(logits)",
            "with np.errstate(all='ignore'):", "    e = xp.exp(logits)",
            "    return (e / e.sum(1)[:, None] - one_hot(target, c, logits)) / n"),
    },
    "cross_entropy_from_probs": {
        "cross_entropy_from_probs: sums the log of every probability": fn(
            "cross_entropy_from_probs(probs, target)", "return -array_module(probs).log(probs).sum(1).mean()"),
        "cross_entropy_from_probs: summed over the batch": fn(
            "cross_entropy_from_probs(probs, target)", "n, c = probs.shape",
            "return -array_module(probs).log((one_hot(target, c, probs) * probs).sum(1)).sum()"),
        "cross_entropy_from_probs: log of the mean probability": fn(
            "cross_entropy_from_probs(probs, target)", "n, c = probs.shape",
            "return -array_module(probs).log((one_hot(target, c, probs) * probs).sum(1).mean())"),
        "cross_entropy_from_probs_grad: softmax's (p - onehot)/N": fn(
            "cross_entropy_from_probs_grad(probs, target)", "n, c = probs.shape",
            "return (probs - one_hot(target, c, probs)) / n"),
        "cross_entropy_from_probs_grad: -1/p everywhere": fn(
            "cross_entropy_from_probs_grad(probs, target)", "n, c = probs.shape", "return -1 / (n * probs)"),
        "cross_entropy_from_probs_grad: without the 1/N": fn(
            "cross_entropy_from_probs_grad(probs, target)", "n, c = probs.shape",
            "return -one_hot(target, c, probs) / probs"),
    },
    "bce": {
        "bce: only the positive term": fn("bce(probs, target)",
                                          "return -(target * array_module(probs).log(probs)).mean()"),
        "bce: summed instead of averaged": fn(
            "bce(probs, target)", "xp = array_module(probs)",
            "return -(target * xp.log(probs) + (1 - target) * xp.log(1 - probs)).sum()"),
        "bce: log(1 - p) paired with y": fn(
            "bce(probs, target)", "xp = array_module(probs)",
            "return -((1 - target) * xp.log(probs) + target * xp.log(1 - probs)).mean()"),
        "bce_grad: the logits' gradient (p - y)/N": fn("bce_grad(probs, target)",
                                                       "return (probs - target) / math.prod(probs.shape)"),
        "bce_grad: sign error": fn("bce_grad(probs, target)",
                                   "return (target - probs) / (probs * (1 - probs)) / math.prod(probs.shape)"),
        "bce_grad: divided by rows only": fn("bce_grad(probs, target)",
                                             "return (probs - target) / (probs * (1 - probs)) / probs.shape[0]"),
    },
    "bce_with_logits": {
        "bce_with_logits: log(1 + exp(-z)) overflows": fn(
            "bce_with_logits(logits, target)", "xp = array_module(logits)", "with np.errstate(all='ignore'):",
            "    return (logits * (1 - target) + xp.log(1 + xp.exp(-logits))).mean()"),
        "bce_with_logits: through sigmoid and log, -inf at 1000": fn(
            "bce_with_logits(logits, target)", "p = sigmoid(logits)", "xp = array_module(logits)",
            "with np.errstate(all='ignore'):", "    return -(target * xp.log(p) + (1 - target) * xp.log(1 - p)).mean()"),
        "bce_with_logits: |z| instead of max(z, 0)": fn(
            "bce_with_logits(logits, target)", "xp = array_module(logits)",
            "return (abs(logits) - logits * target + xp.log1p(xp.exp(-abs(logits)))).mean()"),
        "bce_with_logits_grad: sign error": fn("bce_with_logits_grad(logits, target)",
                                               "return (target - sigmoid(logits)) / math.prod(logits.shape)"),
        "bce_with_logits_grad: the probabilities' gradient": fn(
            "bce_with_logits_grad(logits, target)", "p = sigmoid(logits)",
            "return (p - target) / (p * (1 - p)) / math.prod(logits.shape)"),
        "bce_with_logits_grad: without the 1/N": fn("bce_with_logits_grad(logits, target)",
                                                    "return sigmoid(logits) - target"),
    },
    "saturation": {
        "saturation_gradients: MSE without the sigmoid's derivative": fn(
            "saturation_gradients(z, y)", "p = sigmoid(z)", "return {'mse': 2 * (p - y), 'bce': p - y}"),
        "saturation_gradients: BCE's gradient for p, not z": fn(
            "saturation_gradients(z, y)", "p = sigmoid(z)",
            "return {'mse': 2 * (p - y) * p * (1 - p), 'bce': (p - y) / (p * (1 - p))}"),
        "saturation_gradients: the sigmoid's derivative taken at z": fn(
            "saturation_gradients(z, y)", "p = sigmoid(z)", "return {'mse': 2 * (p - y) * z * (1 - z), 'bce': p - y}"),
        "saturation_gradients: averaged over the entries like a loss": fn(
            "saturation_gradients(z, y)", "p = sigmoid(z)", "n = math.prod(z.shape)",
            "return {'mse': 2 * (p - y) * p * (1 - p) / n, 'bce': (p - y) / n}"),
        "saturation_gradients: MSE's factor 2 forgotten": fn(
            "saturation_gradients(z, y)", "p = sigmoid(z)", "return {'mse': (p - y) * p * (1 - p), 'bce': p - y}"),
    },
}

RIGHT = {
    "mse": {
        "mse: a Python float from a loop": fn(
            "mse(pred, target)", "total, count = 0.0, 0",
            "for p, t in zip(pred.reshape(-1).tolist(), target.reshape(-1).tolist()):",
            "    total += (p - t) ** 2", "    count += 1", "return total / count"),
        "mse: torch.mean for tensors, np.mean for arrays": fn(
            "mse(pred, target)", "if isinstance(pred, torch.Tensor):",
            "    return torch.mean(torch.square(pred - target))", "return np.mean(np.square(pred - target))"),
        "mse_grad: the mean's 1/N as a float, * instead of /": fn(
            "mse_grad(pred, target)", "scale = 2.0 / pred.reshape(-1).shape[0]", "return (pred - target) * scale"),
    },
    "mae": {
        "mae: a Python float through the mean of the absolute differences": fn(
            "mae(pred, target)", "return float(array_module(pred).abs(pred - target).mean())"),
        "mae_grad: two comparisons": fn(
            "mae_grad(pred, target)", "n = math.prod(pred.shape)",
            "zero = pred * 0", "return ((zero + (pred > target)) - (zero + (pred < target))) / n"),
    },
    "cross_entropy": {
        "cross_entropy: a loop over the rows, logsumexp by hand": fn(
            "cross_entropy(logits, target)", "total = 0.0",
            "for row, y in zip(logits, target):", "    m = row.max()",
            "    total += float(m + array_module(row).log(array_module(row).exp(row - m).sum()) - row[int(y)])",
            "return total / len(logits)"),
        "cross_entropy_grad: torch.logsumexp for tensors, indexing for the target": fn(
            "cross_entropy_grad(logits, target)", "n = logits.shape[0]",
            "if isinstance(logits, torch.Tensor):",
            "    g = (logits - torch.logsumexp(logits, dim=1, keepdim=True)).exp()",
            "    g[torch.arange(n, device=logits.device), target] -= 1", "    return g / n",
            "m = logits.max(axis=1, keepdims=True)", "g = np.exp(logits - m)", "g = g / g.sum(axis=1, keepdims=True)",
            "g[np.arange(n), target] -= 1", "return g / n"),
    },
    "cross_entropy_from_probs": {
        "cross_entropy_from_probs: indexing with arange": fn(
            "cross_entropy_from_probs(probs, target)", "n = probs.shape[0]",
            "idx = torch.arange(n, device=probs.device) if isinstance(probs, torch.Tensor) else np.arange(n)",
            "return float(-array_module(probs).log(probs[idx, target]).sum() / n)"),
        "cross_entropy_from_probs_grad: zeros, then the target entries": fn(
            "cross_entropy_from_probs_grad(probs, target)", "n = probs.shape[0]", "g = probs * 0",
            "for k in range(n):", "    g[k, int(target[k])] = -1 / (n * probs[k, int(target[k])])", "return g"),
    },
    "bce": {
        "bce: a loop in Python floats": fn(
            "bce(probs, target)", "ps, ys = probs.reshape(-1).tolist(), target.reshape(-1).tolist()",
            "return -sum(y * math.log(p) + (1 - y) * math.log(1 - p) for p, y in zip(ps, ys)) / len(ps)"),
        "bce_grad: as -y/p + (1 - y)/(1 - p), over N": fn(
            "bce_grad(probs, target)", "return (-target / probs + (1 - target) / (1 - probs)) / math.prod(probs.shape)"),
    },
    "bce_with_logits": {
        "bce_with_logits: softplus by cases": fn(
            "bce_with_logits(logits, target)", "xp = array_module(logits)",
            "softplus_neg = xp.where(logits > 0, xp.log1p(xp.exp(-abs(logits))), -logits + xp.log1p(xp.exp(-abs(logits))))",
            "return (softplus_neg + (1 - target) * logits).mean()"),
        "bce_with_logits: log(1 + e^z) - z y through logaddexp and torch's softplus": fn(
            "bce_with_logits(logits, target)",
            "if isinstance(logits, torch.Tensor):",
            "    return (torch.nn.functional.softplus(logits) - logits * target).mean()",
            "return float(np.mean(np.logaddexp(0.0, logits) - logits * target))"),
        "bce_with_logits_grad: the sigmoid through tanh": fn(
            "bce_with_logits_grad(logits, target)", "p = 0.5 * (1 + array_module(logits).tanh(0.5 * logits))",
            "return (p - target) / math.prod(logits.shape)"),
    },
    "saturation": {
        "saturation_gradients: written with sigma'(z) and a tanh sigmoid": fn(
            "saturation_gradients(z, y)", "p = 0.5 * (1 + array_module(z).tanh(0.5 * z))", "slope = p - p * p",
            "return {'bce': p - y, 'mse': 2 * slope * (p - y)}"),
    },
}

#: the wrong answer with which Validate must name exactly one part (tests/test_chapters_student_day.py)
VALIDATE_WRONG = ("saturation", "saturation_gradients: MSE without the sigmoid's derivative")
