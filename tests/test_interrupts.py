"""backward is transactional under interrupts (issue 12 item 3): either it completes and the
gradient is there, or it raises and calling it again gives exactly the uninterrupted gradient.
A long sweep stops between two records within a fraction of a second of Ctrl-C."""

from __future__ import annotations

import _thread
import os
import signal
import threading
import time

import numpy as np
import pytest

import blasad as ba
import blasad._tape as tape_module
from blasad._native_loader import lib

pytestmark = pytest.mark.parametrize("dispatch_path", ["fast"], indirect=True)  # the sweep is the same


def _record(n: int, size: int = 8) -> tuple[ba.Tape, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(size)
    A, B = rng.standard_normal((size, size)), rng.standard_normal((size, size))
    C = np.zeros((size, size))
    with ba.Tape() as tape:
        tape.watch(A, B)
        for _ in range(n):
            ba.gemm(1.0, A, B, 1.0, C)  # no overwrite of what the sweep reads: no snapshots
    return tape, A, B, C


def _reference(n: int, size: int = 8) -> tuple[np.ndarray, np.ndarray]:
    tape, A, B, C = _record(n, size)
    tape.backward(C, np.ones_like(C))
    return tape.grad(A), tape.grad(B)


@pytest.mark.parametrize(
    ("n", "size"), [(10, 8), (300, 64)], ids=["short tape (inline sweep)", "long tape (helper thread)"]
)
@pytest.mark.parametrize("step", ["prepared", "seeded", "swept"])
def test_an_interrupt_at_any_step_then_a_retry_gives_the_exact_gradient(monkeypatch, n, size, step):
    want_a, want_b = _reference(n, size)
    tape, A, B, C = _record(n, size)
    seed = np.ones_like(C)

    def hook(at: str) -> None:
        if at == step:
            _thread.interrupt_main()  # SIGINT as Ctrl-C sends it, to the main thread

    monkeypatch.setattr(tape_module, "DEBUG_HOOK", hook)
    with pytest.raises(KeyboardInterrupt):
        tape.backward(C, seed)
        time.sleep(0.5)  # (the interrupt is raised at the next bytecode; this is never reached)
    monkeypatch.setattr(tape_module, "DEBUG_HOOK", None)
    if step == "swept":  # it had completed: the gradient is there, and backward is done
        with pytest.raises(RuntimeError, match="already called"):
            tape.backward(C, seed)
    else:
        tape.backward(C, seed)  # continues: the seeds are not added twice
    np.testing.assert_array_equal(tape.grad(A), want_a)
    np.testing.assert_array_equal(tape.grad(B), want_b)


def test_a_retry_must_bring_the_same_outputs_and_seeds(monkeypatch):
    tape, _, _, C = _record(10)
    monkeypatch.setattr(tape_module, "DEBUG_HOOK", lambda at: at == "seeded" and _thread.interrupt_main())
    with pytest.raises(KeyboardInterrupt):
        tape.backward(C, np.ones_like(C))
        time.sleep(0.5)
    monkeypatch.setattr(tape_module, "DEBUG_HOOK", None)
    with pytest.raises(ValueError, match="continued with the outputs and seeds it was given"):
        tape.backward(C, 2 * np.ones_like(C))


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs a POSIX SIGINT")
def test_ctrl_c_stops_a_long_sweep_between_records_and_backward_continues_it(monkeypatch):
    n, size = 3000, 128
    want_a, want_b = _reference(n, size)
    tape, A, B, C = _record(n, size)
    sent: list[float] = []

    def hook(at: str) -> None:
        if at == "seeded":  # the sweep is about to start: Ctrl-C 30 ms into it

            def kill() -> None:
                sent.append(time.perf_counter())
                os.kill(os.getpid(), signal.SIGINT)

            threading.Timer(0.03, kill).start()

    monkeypatch.setattr(tape_module, "DEBUG_HOOK", hook)
    with pytest.raises(KeyboardInterrupt):
        tape.backward(C, np.ones_like(C))
    stopped = time.perf_counter()
    monkeypatch.setattr(tape_module, "DEBUG_HOOK", None)
    assert not lib.ba_tape_swept(tape._ptr), "the sweep ended before the signal: make it longer"
    assert stopped - sent[0] < 0.5, f"Ctrl-C took {stopped - sent[0]:.3f} s to stop the sweep"
    tape.backward(C, np.ones_like(C))
    np.testing.assert_array_equal(tape.grad(A), want_a)
    np.testing.assert_array_equal(tape.grad(B), want_b)
