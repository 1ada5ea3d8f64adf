"""The shared optimizer state: iteration store (write, reopen, resume, refuse) and task seeds."""
import dataclasses
import hashlib

import h5py
import numpy as np
import pytest

from hpcmc.runtime.optimizer_state import (
    IterationStore,
    derive_seed,
    optimizer_state_path,
    record_from_group,
    record_to_group,
)

JOB = "[job]\napp = 'toy'\nseed = 5\n"


@dataclasses.dataclass
class Record:
    iteration: int
    x: np.ndarray
    counts: np.ndarray
    loss: float
    accepted: bool
    sampler: str


def _record(k: int) -> Record:
    rng = np.random.default_rng(k)
    return Record(iteration=k, x=rng.random(5), counts=rng.integers(0, 100, (2, 3)), loss=float(rng.random()) / 3,
                  accepted=k % 2 == 0, sampler="tpe")


def _equal(a: Record, b: Record) -> bool:
    return (a.iteration == b.iteration and a.x.tobytes() == b.x.tobytes() and a.x.dtype == b.x.dtype
            and np.array_equal(a.counts, b.counts) and a.counts.dtype == b.counts.dtype
            and a.loss == b.loss and a.accepted == b.accepted and a.sampler == b.sampler)


def test_iterations_survive_a_reopen_and_a_run_resumes_after_the_last(tmp_path):
    path = optimizer_state_path(str(tmp_path / "run.h5"))
    assert path == str(tmp_path / "run.h5.optimizer.h5")
    store = IterationStore(path, "toy", JOB, Record)
    assert store.load() == []  # no file: nothing to resume
    records = []
    for k in (1, 2, 3):  # the driver saves after every iteration
        records.append(_record(k))
        store.save(records)
    assert not (tmp_path / "run.h5.optimizer.h5.tmp").exists()
    # a new process (the resumed run) opens the same file
    again = IterationStore(path, "toy", JOB, Record).load()
    assert [r.iteration for r in again] == [1, 2, 3]
    assert all(_equal(a, b) for a, b in zip(records, again))
    assert type(again[0].iteration) is int and type(again[0].loss) is float and type(again[0].sampler) is str
    # resume: continue at the first unfinished iteration and keep saving
    again.append(_record(again[-1].iteration + 1))
    store.save(again)
    assert [r.iteration for r in store.load()] == [1, 2, 3, 4]
    with h5py.File(path, "r") as h5:
        assert h5.attrs["filetype"] == "hpcmc-toy-optimizer-state"
        assert h5.attrs["job_sha"] == hashlib.sha256(JOB.encode()).hexdigest()
        assert sorted(h5) == ["iteration_1", "iteration_2", "iteration_3", "iteration_4"]
    store.remove()
    assert not store.exists() and store.load() == []


def test_iterations_load_in_numeric_order(tmp_path):
    store = IterationStore(str(tmp_path / "s.h5"), "toy", JOB, Record)
    store.save([_record(k) for k in (2, 10, 1)])
    assert [r.iteration for r in store.load()] == [1, 2, 10]


def test_a_store_of_another_job_text_or_app_is_refused(tmp_path):
    path = str(tmp_path / "s.h5")
    IterationStore(path, "toy", JOB, Record).save([_record(1)])
    with pytest.raises(ValueError, match="belongs to another job text"):
        IterationStore(path, "toy", JOB.replace("seed = 5", "seed = 6"), Record).load()
    with pytest.raises(ValueError, match="not a other optimizer state file.*'hpcmc-toy-optimizer-state'"):
        IterationStore(path, "other", JOB, Record).load()


def test_bad_records_are_refused_naming_the_field(tmp_path):
    store = IterationStore(str(tmp_path / "s.h5"), "toy", JOB, Record)
    with pytest.raises(ValueError, match="distinct"):
        store.save([_record(1), _record(1)])
    with pytest.raises(TypeError, match=r"Record\.x: cannot store a list"):
        store.save([dataclasses.replace(_record(1), x=[1.0, 2.0])])
    with pytest.raises(TypeError, match="field 'iteration'"):
        IterationStore(str(tmp_path / "t.h5"), "toy", JOB, dict)


def test_records_also_go_into_a_results_group(tmp_path):
    rec = _record(7)
    with h5py.File(tmp_path / "r.h5", "w") as h5:
        record_to_group(h5.create_group("optimizer/iteration_7"), rec)
    with h5py.File(tmp_path / "r.h5", "r") as h5:
        assert _equal(record_from_group(h5["optimizer/iteration_7"], Record), rec)


def test_derive_seed_is_a_fixed_hash_of_the_key():
    # BLAKE2b-64 of "seed:part:...", little-endian, top bit cleared (the gnp annulus seeds)
    key = b"1:optimize:3:0"
    assert derive_seed(1, "optimize", 3, 0) == int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1
    assert derive_seed(1, "optimize", np.int64(3), 0) == derive_seed(1, "optimize", 3, 0)
    seeds = {derive_seed(1, phase, k, j) for phase in ("optimize", "compare-analog") for k in range(3) for j in range(4)}
    assert len(seeds) == 24 and all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError, match="':'"):
        derive_seed(1, "a:b")
    with pytest.raises(TypeError, match="float"):
        derive_seed(1, 0.5)
