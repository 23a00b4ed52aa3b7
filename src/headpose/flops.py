"""Model size and compute: the one place that counts parameters and multiply-accumulates."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: int | tuple[int, int]) -> int:
    """Multiply-accumulates of one forward pass on one 3-channel image (convs, linears, matmuls)."""
    height, width = (input_size, input_size) if isinstance(input_size, int) else input_size
    param = next(model.parameters())
    x = torch.zeros(1, 3, height, width, dtype=param.dtype, device=param.device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
    finally:
        model.train(was_training)
    return counter.get_total_flops() // 2
