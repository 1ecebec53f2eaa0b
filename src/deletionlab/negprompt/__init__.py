"""Negative prompts in Stable Diffusion: when and how they take effect (Ban et al. 2024).

* :mod:`.world`, :mod:`.detect` -- the generated world of coloured shapes and its detector;
* :mod:`.tinymodel`, :mod:`.training`, :mod:`.models`, :mod:`.quality` -- the shipped tiny SD,
  checkpoint loading, and the model card's measurements;
* :mod:`.sampler` -- denoising with a negative prompt active in a window of steps, recorded;
* :mod:`.analysis` -- cancellation maps, critical steps, removal scores;
* :mod:`.explore`, :mod:`.export` -- what the explorer widget shows and exports;
* :mod:`.experiment` -- the measurement over many scenes; :mod:`.aggregate` -- its summary, paired by scene
  (:mod:`.stats`: sign tests, intervals); :mod:`.report` -- our numbers next to the paper's.
"""

DEFAULT_STEPS = 30
DEFAULT_GUIDANCE = 5.0
#: start steps of the delay sweep (at 30 steps): every third step, ten branches from one shared trunk
DEFAULT_STARTS = (0, 3, 6, 9, 12, 15, 18, 21, 24, 27)
