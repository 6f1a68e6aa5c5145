import numpy as np
import torch

from aeplugin.models.utils import resample_maps, upsample_maps_2x


def test_upsample_puts_pixel_i_at_half_i_and_repeats_the_border():
    maps = torch.tensor([[1.0, 2.0, 4.0], [3.0, 6.0, 0.0]])[None, None]
    # even pixels copy, odd ones average the next (the last repeats): row
    # (1, 2, 4) -> (1, 1.5, 2, 3, 4, 4); odd rows average the rows around
    expected = torch.tensor(
        [
            [1.0, 1.5, 2.0, 3.0, 4.0, 4.0],
            [2.0, 3.0, 4.0, 3.0, 2.0, 2.0],
            [3.0, 4.5, 6.0, 3.0, 0.0, 0.0],
            [3.0, 4.5, 6.0, 3.0, 0.0, 0.0],
        ]
    )[None, None]
    assert torch.equal(upsample_maps_2x(maps), expected)


def test_upsample_is_the_exact_resampling_of_the_project():
    """The same maps as resample_maps (grid_sample on the codec's grid) at
    twice the size, for several channels and an odd size."""
    maps = torch.randn(2, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    ours = upsample_maps_2x(maps)
    reference = resample_maps(maps, False, (10, 14), stride=4.0)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)
    # and a NumPy reading of the rule: source pixel i / 2, clamped
    src = np.minimum(np.arange(14) / 2, 6)
    row = np.interp(src, np.arange(7), maps[0, 0, 0].numpy())
    np.testing.assert_allclose(ours[0, 0, 0].numpy(), row, atol=1e-6)
