"""Worker processes: the coding tasks of blocks (forked) and the training of the networks (spawned).

Not multiprocessing.Pool: its shutdown sends SIGTERM and then joins, and a worker that has not yet set
up its signals when the SIGTERM comes survives it and blocks on the task queue's lock, which the
terminating parent holds, so the join waits forever; and a worker whose parent was killed finishes its
task and prints a BrokenPipeError traceback. Here
- every worker has its own pipe, so no lock is shared between processes;
- on any error or interruption the workers get SIGKILL (tasks are pure computation: nothing to flush),
  so stopping cannot wait on a worker that ignores or misses a signal;
- a worker watches its parent and ends, silently, as soon as the parent is gone;
- a worker that dies (out of memory, a crash) is reported as an error, never waited for.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.connection
import os
import pickle
import signal
import threading
import time
from collections import deque
from typing import Callable

from .errors import LstmzipError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
PARENT_CHECK_SECONDS = 0.1
STOP_SECONDS = 5  # a worker asked to stop after its last task has this long before it gets SIGKILL


_running: set = set()  # pools with workers, for kill_all()


def kill_all() -> None:
    """SIGKILL every worker of every pool (the last act of a stop signal: see __main__.py)."""
    for pool in list(_running):
        pool.kill()


class WorkerDied(LstmzipError):
    """A worker process ended without returning its task's result."""


class Task:
    """A submitted call; get() returns its value or raises its exception, where the caller waits."""

    def __init__(self, pool: "Pool | None" = None):
        self.pool, self.done, self.value, self.error = pool, False, None, None

    def get(self):
        while not self.done:
            self.pool.wait_for_results()
        if self.error is not None:
            raise self.error
        return self.value


class InProcess:
    """The same interface, running each task at once in this process (one thread: no processes)."""

    def __enter__(self) -> "InProcess":
        return self

    def __exit__(self, *exc) -> None:
        pass

    def submit(self, fn: Callable, *args) -> Task:
        task = Task()
        try:
            task.value = fn(*args)
        except Exception as error:  # raised where a worker's would be: at get()
            task.error = error
        task.done = True
        return task


class _Worker:
    def __init__(self, context, parent_pid: int):
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(child_conn, parent_pid), daemon=True)
        self.process.start()
        child_conn.close()
        self.task: Task | None = None


class Pool:
    """`processes` worker processes started with `start_method` ("fork" or "spawn"). Tasks are handed to
    idle workers in submission order; results are collected whenever the caller submits or waits."""

    def __init__(self, processes: int, start_method: str = "fork"):
        self.processes, self.context = processes, multiprocessing.get_context(start_method)
        self.workers: list[_Worker] = []
        self.queue: deque = deque()

    def __enter__(self) -> "Pool":
        # A stop signal while the workers start would otherwise be raised inside an at-fork handler, where
        # Python prints and drops it, or reach a spawned worker before it can ignore it. So: hold the
        # signals (recorded here, blocked in the workers until they are ready), then raise a held one.
        caught: list[int] = []
        handlers = {signum: signal.signal(signum, lambda signum, frame: caught.append(signum))
                    for signum in STOP_SIGNALS}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
        _running.add(self)
        try:
            parent = os.getpid()
            for _ in range(self.processes):
                self.workers.append(_Worker(self.context, parent))
        except BaseException:
            self.kill()
            raise
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a blocked signal arrives now: recorded
            for signum, handler in handlers.items():
                signal.signal(signum, handler)
        if caught:
            try:
                signal.raise_signal(caught[0])  # the handler lstmzip had: KeyboardInterrupt, exit 143
            except BaseException:
                self.kill()
                raise
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.close()
        else:
            self.kill()

    def submit(self, fn: Callable, *args) -> Task:
        task = Task(self)
        self.queue.append((task, fn, args))
        self._collect(timeout=0)
        return task

    def wait_for_results(self) -> None:
        """Block until at least one running task has finished (or a worker has died)."""
        self._collect(timeout=None)

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.queue:
                return
            if worker.task is None:
                worker.task, fn, args = self.queue.popleft()
                try:
                    worker.conn.send((fn, args))  # an idle worker waits in recv(): this cannot block long
                except OSError:
                    self._died(worker)

    def _collect(self, timeout: float | None) -> None:
        self._dispatch()
        busy = [w for w in self.workers if w.task is not None]
        if not busy:
            return
        waitables = [w.conn for w in busy] + [w.process.sentinel for w in busy]
        ready = multiprocessing.connection.wait(waitables, timeout)
        for worker in busy:
            if worker.conn in ready or worker.process.sentinel in ready:
                self._receive(worker)
        self._dispatch()

    def _receive(self, worker: _Worker) -> None:
        task = worker.task
        try:
            if not worker.conn.poll():
                raise EOFError  # the process ended and left nothing to read
            status, payload = worker.conn.recv()
        except (EOFError, OSError):
            self._died(worker)
        worker.task = None
        task.done = True
        if status == "ok":
            task.value = payload
        else:
            task.error = payload

    @staticmethod
    def _died(worker: _Worker):
        worker.process.join(1)
        code = worker.process.exitcode
        how = f"exit status {code}" if code is None or code >= 0 else f"killed by signal {-code}"
        hint = "; out of memory?" if code == -signal.SIGKILL else ""  # what the kernel's OOM killer does
        raise WorkerDied(f"a worker process ended unexpectedly ({how}{hint})") from None

    def close(self) -> None:
        """Stop the workers after their tasks (all results have been collected by now)."""
        for worker in self.workers:
            try:
                worker.conn.send(None)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_SECONDS
        for worker in self.workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        self.kill()

    def kill(self) -> None:
        """SIGKILL every worker that is still alive and reap them all; cannot wait on a stuck worker."""
        for worker in self.workers:
            if worker.process.exitcode is None:
                worker.process.kill()
        for worker in self.workers:
            worker.process.join(STOP_SECONDS)
            worker.conn.close()
        self.workers = []
        _running.discard(self)


def count(threads: int) -> int:
    """The number of threads `-T threads` means (0 = every core this process may use)."""
    if threads:
        return threads
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def for_threads(threads: int) -> Pool | InProcess:
    """The workers for `-T threads`: one thread needs no worker processes."""
    return Pool(count(threads)) if count(threads) > 1 else InProcess()


def _serve(conn, parent_pid: int) -> None:
    """A worker's life: run the tasks it is sent until told to stop or its parent is gone."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: the parent handles it
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    threading.Thread(target=_end_with_parent, args=(parent_pid,), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    try:
        while True:
            message = conn.recv()
            if message is None:
                break
            fn, args = message
            try:
                reply = ("ok", fn(*args))
            except BaseException as error:
                reply = ("error", error)
            try:
                conn.send(reply)
            except (pickle.PicklingError, TypeError, AttributeError) as error:  # an unpicklable result
                conn.send(("error", LstmzipError(f"internal error ({type(error).__name__}: {error})")))
    except (EOFError, OSError):
        pass  # the parent went away: nobody wants the result
    os._exit(0)  # no interpreter clean-up: the parent's inherited exit handlers are not ours to run


def _end_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)
