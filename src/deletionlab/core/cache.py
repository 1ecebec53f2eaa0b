"""Compute once, serve many: a result cache on disk shared by every kernel on the machine.

A deterministic run (same study code, same settings, same seed) gives the same result, so when a
class of 16 opens the same dashboard, the default run is computed by the first kernel that asks and
read from disk by the others. :func:`cached` is the one entry point::

    result = cached("unlearning", cfg, lambda: explore(cfg, progress=p, cancel=c), cancel=c, progress=p)

* Files live under ``$DELETIONLAB_CACHE/results/<namespace>/`` (see ``core.assets.data_dir``).
* The key is a SHA-256 of the settings (dataclasses, dicts, numbers, strings) **and of the study's
  source code**, so a code change never serves a stale result.
* Concurrent writers are safe: one process computes under an exclusive file lock while the others
  wait (cancellable) and then read the finished file; files are written to a temporary name and
  renamed into place, so a reader never sees half a file.
* Values are pickled; the cache folder belongs to whoever runs the server (nothing a visitor can
  write), so unpickling it is as safe as importing our own code.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import pickle
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from deletionlab.core.jobs import CancelToken, Progress, check_cancel, no_progress

T = TypeVar("T")
_code_versions: dict[str, str] = {}
#: switch the cache off (e.g. for a benchmark of "today's behaviour"): DELETIONLAB_RESULT_CACHE=0
ENV_SWITCH = "DELETIONLAB_RESULT_CACHE"


def enabled() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() not in ("0", "false", "no", "off")


def cache_root() -> Path:
    from deletionlab.core.assets import data_dir

    return data_dir() / "results"


def code_version(namespace: str) -> str:
    """A hash of the source of ``deletionlab.<namespace>`` and ``deletionlab.core`` (cached per process)."""
    if namespace not in _code_versions:
        import deletionlab

        root = Path(deletionlab.__file__).parent
        h = hashlib.sha256()
        for folder in (root / "core", root / namespace):
            for py in sorted(folder.rglob("*.py")) if folder.is_dir() else ():
                h.update(py.read_bytes())
        _code_versions[namespace] = h.hexdigest()[:16]
    return _code_versions[namespace]


def _canonical(obj: Any) -> Any:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {"__dataclass__": type(obj).__qualname__, **{f.name: _canonical(getattr(obj, f.name)) for f in dataclasses.fields(obj)}}
    if isinstance(obj, dict):
        return {str(k): _canonical(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple, set, frozenset)):
        items = [_canonical(v) for v in obj]
        return sorted(items, key=repr) if isinstance(obj, (set, frozenset)) else items
    if isinstance(obj, float):
        return repr(obj)
    if isinstance(obj, (str, int, bool)) or obj is None:
        return obj
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "tolist"):
        return obj.tolist()
    return repr(obj)


def cache_key(namespace: str, settings: Any) -> str:
    """The file name of a result: hash of the namespace, the study's code and the settings."""
    text = json.dumps([namespace, code_version(namespace), _canonical(settings)], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _load(path: Path) -> Any:
    with open(path, "rb") as f:
        return pickle.load(f)


def _store(path: Path, value: Any) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)


def _lock(lock_path: Path, cancel: CancelToken | None, on_wait: Callable[[], None] | None = None):
    """Take an exclusive lock on ``lock_path``, checking ``cancel`` every 100 ms while waiting
    (``on_wait()`` is called once if it has to wait)."""
    f = open(lock_path, "a+b")
    waited = False
    while True:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return f
        except BlockingIOError:
            try:
                check_cancel(cancel)
                if not waited and on_wait is not None:
                    on_wait()
            except BaseException:
                f.close()
                raise
            waited = True
            time.sleep(0.1)


def is_cached(namespace: str, settings: Any, root: Path | None = None) -> bool:
    """Whether a result for ``settings`` is on disk already: a job that will only read it need not
    queue for the heavy-job gate (``JobBar.run(..., heavy=not is_cached(...))``)."""
    if not enabled():
        return False
    return ((root or cache_root()) / namespace / f"{cache_key(namespace, settings)}.pkl").exists()


def cached(namespace: str, settings: Any, compute: Callable[[], T], *, cancel: CancelToken | None = None,
           progress: Progress = no_progress, root: Path | None = None) -> T:
    """The result of ``compute()`` for ``settings``, from disk if any kernel computed it before.

    Only one process computes a given key at a time; the others wait (cancellable) and read its
    file (``progress`` says so). A ``compute`` that raises stores nothing. With ``DELETIONLAB_RESULT_CACHE=0`` it just
    calls ``compute()``.
    """
    if not enabled():
        return compute()
    folder = (root or cache_root()) / namespace
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{cache_key(namespace, settings)}.pkl"
    if path.exists():
        try:
            return _load(path)
        except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
            pass  # unreadable (e.g. a class renamed): compute again
    lock = _lock(path.with_suffix(".lock"), cancel, lambda: progress(0, 1, "the same run is being computed for another visitor"))
    try:
        if path.exists():  # another process finished while we waited
            try:
                return _load(path)
            except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
                pass
        value = compute()
        _store(path, value)
        return value
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        lock.close()
