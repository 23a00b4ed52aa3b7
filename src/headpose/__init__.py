"""headpose: head-pose estimation (yaw, pitch, roll in degrees) -- a Kedro project and a library.

    from headpose import HeadPose

    faces = HeadPose().predict(image_rgb)   # see headpose.api

Importing the package is cheap: :class:`~headpose.api.HeadPose` and :class:`~headpose.api.Face`
load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__all__ = ["Face", "HeadPose"]

if TYPE_CHECKING:
    from headpose.api import Face, HeadPose


def __getattr__(name: str) -> Any:
    if name in __all__:
        from headpose import api

        return getattr(api, name)
    raise AttributeError(f"module 'headpose' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
