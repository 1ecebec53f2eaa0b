"""What the explorer computes without a screen: difference pictures, the trunk cache, the sweep's checks."""

import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from deletionlab.core import UserError
from deletionlab.negprompt.explore import (
    Settings,
    TrunkCache,
    difference_image,
    explore,
    mean_difference,
    removal_sweep,
    validate_sweep,
)

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)


def test_difference_image_is_white_where_nothing_changed():
    a = np.full((4, 4, 3), 200, np.uint8)
    b = a.copy()
    b[0, 0] = (170, 200, 230)  # mean |Δ| over channels = 20 -> 60 after the gain of 3
    b[1, 1] = 0  # |Δ| = 200 -> clipped at 255 (black)
    d = difference_image(b, a)
    assert d.shape == (4, 4, 3) and d.dtype == np.uint8
    assert d[0, 0].tolist() == [195] * 3 and d[1, 1].tolist() == [0] * 3 and d[2, 2].tolist() == [255] * 3
    assert mean_difference(b, a) == pytest.approx((20 * 3 + 200 * 3) / 3 / 16 / 255)


def test_trunk_cache_reuses_the_trunk_until_the_prompts_change(tiny_pipe):
    cache = TrunkCache()
    s = Settings("a red circle above a blue square", "a blue square", steps=4, guidance=4.0, seed=2, start=0)
    first = explore(tiny_pipe, s, cache=cache)
    assert first.run.unet_calls == 4 and cache.trunk is first.run.trunk
    later = explore(tiny_pipe, Settings(s.prompt, s.negative_prompt, 4, 4.0, 2, start=3), cache=cache)
    assert later.run.unet_calls == 4 - 3  # only the suffix after the new start
    np.testing.assert_array_equal(later.reference, first.reference)
    other = explore(tiny_pipe, Settings(s.prompt, "a red circle", 4, 4.0, 2, start=3), cache=cache)
    assert other.run.unet_calls == 4  # the trunk records the negative prompt's ε: a new one starts over
    assert cache.trunk_for(Settings(s.prompt, "a red circle", 4, 4.0, 3)) is None  # another seed
    cache.clear()
    assert cache.trunk is None and cache.prompts is None


def test_sweep_needs_a_negative_prompt_and_valid_settings(tiny_pipe):
    with pytest.raises(UserError, match="negative prompt"):
        validate_sweep(Settings("a red circle", ""))
    with pytest.raises(UserError, match="steps"):
        validate_sweep(Settings("a red circle", "a blue square", steps=0))
    with pytest.raises(UserError, match="negative prompt"):
        removal_sweep(tiny_pipe, Settings("a red circle", "  "))


def test_sweep_refuses_to_judge_captions_it_cannot_read(tiny_pipe):
    """Issue 18, item 7: a prompt with a plural is never reported as "other objects kept"; a negative
    prompt with a negation names no target (nothing is reported removed)."""
    s = Settings("three red squares above a blue circle", "a blue circle", steps=3, guidance=4.0, seed=2)
    ex = explore(tiny_pipe, s)
    sw = removal_sweep(tiny_pipe, s, ex, starts=[0, 2])
    assert sw.other_kept == [None, None] and any("'three'" in n and "not judged" in n for n in sw.notices)
    s2 = Settings("a red square above a blue circle", "no blue circle", steps=3, guidance=4.0, seed=2)
    sw2 = removal_sweep(tiny_pipe, s2, explore(tiny_pipe, s2), starts=[0])
    assert sw2.removed == [None] and sw2.adaptive_start is None and any("'no'" in n for n in sw2.notices)
    good = Settings("a red square above a blue circle", "a blue circle", steps=3, guidance=4.0, seed=2)
    assert removal_sweep(tiny_pipe, good, explore(tiny_pipe, good), starts=[0]).notices == []


def test_a_stored_exploration_branches_like_a_fresh_one(tiny_pipe):
    """The shared result cache pickles an exploration; a kernel that read it re-renders a new start
    from its trunk (the scheduler inside each snapshot is restored) with the fresh run's image."""
    s = Settings("a red circle above a blue square", "a blue square", steps=6, guidance=4.0, seed=3, start=0)
    stored = pickle.loads(pickle.dumps(explore(tiny_pipe, s)))
    cache = TrunkCache()
    cache.remember(stored.run)
    later = replace(s, start=4)
    again = explore(tiny_pipe, later, cache=cache)
    assert again.run.unet_calls == 6 - 4
    fresh = explore(tiny_pipe, later)
    assert np.abs(again.run.main.image - fresh.run.main.image).max() <= 1e-5


def test_showing_a_stored_exploration_imports_neither_diffusers_nor_scipy_stats(tiny_pipe, tmp_path):
    """What a dashboard kernel does when the default run comes from the shared cache: import the
    explorer, read the stored run, draw it. Importing diffusers (+ transformers) and scipy.stats
    would cost every visitor about two CPU-seconds, so none of it may need them."""
    s = Settings("a red circle above a blue square", "a blue square", steps=4, guidance=4.0, seed=2, start=1)
    path = tmp_path / "exploration.pkl"
    path.write_bytes(pickle.dumps(explore(tiny_pipe, s)))
    code = (
        "import pickle, sys\n"
        "from deletionlab.widgets import NegativePromptExplorer, NegativePromptResultsView\n"
        f"ex = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        "explorer = NegativePromptExplorer(autorun=False)\n"
        "explorer._show(ex)\n"
        "assert explorer.result is ex and ex.difference.shape[-1] == 3\n"
        "print(sorted(m for m in ('diffusers', 'transformers', 'scipy.stats') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]"
