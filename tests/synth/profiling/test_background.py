import numpy as np

from headpose.synth.profiling.background import fill_holes


def test_fill_holes_keeps_known_pixels_and_fills_from_the_surroundings():
    ramp = np.repeat(np.linspace(0, 255, 64)[None, :, None], 64, 0).repeat(3, 2).astype(np.uint8)
    hole = np.zeros((64, 64), bool)
    hole[20:44, 20:44] = True
    filled = fill_holes(np.where(hole[..., None], 0, ramp).astype(np.uint8), hole)
    assert np.array_equal(filled[~hole], ramp[~hole])
    inside = filled[hole].astype(float)
    assert inside.min() >= ramp[:, 19].min() - 10 and inside.max() <= ramp[:, 44].max() + 10
    assert filled[32, 22, 0] < filled[32, 41, 0]  # the ramp carries into the hole
