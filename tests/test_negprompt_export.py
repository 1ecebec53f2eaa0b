"""Exports: AUTOMATIC1111 syntax, ComfyUI schedule percents, a runnable diffusers snippet."""

import numpy as np
import pytest

from deletionlab.negprompt.export import a1111, comfy_percents, diffusers_snippet, export
from deletionlab.negprompt.sampler import Settings, run

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)


def test_a1111_prompt_editing():
    assert a1111("a dog", 0, 30, 30) == "a dog"
    assert a1111("a dog", 5, 30, 30) == "[a dog:5]"
    assert a1111("a dog", 0, 12, 30) == "[a dog::12]"
    assert a1111("a dog", 5, 12, 30) == "[[a dog:5]::12]"
    assert a1111("", 5, 12, 30) == "" and a1111("x", 7, 7, 30) == ""
    # the fractional form switches at the same step in A1111's rule (step <= when * steps: before)
    for k in range(1, 30):
        frac = float(a1111("x", k, 30, 30, fraction=True)[3:-1])
        assert k <= frac * 30 < k + 1


def test_comfy_percents_are_schedule_percents():
    from diffusers import DDIMScheduler

    sch = DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012, steps_offset=1, set_alpha_to_one=False)
    sch.set_timesteps(30)
    ts = [int(t) for t in sch.timesteps]
    assert comfy_percents(ts, 0, 30) == (0.0, 1.0)
    ps, pe = comfy_percents(ts, 10, 20)
    # ComfyUI applies a range while (1 - p_end)*999 <= t <= (1 - p_start)*999
    for i, t in enumerate(ts):
        inside = (1 - pe) * 999 <= t <= (1 - ps) * 999
        assert inside == (10 <= i < 20), (i, t)
    # percent is not steps/total: SD's "leading" spacing puts step 10 of 30 at t = 19 * 33 + 1
    assert ts[10] == (29 - 10) * (1000 // 30) + 1
    assert ps == pytest.approx(1 - (ts[9] + ts[10]) / 2 / 999, abs=1e-4) and ps != pytest.approx(10 / 30, abs=1e-2)


def test_diffusers_snippet_runs_and_matches_our_sampler(tiny_pipe, tiny_model_dir):
    s = Settings("a red circle above a blue square", "a blue square", steps=10, guidance=5.0, seed=4, start=3, end=8)
    code = diffusers_snippet(str(tiny_model_dir), s.prompt, s.negative_prompt, 3, 8, 10, 5.0, 4)
    ns: dict = {}
    exec(compile(code, "<snippet>", "exec"), ns)  # our own generated code, in a test
    img = np.asarray(ns["image"]).astype(np.float32) / 255
    ours = run(tiny_pipe, s).main.image
    assert np.abs(img - ours).max() <= 1 / 255 + 1e-3  # PIL output is rounded to 8 bits


def test_export_bundle():
    e = export("shipped", "p", "n", 3, 10, 10, 4.0, 1, list(range(999, 0, -100)))
    assert e.a1111_negative == "[n:3]" and e.comfy_end == 1.0 and "callback_on_step_end" in e.diffusers_snippet
