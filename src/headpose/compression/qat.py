"""Quantisation-aware training with PyTorch 2 Export (PT2E) quantisation from torchao.

torch 2.14 no longer ships ``torch.ao.quantization.quantize_pt2e`` (PT2E moved to torchao) and marks
the eager/FX ``torch.ao.quantization`` API deprecated, so QAT uses torchao's PT2E flow:
fold BatchNorm into the convs, ``torch.export`` the model in training mode, insert fake quantisation
with the x86 quantiser
(uint8 asymmetric activations, int8 symmetric per-channel weights: the U8S8 scheme ONNX Runtime
runs fastest on x86), fine-tune with :func:`headpose.training.loop.fit`, ``convert_pt2e`` to
explicit quantize/dequantize ops, and export those as Q/DQ ONNX. The regression head stays in float
by default, as in post-training quantisation.
"""

from __future__ import annotations

import copy
import dataclasses
import types
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from headpose.compression.pruning import head_modules
from headpose.config import Config, knob
from headpose.data.faceset import FaceSet
from headpose.errors import ConfigError
from headpose.training.config import TrainConfig
from headpose.training.loop import TrainResult, fit


@dataclass(frozen=True)
class QATConfig(Config, section="quantize.qat"):
    train: dict[str, Any] = knob({})  # TrainConfig overrides for the QAT fine-tune
    keep_head_float: bool = True
    reduce_range: bool = True  # 7-bit weights: no int16 saturation in u8*s8 kernels on CPUs without VNNI


def _allow_train_eval(model: torch.fx.GraphModule) -> None:
    """Make ``model.train()`` / ``model.eval()`` work on an exported model the way ``fit`` expects:
    switch BatchNorm/dropout ops, run observers only while training, set ``training`` and return the model."""
    from torchao.quantization.pt2e import (
        disable_observer,
        enable_observer,
        move_exported_model_to_eval,
        move_exported_model_to_train,
    )

    def train(self, mode: bool = True):
        (move_exported_model_to_train if mode else move_exported_model_to_eval)(self)
        self.apply(enable_observer if mode else disable_observer)
        for module in self.modules():
            module.training = mode
        return self

    model.train = types.MethodType(train, model)
    model.eval = types.MethodType(lambda self: self.train(False), model)


def fold_batchnorm(model: nn.Module) -> None:
    """Fold every BatchNorm of ``model.backbone`` into the conv before it (in place, running statistics).

    QAT then fine-tunes the folded weights, which is how they run after quantisation. It also keeps
    torchao's convert fast: without BatchNorm it skips its conv-BN folding, which traces ~100 pattern
    graphs with torch.export (tens of seconds on a CPU).
    """
    from torch.fx.experimental.optimization import fuse

    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.backbone.modules()):
        model.backbone = fuse(model.backbone.eval())
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ConfigError(
            "QAT: a BatchNorm does not follow a conv and cannot be folded; "
            f"model {getattr(model, 'spec', {}).get('name')} is not supported"
        )


def prepare_qat(
    model: nn.Module, input_size: int, keep_head_float: bool = True, reduce_range: bool = True
) -> torch.fx.GraphModule:
    """The model with fake quantisation inserted, trainable by ``fit``."""
    import torchao.quantization.pt2e.quantizer.x86_inductor_quantizer as x86
    from torchao.quantization.pt2e.quantize_pt2e import prepare_qat_pt2e

    head_ids = {id(m) for m in head_modules(model)} if keep_head_float else set()
    fold_batchnorm(model)
    model.train()
    # Batch 4, not 1 (a batch of 1 would be specialised into the graph); the batch axis stays dynamic.
    example = torch.zeros(4, 3, input_size, input_size)
    exported = torch.export.export(
        model, (example,), dynamic_shapes=({0: torch.export.Dim("batch", min=1)},)
    ).module()
    spec = x86.get_default_x86_inductor_quantization_config(is_qat=True)
    if reduce_range:
        # 7-bit weights, as onnxruntime's reduce_range: u8 x s8 products summed in pairs then fit int16
        # in CPU kernels without VNNI. (The quantiser's own reduce_range narrows activations instead,
        # which ONNX QuantizeLinear cannot express, so ONNX Runtime would saturate.)
        spec = dataclasses.replace(spec, weight=dataclasses.replace(spec.weight, quant_min=-64, quant_max=63))
    quantizer = x86.X86InductorQuantizer().set_global(spec)
    for name, module in model.named_modules():
        if id(module) in head_ids:
            quantizer.set_module_name_qconfig(name, None)
    prepared = prepare_qat_pt2e(exported, quantizer)
    _allow_train_eval(prepared)
    prepared.train()
    prepared.spec = dict(getattr(model, "spec", {}))
    return prepared


def convert_qat(prepared: torch.fx.GraphModule) -> torch.fx.GraphModule:
    """Fake quantisation -> explicit quantize/dequantize ops (what ONNX export turns into Q/DQ)."""
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e

    prepared.eval()
    converted = convert_pt2e(prepared)
    _allow_train_eval(converted)
    converted.spec = dict(getattr(prepared, "spec", {}))
    return converted.eval()


def quantization_aware_finetune(
    model: nn.Module, train: FaceSet, val: FaceSet, train_config: TrainConfig, config: QATConfig
) -> tuple[torch.fx.GraphModule, TrainResult]:
    """Fine-tune a copy of ``model`` with fake quantisation; returns the converted model and the run."""
    # torch.export shares parameters with the module it traces: train a copy, not the caller's model.
    prepared = prepare_qat(
        copy.deepcopy(model), train_config.input_size, config.keep_head_float, config.reduce_range
    )
    result = fit(prepared, train, val, train_config)
    return convert_qat(prepared), result
