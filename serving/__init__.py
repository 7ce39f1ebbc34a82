"""PyTorch inference server speaking the Open Inference Protocol (KServe V2). Run: python -m serving."""

__version__ = "0.1.0"
