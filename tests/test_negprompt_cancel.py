"""Every negative-prompt job stops within a second of cancel (issue 18): the live study (the longest
job: designs, recorded runs, delay sweeps, reverse activation), the explorer's run and its sweep,
on the shipped model as a dashboard runs them."""

import time

import pytest

from deletionlab.core import CancelToken
from deletionlab.core.jobs import Cancelled
from deletionlab.negprompt.experiment import ExperimentConfig, run_experiment
from deletionlab.negprompt.explore import Settings, explore, removal_sweep

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tiny models: one torch thread (conftest)

LIMIT_S = 1.0  # the promise: a job stops within a second of cancel
DEFAULT = Settings("a red circle above a blue shape", "a blue square", 30, 5.0, 28)


@pytest.fixture(scope="module")
def shipped():
    from deletionlab.negprompt.models import load_pipeline

    return load_pipeline()


def latency(pipe, job, at_call: int) -> float:
    """Run ``job(cancel=token)``, cancel the token during the ``at_call``-th UNet call (a forward hook:
    the same phase on a fast or a slow machine), and return the seconds from the cancel to the job
    raising :class:`Cancelled` (fails if it finished first)."""
    token, calls, t = CancelToken(), [0], {}

    def hook(module, args, out):
        calls[0] += 1
        if calls[0] == at_call:
            t["cancel"] = time.perf_counter()
            token.cancel()

    handle = pipe.unet.register_forward_hook(hook)
    try:
        with pytest.raises(Cancelled):
            job(cancel=token)
    finally:
        handle.remove()
    assert "cancel" in t, f"the job made only {calls[0]} UNet calls"
    return time.perf_counter() - t["cancel"]


# the live study of one scene makes 4 × 30 UNet calls: the design run, the recorded run, the delay
# sweep (branches from step 0), the reverse-activation run; cancel in the middle of each
@pytest.mark.parametrize("at_call", [15, 45, 75, 105])
def test_live_study_stops_within_a_second(shipped, at_call):
    lat = latency(shipped, lambda **kw: run_experiment(ExperimentConfig.small(1), shipped, **kw), at_call)
    print(f"live study, cancel at UNet call {at_call}: stopped {lat:.3f} s later")
    assert lat < LIMIT_S


@pytest.mark.parametrize("what", ["explore", "sweep"])
def test_explorer_jobs_stop_within_a_second(shipped, what):
    if what == "explore":
        job = lambda **kw: explore(shipped, DEFAULT, **kw)  # noqa: E731
    else:
        ex = explore(shipped, DEFAULT)
        job = lambda **kw: removal_sweep(shipped, DEFAULT, ex, starts=list(range(30)), **kw)  # noqa: E731
    lat = latency(shipped, job, 10)
    print(f"{what}, cancel at UNet call 10: stopped {lat:.3f} s later")
    assert lat < LIMIT_S
