"""Pictures users check labels with: pose axes on faces, annotated photos, preview grids, angle histograms.

``draw_axes`` is the one place head axes are drawn. It projects the columns of
``angles.euler_to_matrix`` (the head's x, y, z axes in a camera frame with x right, y up) onto the
image, whose v axis points down.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import cv2
import numpy as np
from matplotlib.figure import Figure

from headpose import angles as ang
from headpose.data.augment import Augmenter
from headpose.data.faceset import ANGLE_COLUMNS, FaceSet

AXIS_COLORS = ((255, 0, 0), (0, 255, 0), (0, 0, 255))  # RGB: x red, y green, z blue
_FONT = cv2.FONT_HERSHEY_SIMPLEX
_LINE_H = 12  # caption pixels per text line at _FONT_SCALE
_FONT_SCALE = 0.33


def draw_axes(
    image: np.ndarray,
    yaw: float,
    pitch: float,
    roll: float,
    center: tuple[float, float] | None = None,
    size: float | None = None,
    thickness: int = 2,
) -> np.ndarray:
    """A copy of the RGB image with the head's axes drawn from ``center`` (default: image centre)."""
    out = np.ascontiguousarray(image).copy()
    h, w = out.shape[:2]
    cx, cy = center if center is not None else ((w - 1) / 2, (h - 1) / 2)
    size = size if size is not None else 0.4 * min(h, w)
    rotation = ang.euler_to_matrix(yaw, pitch, roll)
    # Far axes first so the ones pointing at the viewer stay on top.
    for k in np.argsort(rotation[2]):
        end = (cx + size * rotation[0, k], cy - size * rotation[1, k])
        cv2.line(out, _px(cx, cy), _px(*end), AXIS_COLORS[k], thickness, cv2.LINE_AA)
    return out


def annotate(image: np.ndarray, boxes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """A copy of the RGB image with each face's box, head axes and yaw/pitch/roll caption."""
    out = np.ascontiguousarray(image).copy()
    thickness = max(1, round(max(out.shape[:2]) / 400))
    for (x0, y0, x1, y1), ypr in zip(boxes, angles, strict=True):
        yaw, pitch, roll = (float(v) for v in ypr)
        side = max(x1 - x0, y1 - y0)
        cv2.rectangle(out, (round(x0), round(y0)), (round(x1), round(y1)), (255, 255, 255), thickness)
        out = draw_axes(
            out,
            yaw,
            pitch,
            roll,
            center=((x0 + x1) / 2, (y0 + y1) / 2),
            size=0.6 * side,
            thickness=thickness + 1,
        )
        caption = f"y{round(yaw):+d} p{round(pitch):+d} r{round(roll):+d}"  # ints: no "-0"
        cv2.putText(
            out,
            caption,
            (round(x0), max(12, round(y0) - 4)),
            _FONT,
            0.4 * thickness,
            (255, 255, 0),
            thickness,
            cv2.LINE_AA,
        )
    return out


def _px(x: float, y: float) -> tuple[int, int]:
    return int(round(x)), int(round(y))


def preview_grid(
    images: Sequence[np.ndarray],
    angle_list: Sequence[Sequence[float]] | np.ndarray,
    titles: Sequence[str] | None = None,
    cols: int = 8,
    tile: int = 128,
) -> np.ndarray:
    """uint8 RGB grid of ``tile``-pixel faces, each with its axes and a yaw/pitch/roll caption."""
    lines = 2 if titles is not None else 1
    cell_h, pad = tile + lines * _LINE_H + 2, 2
    cols = max(1, min(cols, len(images)))
    rows = -(-len(images) // cols)
    grid = np.full((rows * (cell_h + pad) + pad, cols * (tile + pad) + pad, 3), 255, np.uint8)
    for i, (image, ypr) in enumerate(zip(images, angle_list, strict=True)):
        face = cv2.resize(np.ascontiguousarray(image), (tile, tile), interpolation=cv2.INTER_LINEAR)
        cell = np.full((cell_h, tile, 3), 255, np.uint8)
        cell[:tile] = draw_axes(face, *ypr)
        yaw, pitch, roll = (round(float(v)) for v in ypr)  # ints: no "-0" captions
        captions = ([titles[i]] if titles is not None else []) + [f"y{yaw:+d} p{pitch:+d} r{roll:+d}"]
        for j, text in enumerate(captions):
            origin = (2, tile + (j + 1) * _LINE_H - 2)
            cv2.putText(cell, text, origin, _FONT, _FONT_SCALE, (0, 0, 0), 1, cv2.LINE_AA)
        r, c = divmod(i, cols)
        y, x = pad + r * (cell_h + pad), pad + c * (tile + pad)
        grid[y : y + cell_h, x : x + tile] = cell
    return grid


def augmentation_preview(
    faceset: FaceSet, augmenter: Augmenter, n: int = 8, per_sample: int = 4, seed: int = 0
) -> np.ndarray:
    """One row per sampled face: the original, then ``per_sample`` augmented copies with their labels."""
    rng = np.random.default_rng(seed)
    picks = np.sort(rng.choice(len(faceset), size=min(n, len(faceset)), replace=False))
    all_angles = faceset.angles.astype(np.float64)
    tiles: list[tuple[np.ndarray, np.ndarray, str]] = []
    for i in picks:
        image = np.array(faceset.images[i])
        tiles.append((image, all_angles[i], f"#{i} original"))
        tiles += [(*augmenter(image, all_angles[i], rng), f"#{i} aug {k + 1}") for k in range(per_sample)]
    images, labels, titles = zip(*tiles, strict=True)
    return preview_grid(images, labels, titles, cols=1 + per_sample)


def angle_histograms(angles_by_split: Mapping[str, np.ndarray]) -> Figure:
    """Yaw, pitch and roll histograms (Hopenet's 3-degree bins), one overlaid series per split."""
    fig = Figure(figsize=(12, 3.5), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    edges = np.linspace(-ang.ANGLE_LIMIT_DEG, ang.ANGLE_LIMIT_DEG, ang.NUM_BINS + 1)
    for k, (ax, name) in enumerate(zip(axes, ANGLE_COLUMNS, strict=True)):
        for split, values in angles_by_split.items():
            ax.hist(np.asarray(values)[:, k], bins=edges, alpha=0.5, label=f"{split} (n={len(values)})")
        ax.set(title=name, xlabel="degrees", xlim=(edges[0], edges[-1]))
    axes[0].set_ylabel("images")
    axes[0].legend(fontsize="small")
    return fig


def message_figure(text: str) -> Figure:
    """A small figure that only says ``text``: the plot of a stage that had nothing to show."""
    fig = Figure(figsize=(4.0, 1.2))
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    return fig


# Label offsets tried in turn (points): beside the marker first, then further out in every direction.
_LABEL_OFFSETS = [
    (dx * r, dy * r)
    for r in (1, 2, 3, 4.5, 6, 8)
    for dx, dy in ((5, 4), (5, -12), (-5, 4), (-5, -12), (0, 10), (0, -18), (12, -4), (-12, -4))
]


def _annotate(ax, text: str, point, offset: tuple[float, float], fontsize: float, **kwargs):
    """``text`` placed ``offset`` points from ``point``, extending away from it horizontally."""
    return ax.annotate(
        text,
        point,
        textcoords="offset points",
        xytext=offset,
        fontsize=fontsize,
        ha="right" if offset[0] < 0 else "left",
        **kwargs,
    )


def label_points(
    ax, xs: Sequence[float], ys: Sequence[float], labels: Sequence[str], fontsize: float = 8
) -> None:
    """Write each label beside its point where it covers no other label or point and stays inside the axes
    (greedy over ``_LABEL_OFFSETS``; a leader line joins a label pushed away from its point). Call it once
    the figure's layout is final: placement is measured in display space."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    ax.margins(x=0.12, y=0.18)  # room for labels at the edges
    ax.autoscale_view()  # limits are otherwise settled at draw time, after the labels were measured
    renderer = fig.canvas.get_renderer()
    frame = ax.get_window_extent(renderer)
    centres = ax.transData.transform(np.column_stack([xs, ys])) if len(xs) else np.zeros((0, 2))
    taken = [Bbox.from_extents(cx - 4, cy - 4, cx + 4, cy + 4) for cx, cy in centres]
    for x, y, text in sorted(zip(xs, ys, labels), key=lambda p: (p[1], p[0])):
        best = None  # (outside, overlaps, offset index, box) of the best try so far
        for i, offset in enumerate(_LABEL_OFFSETS):
            note = _annotate(ax, text, (x, y), offset, fontsize)
            box = note.get_window_extent(renderer).expanded(1.04, 1.1)
            note.remove()
            outside = not (
                frame.x0 <= box.x0 and box.x1 <= frame.x1 and frame.y0 <= box.y0 and box.y1 <= frame.y1
            )
            score = (outside, sum(box.overlaps(other) for other in taken))
            if best is None or score < best[:2]:
                best = (*score, i, box)
            if score == (False, 0):
                break
        leader = {"arrowstyle": "-", "color": "0.6", "lw": 0.6} if best[2] >= 8 else None
        _annotate(ax, text, (x, y), _LABEL_OFFSETS[best[2]], fontsize, arrowprops=leader)
        taken.append(best[3])
