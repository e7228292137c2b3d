"""A command waiting on a host's job hears Ctrl-C at once, whichever thread takes it.

The kernel may deliver SIGINT to any thread of the process. When a transfer's own thread
took it, the main thread stayed blocked in Future.result() until the whole transfer had
finished, so `tvirt vol download` ignored Ctrl-C and exited 0 (seen in
tests/test_real_transfer_cancel.py under load). The test sends SIGINT to a thread other
than the main one, as the kernel did.
"""

from __future__ import annotations

import signal
import sys
import threading
from concurrent.futures import Future

import pytest

from tvirt.cli.plumbing import done_within, result


def _waiting_on_a_future(ident: int) -> bool:
    """Whether that thread is inside concurrent.futures, waiting (frames, not a timer)."""
    frame = sys._current_frames().get(ident)
    while frame is not None:
        if frame.f_code.co_filename.endswith("concurrent/futures/_base.py"):
            return True
        frame = frame.f_back
    return False


def _interrupt_from_another_thread(
    future: Future[str], stop: threading.Event
) -> threading.Thread:
    main = threading.get_ident()

    def other() -> None:
        while not _waiting_on_a_future(main):
            threading.Event().wait(0.01)
        signal.pthread_kill(threading.get_ident(), signal.SIGINT)
        # If the main thread does not hear it, the job ends after all (the interrupt is
        # only handled after the wait): the test sees the job done and fails, not hangs.
        stop.wait(20)
        future.set_result("finished")

    thread = threading.Thread(target=other, daemon=True)
    thread.start()
    return thread


def test_ctrl_c_taken_by_another_thread_interrupts_the_wait() -> None:
    future: Future[str] = Future()
    stop = threading.Event()
    thread = _interrupt_from_another_thread(future, stop)
    with pytest.raises(KeyboardInterrupt):
        result(future)
    # Heard while the job still ran, not once it had ended.
    assert not future.done()
    stop.set()
    thread.join(30)


def test_results_and_time_outs_are_unchanged() -> None:
    done: Future[int] = Future()
    done.set_result(7)
    assert result(done) == 7 and result(done, 0) == 7
    failed: Future[int] = Future()
    failed.set_exception(ValueError("no"))
    with pytest.raises(ValueError, match="no"):
        result(failed, 1)
    pending: Future[int] = Future()
    assert not done_within(pending, 0.3)
    from concurrent.futures import TimeoutError as FutureTimeout

    with pytest.raises(FutureTimeout):
        result(pending, 0.3)
