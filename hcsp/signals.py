"""How a command stops when it is told to: SIGINT, SIGTERM and SIGHUP all unwind it.

Python turns only SIGINT into an exception; SIGTERM (what `docker stop`, systemd and
Kubernetes send) and SIGHUP (a closed terminal) end the process on the spot, so the
``finally`` blocks that stop an embedded engine a command started never run. The
``hcsp`` entry point installs :func:`install`: each of the three signals raises
:class:`Terminated` (a ``KeyboardInterrupt``, so every clean-up written for Ctrl-C runs
for the others too), and the command exits with 128 + the signal's number.

Code that must not be cut in half (starting or stopping the engine) runs inside
:func:`deferred`: a signal that arrives there is held and raised when the block ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """The process was asked to stop by a signal."""

    def __init__(self, signum: int) -> None:
        self.signum = int(signum)
        self.signame = signal.Signals(self.signum).name
        super().__init__(self.signame)

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


_depth = 0
_pending: int | None = None


def _handler(signum: int, frame: FrameType | None) -> None:
    global _pending
    if _depth > 0:
        _pending = signum
        return
    raise Terminated(signum)


def install() -> None:
    """Make SIGINT, SIGTERM and SIGHUP raise :class:`Terminated` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        return
    for sig in STOP_SIGNALS:
        signal.signal(sig, _handler)


def installed() -> bool:
    """True when our handler is the one for SIGTERM in this process."""
    return signal.getsignal(signal.SIGTERM) is _handler


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold our stop signals until the block ends (in the main thread; a signal's
    Python handler never runs in another thread, so there is nothing to hold there)."""
    global _depth, _pending
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0 and _pending is not None:
            signum, _pending = _pending, None
            raise Terminated(signum)
