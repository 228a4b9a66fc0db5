"""envcheck: is this PyTorch/CUDA machine sound, what is wrong, and which commands fix it."""

__version__ = "0.1.0"
