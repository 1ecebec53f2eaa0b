"""S2-orbit study: S2's measured precession against the stellar mass inside its orbit, and a
Galactic-centre cluster fed by binary captures and depleted by destructive collisions.

Ashkenazy & Balberg, "The S2 orbit and tidally disrupted binaries: indications for collisional
depletion in the Galactic center" (arXiv 2412.07491, A&A 2025). Units everywhere: AU, years, solar
masses (G = 4π² AU³ M☉⁻¹ yr⁻²).

Modules: :mod:`.orbit` (S2's elements, Schwarzschild and extended-mass precession, G(e, γ), f_SP,
the sky projection, where along the orbit the precession accrues), :mod:`.integrate` (our direct
orbit integrator and the REBOUND + REBOUNDx cross-check), :mod:`.cluster` (the reconstructed cluster
model: relaxation, captures, destructive collisions, finite-N realisations), :mod:`.explore` (what the
explorer shows), :mod:`.experiment` (the committed measurement), :mod:`.report` (paper vs ours).
"""

#: enclosed mass inside S2's semi-major axis shown first (M☉; about the paper's limit)
DEFAULT_MASS = 1000.0
#: cusp slope shown first: the Bahcall-Wolf value for a relaxed single-mass cusp
DEFAULT_GAMMA = 1.75
#: binary-capture rate shown first (per year; the paper's threshold is "a few 1e-6")
DEFAULT_CAPTURE_RATE = 3e-6
#: how much the drawn precession is exaggerated at first (S2's 12' per orbit is invisible otherwise)
DEFAULT_EXAGGERATION = 100.0
#: orbits in the animation
DEFAULT_ORBITS = 12
