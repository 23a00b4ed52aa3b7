from headpose.deploy.artifacts import ExportConfig
from headpose.deploy.candidate import candidate_checkpoint, choose_candidate, shipped_row_name


def row(name, mae, p50):
    return {"name": name, "backend": "onnxruntime", "mae_synthetic": mae, "p50_ms": p50, "skipped": None}


def test_candidate_is_the_shipped_artifact_else_best_mae_times_latency():
    rows = [
        row("big", 4.0, 4.0),
        row("small", 5.0, 1.0),
        {**row("trt", 1.0, 0.1), "backend": "tensorrt"},
        {**row("skipped", 1.0, 0.1), "skipped": "no GPU"},
    ]
    assert choose_candidate(rows)[0]["name"] == "small"
    assert choose_candidate(rows, preferred="big")[0]["name"] == "big"
    assert choose_candidate(rows, preferred="unknown")[0]["name"] == "small"


EXPORT = ExportConfig.from_dict(
    {
        "models": [
            {"name": "student", "dataset": "student_model"},
            {
                "name": "student_int8_qat",
                "dataset": "student_int8_qat_onnx",
                "kind": "onnx",
                "precision": "int8",
                "source": "student",
            },
        ]
    }
)


def test_the_shipping_decision_names_its_benchmark_row_by_name_or_catalog_entry():
    assert shipped_row_name({"ships": "student", "dataset": "student_model"}, EXPORT) == "student_onnx"
    assert (
        shipped_row_name({"ships": "x", "dataset": "student_int8_qat_onnx"}, EXPORT)
        == "student_int8_qat_onnx"
    )
    assert shipped_row_name({"ships": "unknown"}, EXPORT) is None and shipped_row_name(None, EXPORT) is None


def test_the_checkpoint_registered_beside_an_onnx_must_hold_its_weights(tiny_artifacts):
    import copy

    import torch

    from headpose.training.checkpoint import Checkpoint

    candidate = {"name": "student_onnx", "source": "student_pytorch", "path": str(tiny_artifacts.onnx_path)}
    exported = tiny_artifacts.checkpoint
    assert candidate_checkpoint(candidate, EXPORT, {"student_model": exported}) is exported
    other = Checkpoint(copy.deepcopy(exported.model), dict(exported.meta))
    with torch.no_grad():
        next(other.model.parameters()).add_(1.0)
    assert candidate_checkpoint(candidate, EXPORT, {"student_model": other}) is None  # trained past it (QAT)
    assert candidate_checkpoint({**candidate, "source": None}, EXPORT, {"student_model": other}) is None
