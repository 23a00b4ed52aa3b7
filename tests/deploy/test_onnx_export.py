import onnx
import onnxruntime as ort
import pytest
import torch

from headpose.data.preprocess import to_model_input
from headpose.deploy.onnx_export import INPUT_NAME, OUTPUT_NAME, check_parity, export_onnx
from headpose.errors import GateError, HeadposeError
from headpose.models import create_model
from tests.deploy.conftest import INPUT_SIZE


def test_export_matches_pytorch_within_a_hundredth_of_a_degree(tiny_artifacts):
    batch = to_model_input(tiny_artifacts.test.images[:8], INPUT_SIZE)
    report = check_parity(tiny_artifacts.checkpoint.model, tiny_artifacts.onnx_path, batch, tol_deg=0.01)
    assert report["max_abs_diff_deg"] <= 0.01 and report["n"] == 8


def test_exported_graph_passes_the_checker_and_has_a_dynamic_batch(tiny_artifacts):
    model = onnx.load(str(tiny_artifacts.onnx_path))
    onnx.checker.check_model(model, full_check=True)
    assert not list(tiny_artifacts.onnx_path.parent.glob("*.data"))  # one self-contained file
    (graph_input,), (graph_output,) = model.graph.input, model.graph.output
    assert (graph_input.name, graph_output.name) == (INPUT_NAME, OUTPUT_NAME)
    dims = graph_input.type.tensor_type.shape.dim
    assert dims[0].dim_param and [d.dim_value for d in dims[1:]] == [3, INPUT_SIZE, INPUT_SIZE]
    session = ort.InferenceSession(str(tiny_artifacts.onnx_path), providers=["CPUExecutionProvider"])
    for n in (1, 3):
        batch = to_model_input(tiny_artifacts.test.images[:n], INPUT_SIZE)
        assert session.run(None, {INPUT_NAME: batch})[0].shape == (n, 3)


def test_parity_past_the_tolerance_raises(tiny_artifacts):
    other = create_model("hopenet", backbone="mobilenet_relu", width_mult=0.25).eval()
    with torch.no_grad():
        other.head.bias.add_(5.0 * torch.randn_like(other.head.bias))
    batch = to_model_input(tiny_artifacts.test.images[:4], INPUT_SIZE)
    with pytest.raises(GateError, match="disagree"):
        check_parity(other, tiny_artifacts.onnx_path, batch, tol_deg=0.01)


class _Unexportable(torch.nn.Module):
    spec = {"name": "unexportable"}

    def forward(self, x):
        if x.sum() > 0:  # data-dependent control flow: torch.export refuses it
            return {"angles": x[:, :3, 0, 0]}
        return {"angles": -x[:, :3, 0, 0]}


def test_a_failed_export_leaves_no_file(tmp_path):
    target = tmp_path / "model.onnx"
    with pytest.raises(HeadposeError, match="unexportable"):
        export_onnx(_Unexportable(), INPUT_SIZE, target)
    assert list(tmp_path.iterdir()) == []
