"""Reference library of the course: every concept from the neuron to AdamW."""
__version__ = "0.1.0"
