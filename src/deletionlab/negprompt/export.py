"""Export a negative-prompt window to the tools people use: AUTOMATIC1111, ComfyUI, diffusers.

* **AUTOMATIC1111** prompt editing in the negative-prompt box: ``[neg:k]`` adds ``neg`` after ``k``
  steps, ``[neg::m]`` removes it after ``m`` steps, nested for a window. Integers are exact for
  the same step count; the fractional form (``[neg:0.183]``) scales with the step count.
* **ComfyUI** ``ConditioningSetTimestepRange(start, end)`` takes *percent of the schedule*, not
  of the steps: percent p stands for the model timestep t = (1 − p) · 999, i.e. a noise level.
  Our step i runs at the scheduler's timestep tᵢ, so the window [k, m) becomes
  p_start = 1 − t̄(k)/999 and p_end = 1 − t̄(m)/999, with t̄(k) halfway between t_{k−1} and t_k so
  that rounding cannot move a boundary (p = 0 and 1 at the ends). On a Karras or other schedule the
  same percent falls on a different step *index*, but at the same noise level.
* **diffusers**: a ``callback_on_step_end`` that swaps the negative embeddings in and out; the
  snippet is runnable as it is (a test executes it and compares with our sampler).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Export:
    a1111_negative: str
    a1111_fraction: str
    comfy_start: float
    comfy_end: float
    comfy_text: str
    diffusers_snippet: str


def a1111(negative: str, start: int, end: int, steps: int, fraction: bool = False) -> str:
    """AUTOMATIC1111 prompt-editing syntax for a negative prompt active in steps [start, end)."""
    if not negative.strip() or start >= end:
        return ""

    def when(k: int) -> str:
        # A1111 uses the prompt before the switch while step (1-based) <= when, and when < 1 means
        # when * steps; (k + 0.5) / steps lands safely between k and k + 1 after rounding
        return f"{(k + 0.5) / steps:.3g}" if fraction else str(k)

    text = negative.strip()
    if start > 0:
        text = f"[{text}:{when(start)}]"
    if end < steps:
        text = f"[{text}::{when(end)}]"
    return text


def comfy_percents(timesteps: Sequence[int], start: int, end: int, train_steps: int = 1000) -> tuple[float, float]:
    """ComfyUI start/end percent of the schedule for the window [start, end) of these timesteps."""
    n = len(timesteps)
    tmax = train_steps - 1

    def boundary(k: int) -> float:
        if k <= 0:
            return 0.0
        if k >= n:
            return 1.0
        mid = (timesteps[k - 1] + timesteps[k]) / 2
        return round(1.0 - mid / tmax, 4)

    return boundary(start), boundary(end)


def diffusers_snippet(model: str, prompt: str, negative: str, start: int, end: int | None, steps: int, guidance: float, seed: int) -> str:
    """A runnable diffusers script producing the same image as the explorer."""
    end_s = "None" if end is None or end >= steps else str(end)
    return f'''import torch
from diffusers import StableDiffusionPipeline

pipe = StableDiffusionPipeline.from_pretrained({model!r}, safety_checker=None, requires_safety_checker=False)
prompt, negative_prompt = {prompt!r}, {negative!r}
start, end = {start}, {end_s}  # the negative prompt acts in steps [start, end)

pos, neg = pipe.encode_prompt(prompt, pipe.device, 1, True, negative_prompt)
_, empty = pipe.encode_prompt(prompt, pipe.device, 1, True, "")


def delayed_negative(pipe, i, t, kwargs):
    # called after step i: the next step uses the returned embeddings (unconditional half first)
    if i == start - 1:
        kwargs["prompt_embeds"] = torch.cat([neg, pos])
    if end is not None and i == end - 1:
        kwargs["prompt_embeds"] = torch.cat([empty, pos])
    return kwargs


image = pipe(
    prompt,
    negative_prompt=negative_prompt if start == 0 else "",
    num_inference_steps={steps},
    guidance_scale={guidance},
    generator=torch.Generator().manual_seed({seed}),
    callback_on_step_end=delayed_negative,
    callback_on_step_end_tensor_inputs=["prompt_embeds"],
).images[0]
'''


def export(model: str, prompt: str, negative: str, start: int, end: int, steps: int, guidance: float, seed: int,
           timesteps: Sequence[int], train_steps: int = 1000) -> Export:
    """All three exports of one window."""
    ps, pe = comfy_percents(timesteps, start, end, train_steps)
    comfy = (
        f"ConditioningSetTimestepRange(start={ps}, end={pe}) on the negative conditioning {negative!r}; "
        f"combine (ConditioningCombine) with an empty negative set to (0.0, {ps}) and ({pe}, 1.0)."
    )
    return Export(
        a1111_negative=a1111(negative, start, end, steps),
        a1111_fraction=a1111(negative, start, end, steps, fraction=True),
        comfy_start=ps,
        comfy_end=pe,
        comfy_text=comfy,
        diffusers_snippet=diffusers_snippet(model, prompt, negative, start, end, steps, guidance, seed),
    )
