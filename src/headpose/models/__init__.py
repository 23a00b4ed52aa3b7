"""Head-pose models, built by name: ``create_model("hopenet", backbone="resnet18")``.

Importing this package registers every model; see registry.py for the forward contract.
"""

from headpose.models import dense3dmm, fsanet, hopenet, sixd  # noqa: F401  (registers the models)
from headpose.models.backbones import create_backbone, list_backbones
from headpose.models.registry import AnglesOnly, build_from_spec, create_model, list_models, register_model

__all__ = [
    "AnglesOnly",
    "build_from_spec",
    "create_backbone",
    "create_model",
    "list_backbones",
    "list_models",
    "register_model",
]
