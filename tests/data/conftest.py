"""Folders of photos for the pseudo-labelling tests: rendered heads (no download) and broken files."""

from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from headpose.synth.config import SynthConfig
from headpose.synth.generate import generate

# Moderate poses the teacher labels within a few degrees; both yaw signs.
HEADS = SynthConfig(
    num_images=6,
    image_size=160,
    seed=5,
    num_identities=6,
    occlusion_probability=0.0,
    yaw_range=(-45, 45),
    pitch_range=(-20, 20),
    roll_range=(-15, 15),
)


def write_photo_pool(root: Path) -> pd.DataFrame:
    """Rendered heads as JPEGs in two "person" folders (one photo grayscale), a corrupt JPEG and a
    flat gray picture without a face. Returns the true angles of the heads by relative file path."""
    heads = generate(HEADS, workers=1, progress=False)
    rows = []
    for i, (image, ypr) in enumerate(zip(heads.images, heads.angles, strict=True)):
        file = f"person{i % 2}/head{i}.jpg"
        (root / file).parent.mkdir(parents=True, exist_ok=True)
        bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
        cv2.imwrite(
            str(root / file),
            cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY) if i == 0 else bgr,
            [cv2.IMWRITE_JPEG_QUALITY, 95],
        )
        rows.append({"file": file, "yaw": ypr[0], "pitch": ypr[1], "roll": ypr[2]})
    (root / "broken").mkdir()
    (root / "broken" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated, not a JPEG")
    cv2.imwrite(str(root / "broken" / "gray.jpg"), np.full((160, 160, 3), 128, np.uint8))
    return pd.DataFrame(rows).set_index("file")
