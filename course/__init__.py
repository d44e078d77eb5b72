"""Reference library of the course: every concept from the neuron to AdamW.

Each submodule holds one family of concepts (see the README's table);
``course.torch_models`` (the PyTorch versions) and ``course.bench`` are
imported on demand.
"""

from . import (activations, autograd, data, gradcheck, init, layers, losses, neurons, nn, optim, plots,
               regularization, surfaces, train)

__version__ = "0.1.0"

__all__ = ["activations", "autograd", "data", "gradcheck", "init", "layers", "losses", "neurons", "nn",
           "optim", "plots", "regularization", "surfaces", "train"]
