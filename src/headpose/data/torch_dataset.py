"""The torch view of a FaceSet: resize, augment, normalise, and labels in every form losses need.

Images are resized to ``input_size`` before augmentation, so augmentation strengths (blur sigma,
hole sizes) mean the same at the model input whatever the stored crop size.

Randomness, per item. With a ``seed``, item i of epoch e always gets the same augmentation
(``default_rng([seed, e, i])``), whatever the number of workers or DDP ranks; call ``set_epoch``
each epoch (as with DistributedSampler) -- the epoch lives in shared memory so persistent workers
see it. Without a seed, each item draws from torch's generator, which DataLoader seeds per worker
from a base seed drawn each epoch: epochs differ and ``torch.manual_seed`` reproduces a run.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from headpose import angles as ang
from headpose.data.augment import Augmenter
from headpose.data.faceset import FaceSet
from headpose.data.preprocess import normalize, resize_crop

PASSTHROUGH_ARRAYS = ("shape_params", "expression_params")  # per-image arrays that augmentation keeps valid


class FaceDataset(Dataset):
    """Items: image (3, S, S) float32, angles (3,) float32 degrees, bins (3,) int64, rotation (3, 3)
    float32 from the augmented angles, flipped bool, index int, plus shape/expression params when present.

    ``flipped`` marks mirrored items: 3DMM shape/expression parameters describe the unmirrored face,
    so losses on them should skip those items.
    """

    def __init__(
        self, faceset: FaceSet, input_size: int, augmenter: Augmenter | None = None, seed: int | None = None
    ) -> None:
        self.faceset = faceset
        self.input_size = input_size
        self.augmenter = augmenter
        self.seed = seed
        self._epoch = torch.zeros((), dtype=torch.int64).share_memory_()
        self._angles = faceset.angles.astype(np.float64)
        self._arrays = {k: faceset.arrays[k] for k in PASSTHROUGH_ARRAYS if k in faceset.arrays}

    def __len__(self) -> int:
        return len(self.faceset)

    def set_epoch(self, epoch: int) -> None:
        self._epoch.fill_(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        if self.seed is not None:
            return np.random.default_rng([self.seed, int(self._epoch), index])
        return np.random.default_rng([index, int(torch.randint(2**62, ()).item())])

    def __getitem__(self, index: int) -> dict[str, torch.Tensor | int]:
        # np.array copies, so a read-only memmap is never written and workers share nothing mutable.
        image = resize_crop(np.array(self.faceset.images[index]), self.input_size)
        ypr, flipped = self._angles[index], False
        if self.augmenter is not None:
            image, ypr, flipped = self.augmenter.augment(image, ypr, self._rng(index))
        item: dict[str, torch.Tensor | int] = {
            "image": torch.from_numpy(normalize(image)),
            "angles": torch.from_numpy(ypr.astype(np.float32)),
            "bins": torch.from_numpy(ang.angle_to_bin(ypr)),
            "rotation": torch.from_numpy(ang.euler_to_matrix(*ypr).astype(np.float32)),
            "flipped": torch.tensor(flipped),
            "index": int(index),
        }
        item.update({k: torch.from_numpy(np.asarray(v[index], np.float32)) for k, v in self._arrays.items()})
        return item
