import numpy as np
import onnxruntime as ort
import torch

from headpose.compression.qat import QATConfig, convert_qat, prepare_qat, quantization_aware_finetune
from headpose.compression.quantization import count_qdq
from headpose.data.preprocess import to_model_input
from headpose.deploy.onnx_export import to_onnx_proto
from headpose.training.config import TrainConfig
from tests.compression.conftest import INPUT_SIZE, responsive_model
from tests.conftest import make_faceset


def _reference_session(proto) -> ort.InferenceSession:
    """ONNX Runtime without graph optimisations: Q/DQ run as written, not as fused integer kernels."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def test_qat_fine_tunes_with_fake_quantisation_and_exports_faithful_qdq_onnx():
    model = responsive_model()
    faces = make_faceset(n=24, size=INPUT_SIZE)
    config = TrainConfig(input_size=INPUT_SIZE, epochs=2, batch_size=8, lr=1e-4, warmup_epochs=0, threads=1)
    before = {k: v.clone() for k, v in model.state_dict().items()}

    converted, result = quantization_aware_finetune(model, faces, faces, config, QATConfig())
    assert len(result.history) == 2 and np.isfinite(result.best_val_mae)
    ops = {str(n.target) for n in converted.graph.nodes if n.op == "call_function"}
    assert any("quantize_per_tensor" in op for op in ops) and any(
        "dequantize_per_channel" in op for op in ops
    )
    assert not any("batch_norm" in op for op in ops)  # folded into the convs before QAT
    for key, value in model.state_dict().items():  # the float model given in is left alone
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)

    proto = to_onnx_proto(converted, INPUT_SIZE)
    qdq = count_qdq(proto)
    assert qdq["QuantizeLinear"] > 0 and qdq["DequantizeLinear"] > qdq["QuantizeLinear"]  # weights too
    initializers = {i.name: i for i in proto.graph.initializer}
    weights = [
        initializers[n.input[0]]
        for n in proto.graph.node
        if n.op_type == "DequantizeLinear"
        and n.input[0] in initializers
        and len(initializers[n.input[0]].dims) == 4
    ]
    int8 = np.concatenate([np.frombuffer(w.raw_data, np.int8) for w in weights])
    assert int8.min() >= -64 and int8.max() <= 63  # reduce_range: 7-bit weights
    # The head (Gemm) keeps a float weight: no DequantizeLinear feeds it.
    produced_by = {o: n.op_type for n in proto.graph.node for o in n.output}
    gemm = next(n for n in proto.graph.node if n.op_type == "Gemm")
    assert produced_by.get(gemm.input[1]) != "DequantizeLinear"

    batch = to_model_input(faces.images[:3], INPUT_SIZE)
    session = _reference_session(proto)
    expected = converted(torch.from_numpy(batch))["angles"].detach().numpy()
    np.testing.assert_allclose(session.run(None, {"image": batch})[0], expected, atol=1e-3)
    assert session.run(None, {"image": batch[:1]})[0].shape == (1, 3)


def test_without_keep_head_float_the_head_is_quantised_too():
    prepared = prepare_qat(responsive_model(), INPUT_SIZE, keep_head_float=False)
    prepared(torch.randn(4, 3, INPUT_SIZE, INPUT_SIZE))
    converted = convert_qat(prepared)
    linears = [n for n in converted.graph.nodes if n.op == "call_function" and "linear" in str(n.target)]
    assert linears and all("dequantize" in str(n.args[1].target) for n in linears)
