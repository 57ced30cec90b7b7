"""`tanpuhui serve --workers N`: N API worker processes on one port, each listening on a socket of its own.

uvicorn's own supervisor binds one socket and shares it with every worker: all of them wait in accept()
on it, and whichever is awake takes the next connection. Under load the worker already running takes
nearly all of them (32 keep-alive clients were seen all on one of two workers), and the other idles
while the first saturates its core. Here each worker binds the port itself with SO_REUSEPORT, so the
kernel spreads new connections over the workers by a hash of their addresses.

The supervisor starts the workers, starts another in place of one that dies, and on SIGINT or SIGTERM
stops them all (each finishes the requests it has, as uvicorn does on SIGTERM). A worker that fails
before serving (its app, its settings or its port) would fail the same way again: the supervisor stops.

A worker can also hang without dying: its event loop blocked, by a call that never returns or a process
stopped. Its socket stays open, so the kernel keeps handing it its share of new connections, and those
clients wait for ever. Each worker's event loop therefore stamps a heartbeat ten times a second (uvicorn's
tick); a worker whose heartbeat has not moved for `hung_after_s` (TANPUHUI_WORKER_TIMEOUT_S) is killed and
another started in its place. A worker still starting up has no heartbeat yet and is not judged: starting
may run the migrations.
"""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import signal
import socket
import threading
import time
from dataclasses import dataclass
from multiprocessing.context import SpawnProcess
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE

from service.kit.logging import configure_logging

logger = logging.getLogger(__name__)

_spawn = multiprocessing.get_context("spawn")
# How long a stopping worker has to finish its requests before it is killed.
STOP_TIMEOUT_S = 30.0


def _socket(host: str, port: int, *, shared: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if shared:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


class _BeatingServer(uvicorn.Server):
    """uvicorn's server, stamping `beat` with the monotonic clock (one clock for every process of the host)
    on each tick of its main loop. The loop ticks from the moment the app has started until shutdown."""

    def __init__(self, config: uvicorn.Config, beat: ctypes.c_double) -> None:
        super().__init__(config)
        self._beat = beat

    async def on_tick(self, counter: int) -> bool:
        self._beat.value = time.monotonic()
        return await super().on_tick(counter)


def _worker(options: dict[str, Any], log_level: str, beat: ctypes.c_double) -> None:
    """One worker process: its own listening socket, its own uvicorn server."""
    configure_logging(log_level)
    config = uvicorn.Config(**options)
    try:
        sock = _socket(config.host, config.port, shared=True)
    except OSError as error:
        logger.error("worker could not listen on %s:%s: %s", config.host, config.port, error)
        raise SystemExit(STARTUP_FAILURE) from None
    _BeatingServer(config, beat).run(sockets=[sock])


@dataclass(frozen=True, slots=True)
class _Worker:
    process: SpawnProcess
    beat: ctypes.c_double  # 0 until the worker serves

    def silent_for(self, now: float) -> float | None:
        """Seconds since the worker's event loop last ticked; None while it is still starting."""
        last = self.beat.value
        return now - last if last else None


class Supervisor:
    """`workers` processes serving uvicorn.Config(**options); options must pickle (the workers are spawned)."""

    def __init__(self, options: dict[str, Any], *, workers: int, log_level: str, hung_after_s: float) -> None:
        self.options = options
        self.workers = workers
        self.log_level = log_level
        self.hung_after_s = hung_after_s

    def _start(self) -> _Worker:
        # no lock: one writer, and a lock held by a worker killed mid-write would stop the supervisor
        beat = _spawn.RawValue(ctypes.c_double, 0.0)
        process = _spawn.Process(target=_worker, args=(self.options, self.log_level, beat), name="tanpuhui-worker")
        process.start()
        return _Worker(process, beat)

    def run(self) -> int:
        """Serve until SIGINT or SIGTERM; the exit status: 0, or STARTUP_FAILURE if a worker could not start."""
        host, port = self.options["host"], self.options["port"]
        # A socket without SO_REUSEPORT cannot bind a port anything else holds, ours or not: an instance
        # already serving here is refused rather than joined.
        try:
            _socket(host, port, shared=False).close()
        except OSError as error:
            logger.error("cannot listen on %s:%s: %s", host, port, error)
            return STARTUP_FAILURE
        stopping = threading.Event()
        failed = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stopping.set())
        workers = [self._start() for _ in range(self.workers)]
        while not stopping.wait(0.5):
            for slot, worker in enumerate(workers):
                process = worker.process
                if process.is_alive():
                    silent = worker.silent_for(time.monotonic())
                    if silent is None or silent <= self.hung_after_s:
                        continue
                    # a hung event loop would never run uvicorn's graceful stop
                    logger.error("worker %s has not ticked for %.0f s; killing it", process.pid, silent)
                    process.kill()
                    process.join()
                elif process.exitcode == STARTUP_FAILURE:
                    logger.error("worker %s could not start; stopping", process.pid)
                    failed = True
                    stopping.set()
                    break
                else:
                    logger.warning("worker %s exited with %s; starting another", process.pid, process.exitcode)
                workers[slot] = self._start()
        processes = [worker.process for worker in workers]
        for process in processes:
            if process.is_alive():
                process.terminate()
        for process in processes:
            process.join(STOP_TIMEOUT_S)
            if process.is_alive():
                process.kill()
                process.join()
        return STARTUP_FAILURE if failed else 0
