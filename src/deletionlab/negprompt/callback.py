"""The negative-prompt window as a ``callback_on_step_end`` of diffusers' own ``StableDiffusionPipeline``.

Kept apart from :mod:`.sampler` because importing diffusers costs about a second of CPU: a
dashboard kernel that only shows a stored run never needs it.
"""

from __future__ import annotations

from typing import Any

import torch
from diffusers.callbacks import PipelineCallback
from diffusers.configuration_utils import register_to_config

__all__ = ["NegativeWindowCallback"]


class NegativeWindowCallback(PipelineCallback):
    """A ``callback_on_step_end`` for ``StableDiffusionPipeline`` (like diffusers' own
    ``SDCFGCutoffCallback``) that switches the negative prompt on after step ``start - 1`` and off
    again after step ``end - 1``. Call the pipeline with ``negative_prompt=""`` when ``start > 0``::

        pipe(prompt, negative_prompt="", callback_on_step_end=NegativeWindowCallback(prompt, negative, 5))

    The embeddings are made with ``pipeline.encode_prompt`` the first time they are needed. The
    export's diffusers snippet does the same with a plain function (no import of ours needed).
    """

    tensor_inputs = ["prompt_embeds"]

    @register_to_config
    def __init__(self, prompt: str, negative_prompt: str, start: int, end: int | None = None) -> None:
        # no super().__init__(): PipelineCallback's only checks the cut-off arguments of diffusers' callbacks
        self._embeddings: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None

    def embeddings(self, pipeline) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(positive, negative, empty) prompt embeddings, as the pipeline makes them."""
        if self._embeddings is None:
            device = pipeline.unet.device
            pos, neg = pipeline.encode_prompt(self.config.prompt, device, 1, True, self.config.negative_prompt)
            _, empty = pipeline.encode_prompt(self.config.prompt, device, 1, True, "")
            self._embeddings = (pos, neg, empty)
        return self._embeddings

    def callback_fn(self, pipeline, step_index, timestep, callback_kwargs) -> dict[str, Any]:
        start, end = self.config.start, self.config.end
        if step_index == start - 1:  # the unconditional half comes first
            pos, neg, _ = self.embeddings(pipeline)
            callback_kwargs["prompt_embeds"] = torch.cat([neg, pos])
        if end is not None and step_index == end - 1:
            pos, _, empty = self.embeddings(pipeline)
            callback_kwargs["prompt_embeds"] = torch.cat([empty, pos])
        return callback_kwargs
