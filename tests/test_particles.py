"""Particle record, banks and the shared status codes."""
from __future__ import annotations

import numpy as np

from hpcmc.physics import banks, particles, status
from hpcmc.physics import electron_gold as eg
from hpcmc.physics import electron_water as ew
from hpcmc.physics import photon as ph
from hpcmc.physics import relaxation as rx


def test_push_particle_writes_the_record():
    bank = banks.new_bank(2)
    assert bank.shape == (2, particles.PARTICLE_COLUMNS) == (2, len(particles.COLUMN_NAMES))
    n = banks.push_particle(bank, 0, 1.0, 2.0, 3.0, 0.0, 0.6, 0.8, 5e3, -0.5, particles.PROTON, 7.0)
    assert n == 1
    row = bank[0]
    assert row[particles.P_Y] == 2.0 and row[particles.P_UZ] == 0.8 and row[particles.P_E] == 5e3
    assert row[particles.P_WEIGHT] == -0.5 and row[particles.P_SPECIES] == particles.PROTON
    assert row[particles.P_SOURCE] == 7.0 and row[particles.P_REGION] == particles.REGION_UNKNOWN
    assert row[particles.P_GENERATION] == 0.0
    banks.set_lineage(row, 3, 2)
    banks.set_phase(row, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0)
    assert row[particles.P_REGION] == 3 and row[particles.P_GENERATION] == 2 and row[particles.P_WEIGHT] == -0.5
    assert banks.push_particle(bank, 2, 0, 0, 0, 0, 0, 1, 1, 1, 0, 0) == -1


def test_status_codes_are_distinct_and_shared():
    codes = [getattr(status, name) for name in status.__all__ if name.isupper() and name != "STATUS_NAMES"]
    assert len(codes) == len(set(codes)) == len(status.STATUS_NAMES)
    assert ph.STATUS_ELECTRON_BANK_FULL == rx.ELECTRON_BANK_FULL == status.ELECTRON_BANK_FULL
    assert ew.STACK_FULL == status.STACK_FULL and eg.ESCAPED == status.ESCAPED and eg.OK == rx.OK == ew.OK == 0
    assert len({ph.STATUS_VACANCY_BANK_FULL, ew.ION_BUFFER_FULL, ew.GOLD_BANK_FULL, rx.PHOTON_BANK_FULL,
                eg.OUT_BANK_FULL, eg.STOPPED, eg.STEP_LIMIT, rx.UNKNOWN_ELEMENT}) == 8
    assert "full" in status.status_text(status.GOLD_BANK_FULL)
    assert np.isfinite(status.FAILED)
