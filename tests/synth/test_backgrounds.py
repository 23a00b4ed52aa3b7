import numpy as np

from headpose.synth.backgrounds import (
    BACKGROUND_KEYS,
    BANK_SIZE,
    background_bank,
    background_tile_side,
    compose_background,
    sample_backgrounds,
)


def test_the_bank_is_fixed_per_seed_and_holds_colours_in_range():
    bank = background_bank(0, 32)
    side = background_tile_side(32)
    assert bank.shape == (BANK_SIZE, side, side, 3) and bank.dtype == np.float32
    assert bank.min() >= 0 and bank.max() <= 1
    np.testing.assert_array_equal(bank, background_bank.__wrapped__(0, 32))
    assert not np.array_equal(bank, background_bank(1, 32))


def test_backgrounds_are_composed_only_where_no_head_was_drawn():
    size = 32
    params = sample_backgrounds(np.random.default_rng(0), 1, size, noise=0.03)
    assert set(params) == {"tile", *BACKGROUND_KEYS}
    out = np.full((size, size, 3), 7, np.uint8)
    depth = np.zeros((size, size), np.float32)
    depth[8:24, 8:24] = 1.0  # the head
    tile = background_bank(0, size)[params["tile"][0]]
    compose_background(out, depth, tile, *(params[k][0] for k in BACKGROUND_KEYS))
    assert (out[8:24, 8:24] == 7).all()
    assert (out[depth == 0] != 7).any(-1).mean() > 0.9
