"""With this folder first on ``PYTHONPATH``, every Python process (the
workers that torchrun starts) runs CPU convolutions without oneDNN, whose
rounding depends on the batch size: PyTorch's own convolutions give each
image bitwise the same maps in any batch."""

import torch

torch.backends.mkldnn.enabled = False
