"""Shared fixtures: the bundled sample problems (built once per test session).

``python -m pytest`` and plain ``pytest`` both work: pyproject.toml puts the repository and
``tests/`` on the import path. Helpers shared by several modules live in ``support.py``.
"""

from __future__ import annotations

import pytest

import mpq_core as mc


@pytest.fixture(scope="session")
def sample_problem() -> mc.Problem:
    """The bundled SD 1.4 sample (scalar sensitivity) with the default settings."""
    return mc.load_problem(*mc.sample_inputs())


@pytest.fixture(scope="session")
def per_bit_problem() -> mc.Problem:
    """The bundled SD 1.4 sample with the per-bit loss table."""
    return mc.load_problem(*mc.sample_inputs("sd14_per_bit"))
