"""Negative prompts in Stable Diffusion: when and how they take effect (Ban et al. 2024).

* :mod:`.world`, :mod:`.detect` -- the generated world of coloured shapes and its detector;
* :mod:`.tinymodel`, :mod:`.training`, :mod:`.models` -- the shipped tiny SD and checkpoint loading;
* :mod:`.sampler` -- denoising with a negative prompt active in a window of steps, recorded;
* :mod:`.analysis`, :mod:`.experiments`, :mod:`.quality` -- measurements;
* :mod:`.explore`, :mod:`.export` -- what the explorer widget shows and exports.
"""

DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 5.0
