import numpy as np
import onnx
import onnxruntime as ort
import pytest

from headpose.compression.quantization import (
    HEAD,
    FaceSetCalibrationReader,
    PTQConfig,
    Variant,
    count_qdq,
    ptq_variants,
    ptq_within_budget,
    quantization_units,
)
from headpose.data.preprocess import to_model_input
from headpose.errors import ConfigError
from tests.compression.conftest import INPUT_SIZE
from tests.conftest import make_faceset

CPU = Variant("uint8", "int8", False, True, True, "onnxruntime-cpu")


def _run(model: onnx.ModelProto, batch: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: batch})[0]


def _float_weight_ops(model: onnx.ModelProto) -> set[str]:
    """Op types of weighted layers whose weight is a plain float initializer (not fed by DequantizeLinear)."""
    initializers = {i.name: i for i in model.graph.initializer}
    return {
        n.op_type
        for n in model.graph.node
        if n.op_type in ("Conv", "Gemm")
        and n.input[1] in initializers
        and initializers[n.input[1]].data_type == onnx.TensorProto.FLOAT
    }


def test_units_cover_every_node_once_with_the_head_last(tiny_onnx):
    units = quantization_units(tiny_onnx.proto, groups=3)
    names = [n for nodes in units.values() for n in nodes]
    assert names == [n.name for n in tiny_onnx.proto.graph.node]
    assert list(units) == ["backbone.0", "backbone.1", "backbone.2", HEAD]
    head_ops = {n.op_type for n in tiny_onnx.proto.graph.node if n.name in units[HEAD]}
    assert "Gemm" in head_ops and "Conv" not in head_ops


def test_calibration_reader_feeds_preprocessed_batches_and_rewinds():
    faces = make_faceset(n=10, size=48)
    reader = FaceSetCalibrationReader(faces, INPUT_SIZE, batch_size=4, max_images=9)
    batches = [b["image"] for b in iter(reader.get_next, None)]
    assert [len(b) for b in batches] == [4, 4, 1] and len(reader) == 9
    np.testing.assert_array_equal(batches[0], to_model_input(faces.images[:4], INPUT_SIZE))
    reader.rewind()
    assert reader.get_next()["image"].shape == (4, 3, INPUT_SIZE, INPUT_SIZE)


def test_ptq_writes_qdq_that_runs_in_onnxruntime_with_the_head_kept_in_float(tiny_onnx):
    calibration, val = (
        make_faceset(n=16, size=INPUT_SIZE, seed=1),
        make_faceset(n=16, size=INPUT_SIZE, seed=2),
    )
    config = PTQConfig(max_drop_deg=90.0, sensitivity_groups=2, calibration_batch_size=8)
    model, report = ptq_within_budget(tiny_onnx.proto, calibration, val, INPUT_SIZE, CPU, config)

    qdq = count_qdq(model)
    assert qdq["QuantizeLinear"] > 0 and qdq["DequantizeLinear"] > 0
    assert "Conv" not in _float_weight_ops(model)  # every conv's weight goes through DequantizeLinear
    assert "Gemm" in _float_weight_ops(model)  # the regression head stays float
    assert report["float_units"] == [HEAD] and set(report["sensitivity"]) == {
        "backbone.0",
        "backbone.1",
        HEAD,
    }
    assert report["within_budget"] and report["variant"]["activation_type"] == "uint8"
    batch = to_model_input(val.images[:3], INPUT_SIZE)
    assert _run(model, batch).shape == (3, 3)
    assert _run(model, batch[:1]).shape == (1, 3)


def test_when_int8_misses_the_budget_units_go_back_to_float_head_first_then_most_sensitive(tiny_onnx):
    calibration, val = (
        make_faceset(n=16, size=INPUT_SIZE, seed=1),
        make_faceset(n=16, size=INPUT_SIZE, seed=2),
    )
    # Labels = the FP32 model's own answers: FP32 MAE is 0, so any INT8 error misses a zero budget.
    val.labels[["yaw", "pitch", "roll"]] = _run(tiny_onnx.proto, to_model_input(val.images, INPUT_SIZE))
    config = PTQConfig(max_drop_deg=0.0, sensitivity_groups=2, calibration_batch_size=8)
    model, report = ptq_within_budget(tiny_onnx.proto, calibration, val, INPUT_SIZE, CPU, config)

    assert report["fp32_val_mae"] < 1e-3
    assert all(s["increase_deg"] > 0 for s in report["sensitivity"].values())
    by_sensitivity = sorted(
        ["backbone.0", "backbone.1"], key=lambda u: -report["sensitivity"][u]["increase_deg"]
    )
    assert [a["float_units"] for a in report["attempts"]] == [
        [HEAD],
        [HEAD, by_sensitivity[0]],
        [HEAD, *by_sensitivity],
    ]
    assert all(a["drop_deg"] > 0 for a in report["attempts"][:-1])
    # Everything back in float: no INT8 layer is left and the report says the budget was met only so.
    assert report["int8_units"] == [] and count_qdq(model)["QuantizeLinear"] == 0


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (
            {"variants": {"cpu": {"activation_type": "int4"}}},
            "quantize.ptq.variants.cpu.activation_type: 'int4'",
        ),
        ({"calibration_method": "magic"}, "quantize.ptq.calibration_method: 'magic' is not one of"),
        ({"variants": {"cpu": {"bits": 8}}}, "quantize.ptq.variants.cpu.bits: unknown key"),
    ],
)
def test_ptq_config_rejects_unknown_types_and_keys(raw, message):
    with pytest.raises(ConfigError) as info:
        PTQConfig.from_dict(raw)
    assert message in str(info.value)


def test_the_pipeline_quantises_exactly_the_configured_variants(tiny_onnx):
    faces = make_faceset(n=4, size=INPUT_SIZE)
    with pytest.raises(
        ConfigError, match=r"one INT8 model for each of \['cpu'\]; configured are \['cpu', 'trt'\]"
    ):
        ptq_variants(tiny_onnx.proto, faces, faces, INPUT_SIZE, PTQConfig(), ("cpu",))
