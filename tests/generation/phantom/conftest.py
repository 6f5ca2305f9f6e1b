"""Shared fixtures of the phantom tests: small, fast grids (the generator works at any grid)."""

import pytest

from generation.phantom import make_case

# ~1.1e5 voxels: a case renders in a few tenths of a second
SMALL_SHAPE = (40, 48, 48)
SMALL_SPACING = (8.0, 8.0, 8.0)


@pytest.fixture(scope="session")
def small_grid():
    """(shape, spacing) of the small test grid."""
    return SMALL_SHAPE, SMALL_SPACING


@pytest.fixture(scope="session")
def small():
    """make_case on the small grid, cached per (seed, findings) for the whole session."""
    cache = {}

    def get(seed, findings=(), **kw):
        key = (seed, tuple(findings) if findings is not None else None, tuple(sorted(kw.items())))
        if key not in cache:
            f = list(findings) if findings is not None else None
            cache[key] = make_case(seed, f, SMALL_SHAPE, SMALL_SPACING, **kw)
        return cache[key]

    return get
