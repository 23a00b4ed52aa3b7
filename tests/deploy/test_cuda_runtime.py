"""PyTorch CUDA inference: refused with a reason on CPU-only machines, matches the CPU model on a GPU."""

import numpy as np
import pytest
import torch

from headpose.deploy.cuda_runtime import CudaPredictor, cuda_unavailable_reason
from headpose.errors import HeadposeError
from headpose.evaluation import torch_predictor
from headpose.models import create_model


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU is present: the real test runs instead")
def test_without_a_gpu_the_reason_is_given_and_the_predictor_refuses():
    reason = cuda_unavailable_reason()
    assert reason and "no CUDA GPU" in reason and torch.__version__ in reason
    with pytest.raises(HeadposeError, match="no CUDA GPU"):
        CudaPredictor(create_model("hopenet", backbone="mobilenet_v3_small"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("cuda_graphs", [False, True])
def test_fp16_streams_match_the_cpu_model(cuda_graphs):
    torch.manual_seed(0)
    model = create_model("hopenet", backbone="mobilenet_v3_small").eval()
    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((n, 3, 32, 32)).astype(np.float32) for n in (1, 8, 8, 3)]
    cuda = CudaPredictor(model, "fp16", streams=2, cuda_graphs=cuda_graphs)
    outputs = cuda.predict_many(batches)
    cpu = torch_predictor(model)
    for batch, out in zip(batches, outputs):
        assert out.shape == (len(batch), 3) and out.dtype == np.float32
        np.testing.assert_allclose(out, cpu(batch), atol=0.5)  # degrees; FP16 rounding only
    assert next(model.parameters()).device.type == "cpu"  # the caller's model is untouched
