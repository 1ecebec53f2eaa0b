"""Training S3T and SISA on the real MiniLM with peft LoRA adapters (tiny sizes): which layers train
at which step, exactness of deletion, equal updates, the frozen-state cache, saving and loading."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from deletionlab.core.jobs import UserError
from deletionlab.s3t.model import N_LAYERS, TrainConfig, fit_step, logits, new_head
from deletionlab.s3t.service import Service
from deletionlab.s3t.system import SystemConfig, generator, load_system, save_system, subset, train_sequence, work

TINY = SystemConfig(dataset="bbc", shards=2, slices=3, sequences=2, per_step=2, per_shard=12, n_test=15,
                    train=TrainConfig(max_len=16, epochs=1, batch=4))


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The tiny S3T and SISA systems, trained through the explorer's cache (shared with the widget
    tests of the same session, which then load instead of training again)."""
    from deletionlab.s3t.explore import build, encoded, stored

    mp = pytest.MonkeyPatch()
    mp.setenv("DELETIONLAB_CACHE", str(tmp_path_factory.getbasetemp() / "s3t-shared"))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # restored below: other studies' tests share this process
    bb, feats, feats_test, train, test = encoded(TINY)
    found = stored(TINY)
    s3t, sisa = found[:2] if found else build(TINY)
    yield bb, feats, feats_test, train, test, s3t, sisa
    torch.set_num_threads(threads)
    mp.undo()


def test_only_the_head_and_the_steps_layers_train(world):
    bb, feats = world[0], world[1]
    gen = generator(0, 0, 0, 0)
    bb.zero_adapters()
    bb.init_adapters([5], gen)
    bb.lora["layer5.query.lora_B"].data.normal_(generator=gen)  # as if step 0 had trained layer 5
    before = {n: p.detach().clone() for n, p in bb.lora.items()}
    head = new_head(5, gen)
    head0 = {k: v.clone() for k, v in head.items()}
    bb.init_adapters([4], gen)
    fit_step(bb, head, subset(feats, np.arange(8), 4), world[3].y[:8], 4, [4], TINY.train, gen)
    changed = {n for n, p in bb.lora.items() if not torch.equal(p, before[n])}
    assert changed == {"layer4.query.lora_A", "layer4.query.lora_B", "layer4.value.lora_A", "layer4.value.lora_B"}
    assert not torch.equal(head["head.weight"], head0["head.weight"])
    assert all(not p.requires_grad for p in bb.model.parameters())
    bb.zero_adapters()


def test_checkpoints_hold_the_schedules_adapters_and_the_head_only(world):
    s3t, sisa = world[5], world[6]
    assert len(s3t.checkpoints) == 2 * 2 * 3 and len(sisa.checkpoints) == 2 * 1 * 3
    want = {0: {5, 4}, 1: {3, 2}, 2: {1, 0}}  # top layers first, k = 2
    for (h, b, i), ck in s3t.checkpoints.items():
        layers = {int(k.split(".")[0][5:]) for k in ck if k.startswith("layer")}
        assert layers == want[i] and {"head.weight", "head.bias"} <= set(ck)
        assert len(ck) == 2 + 4 * len(want[i])  # A and B of query and value per layer
    for ck in sisa.checkpoints.values():
        assert {int(k.split(".")[0][5:]) for k in ck if k.startswith("layer")} == set(range(N_LAYERS))
    assert not any("embeddings" in k or "dense" in k for ck in s3t.checkpoints.values() for k in ck)


def test_sisa_makes_exactly_as_many_updates_as_s3t(world):
    s3t, sisa = world[5], world[6]
    assert s3t.cost.updates == sisa.cost.updates > 0
    # record-passes: a shard of 12 in 3 slices of 4: steps see 4, 8, 12 records; 2 sequences
    assert s3t.cost.record_passes == 2 * 2 * (4 + 8 + 12)
    assert sisa.cost.record_passes == 2 * 2 * (4 + 8 + 12)  # one ordering, twice the epochs
    assert s3t.cost.layer_passes < sisa.cost.layer_passes  # S3T runs only the layers above a step's
    # the progress bar's total is exactly the record-passes training makes
    for system in (s3t, sisa):
        members = [system.members(h) for h in range(TINY.shards)]
        assert work(system.kind, TINY, members, system.orderings) == system.cost.record_passes


def test_served_model_after_deletion_is_bit_identical_to_a_checkpoint_trained_without_the_slice(world):
    bb, feats, feats_test, train, test, s3t, _ = world
    svc = Service.of(s3t)
    r = int(np.nonzero((s3t.shard_of == 1) & (s3t.slice_of == 1))[0][0])
    svc.delete(r)
    b, i = svc.served()[1]
    assert i < 2  # the deleted slice was cut off
    ordering = s3t.orderings[b]
    assert 1 not in ordering[: i + 1].tolist()
    # serving = loading the stored adapters: the logits equal the ones stored at training time
    state = s3t.model_state(1, b, i)
    start = s3t.start(i)
    served = logits(bb, state, subset(feats_test, np.arange(len(feats_test)), start), start)
    assert np.array_equal(served, s3t.test_logits[1, b, i])
    # retrain from scratch on shard 1 without slice 1 (its records' states scrambled and unused)
    members = s3t.members(1)
    members[1] = np.array([], dtype=np.int64)
    scrambled = replace(feats, states={k: v.clone() for k, v in feats.states.items()})
    gone = np.nonzero((s3t.shard_of == 1) & (s3t.slice_of == 1))[0]
    for v in scrambled.states.values():
        v[gone] = torch.randn_like(v[gone])
    fresh, _ = train_sequence(bb, scrambled, train.y, members, ordering[: i + 1], "s3t", TINY, (TINY.seed, 1, b), len(train.classes))
    for step in range(i + 1):
        stored = s3t.checkpoints[(1, b, step)]
        assert set(fresh[step]) == set(stored)
        assert all(torch.equal(fresh[step][k], stored[k]) for k in stored)


def test_the_frozen_state_cache_gives_the_same_model(world):
    bb, feats, _, train, _, s3t, _ = world
    members, ordering = s3t.members(0), s3t.orderings[0]
    cached, c1 = train_sequence(bb, feats, train.y, members, ordering, "s3t", TINY, (TINY.seed, 0, 0), len(train.classes))
    full, c2 = train_sequence(bb, feats, train.y, members, ordering, "s3t", TINY, (TINY.seed, 0, 0), len(train.classes), cache=False)
    for a, b in zip(cached, full):
        assert all(torch.allclose(a[k], b[k], atol=2e-4) for k in a)
    assert sum(c.layer_passes for c in c1) < sum(c.layer_passes for c in c2)
    assert all(torch.equal(cached[i][k], s3t.checkpoints[(0, 0, i)][k]) for i in range(3) for k in cached[i])


def test_save_and_load_round_trip(world, tmp_path):
    s3t = world[5]
    back = load_system(save_system(s3t, tmp_path / "s"))
    assert back.config == s3t.config and back.kind == "s3t"
    assert np.array_equal(back.orderings, s3t.orderings) and np.array_equal(back.test_logits, s3t.test_logits)
    assert all(torch.equal(back.checkpoints[k][n], t) for k, ck in s3t.checkpoints.items() for n, t in ck.items())
    assert back.cost.updates == s3t.cost.updates


@pytest.mark.parametrize("change,msg", [
    (dict(slices=13), "Slices L must be from 1 to the 12 records of a shard"),
    (dict(slices=4), "at most the model's 6 layers"),
    (dict(sequences=7), "L! = 6"),
    (dict(strategy="matched", sequences=4), "Matched selection needs sequences B′ ≤ slices L = 3"),
    (dict(shards=0), "Shards m must be a whole number from 1 to 8"),
    (dict(dataset="imdb"), "Data set must be one of tweets, bbc"),
    (dict(train=TrainConfig(lr=float("nan"))), "learning rate"),
])
def test_validate_names_the_field_and_its_range(change, msg):
    with pytest.raises(UserError, match=msg):
        replace(TINY, **change).validate()
