"""streams.placement: H3 parents by bit arithmetic are h3's own cells."""

from __future__ import annotations

import h3
import numpy as np
import pytest

from streams.placement import h3_cells


@pytest.mark.parametrize("resolutions", [(4, 5, 6, 7, 8), (0, 3, 9), (7,), (1, 2, 10, 15)])
def test_h3_cells_are_the_parents_h3_computes(resolutions: tuple[int, ...]) -> None:
    rng = np.random.default_rng(sum(resolutions))
    lon = rng.uniform(73.0, 136.0, 5_000).tolist()
    lat = rng.uniform(3.0, 54.0, 5_000).tolist()
    got = h3_cells(lon, lat, resolutions)
    for x, y, cells in zip(lon, lat, got, strict=True):
        finest = h3.latlng_to_cell(y, x, resolutions[-1])
        assert cells == [h3.cell_to_parent(finest, r) for r in resolutions[:-1]] + [finest]
