"""Deletion bookkeeping: truncation, serving the longest surviving prefix, bad requests, streams, curves."""

import numpy as np
import pytest

from deletionlab.core.jobs import UserError
from deletionlab.s3t.sequences import cyclic_orderings
from deletionlab.s3t.service import OFF, ON, SERVED, Exhausted, Service, accuracy, deletion_curves, request_stream
from deletionlab.s3t.system import partition


def service(shards=2, slices=3, seqs=3, per_shard=6):
    shard_of, slice_of = partition(shards * per_shard, shards, slices)
    return Service(cyclic_orderings(slices, seqs), shard_of, slice_of, shards)


def record(svc, shard, slice_, k=0):
    return int(np.nonzero((svc.shard_of == shard) & (svc.slice_of == slice_))[0][k])


def test_partition_is_blocks_of_equal_size():
    shard_of, slice_of = partition(12, 2, 3)
    assert shard_of.tolist() == [0] * 6 + [1] * 6
    assert slice_of.tolist() == [0, 0, 1, 1, 2, 2] * 2


def test_deletion_truncates_every_sequence_before_the_slice():
    svc = service()  # orderings (0 1 2), (1 2 0), (2 0 1)
    assert svc.served() == [(0, 2), (0, 2)]
    out = svc.delete(record(svc, 0, 1))
    # slice 1 sits at positions 1, 0, 2 of the three sequences -> prefixes of 1, 0, 2 steps survive
    assert svc.alive[0].tolist() == [1, 0, 2] and svc.alive[1].tolist() == [3, 3, 3]
    assert (out.shard, out.slice, out.switched_off, out.exhausted) == (0, 1, 2 + 3 + 1, False)
    assert svc.served() == [(2, 1), (0, 2)]  # the longest surviving prefix: sequence 3, two steps
    g = svc.grid()
    assert g[0].tolist() == [[ON, OFF, OFF], [OFF, OFF, OFF], [SERVED, SERVED, OFF]]
    assert (g[1, 0] == SERVED).all() and (g[1, 1:] == ON).all()
    # deleting from a slice that is already cut off changes nothing more
    svc.delete(record(svc, 0, 0, 1))  # slice 0: positions 0, 2, 1 -> min with [1, 0, 2] = [0, 0, 1]
    assert svc.alive[0].tolist() == [0, 0, 1]
    assert svc.delete(record(svc, 0, 1, 1)).switched_off == 0


def test_a_shard_drops_out_and_then_the_system_is_exhausted():
    svc = service(seqs=2)  # leaders: slices 0 and 1
    svc.delete(record(svc, 0, 0))
    assert svc.served()[0] == (1, 1)
    svc.delete(record(svc, 0, 1))
    assert svc.served()[0] is None and not svc.exhausted
    svc.delete(record(svc, 1, 1))
    out = svc.delete(record(svc, 1, 0))
    assert out.exhausted and svc.exhausted and svc.served() == [None, None]
    # a further request is recorded but the system cannot serve: it must retrain
    r = record(svc, 1, 2)
    with pytest.raises(Exhausted, match="must be retrained"):
        svc.delete(r)
    assert svc.deleted[r]
    svc.reset([1])
    assert svc.served() == [None, (0, 2)] and not svc.exhausted


@pytest.mark.parametrize("bad,msg", [(12, "from 0 to 11"), ("-1", "from 0 to 11"), ("x", "from 0 to 11"), ("1.5", "from 0 to 11"),
                                     ("٣", "from 0 to 11"), ("", "from 0 to 11")])
def test_unknown_records_are_refused_with_the_range(bad, msg):
    svc = service()
    with pytest.raises(UserError, match=msg):
        svc.delete(bad)
    assert not svc.deleted.any()


def test_already_deleted_record_is_refused():
    svc = service()
    svc.delete(" 3 ")
    with pytest.raises(UserError, match="Record 3 is already deleted"):
        svc.delete(3)


def test_request_stream_is_distinct_skips_deleted_and_follows_the_prior():
    shard_of, slice_of = partition(600, 2, 3)
    rng = np.random.default_rng(0)
    deleted = np.zeros(600, bool)
    deleted[:10] = True
    s = request_stream(shard_of, slice_of, 200, rng, deleted=deleted)
    assert len(set(s.tolist())) == 200 and not deleted[s].any()
    firsts = [request_stream(shard_of, slice_of, 1, np.random.default_rng(i), prior=[0.8, 0.1, 0.1])[0] for i in range(400)]
    share = np.mean(slice_of[firsts] == 0)
    assert 0.72 < share < 0.88
    assert len(request_stream(shard_of, slice_of, 10_000, rng)) == 600


def test_accuracy_averages_the_serving_shards_logits():
    logits = np.zeros((2, 1, 1, 3, 2))
    logits[0, 0, 0] = [[2, 0], [0, 1], [1, 0]]
    logits[1, 0, 0] = [[0, 1], [0, 3], [0, 3]]
    y = np.array([0, 1, 1])
    assert accuracy(logits, [(0, 0), (0, 0)], y) == pytest.approx(1.0)  # sums: (2,1), (0,4), (1,3)
    assert accuracy(logits, [(0, 0), None], y) == pytest.approx(2 / 3)
    assert accuracy(logits, [None, None], y) is None


def test_deletion_curves_start_whole_and_only_lose_shards():
    svc = service()
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(2, 3, 3, 20, 4))
    y = rng.integers(0, 4, 20)
    streams = np.stack([request_stream(svc.shard_of, svc.slice_of, 12, rng) for _ in range(30)])
    c = deletion_curves(logits, svc, y, streams)
    assert c["accuracy"].shape == (30, 13)
    assert np.allclose(c["accuracy"][:, 0], accuracy(logits, [(0, 2), (0, 2)], y))
    assert (np.diff(c["shards"], axis=1) <= 0).all() and (np.diff(c["serving"].astype(int), axis=1) <= 0).all()
    assert (c["accuracy"][~c["serving"]] == 0).all()
    assert c["serving"][:, -1].mean() < 1  # all 12 records deleted: every slice is hit
