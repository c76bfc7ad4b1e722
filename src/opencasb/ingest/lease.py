"""Holding an instance while syncing or importing into it, so that no other process does.

Two ``opencasb sync`` processes on one store used to fetch every page twice and write their
health counts over each other. A run now holds the instance's lease (``leases`` table, see
:mod:`opencasb.store.leases`) from before its first read until after its last write.

Contract:
    * :func:`hold` acquires the lease or, when another process holds it, raises
      :class:`~opencasb.errors.InstanceBusy` naming that process -- or, with ``wait``, sleeps
      on the injected clock until the lease is released or expires, then takes it.
    * While held, a daemon thread renews it every third of its time to live (a run can spend
      minutes in one rate-limit wait or inventory fetch without storing a page), and the
      caller renews it with :meth:`Held.renew_if_due` (the runner does after each stored
      page); a renewal that finds the lease taken over raises InstanceBusy, so the
      run stops instead of writing beside its new holder.
    * The lease is released when the block ends, however it ends. A process of this host
      that died (killed, crashed) is seen dead by its pid and its lease is taken over at
      once, so a restart after SIGKILL resumes without waiting; a process of another host
      keeps it until it expires (``ttl``), and then anyone may take it.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from opencasb.clock import Clock
from opencasb.errors import InstanceBusy

if TYPE_CHECKING:
    from opencasb.store import Store
    from opencasb.store.leases import Lease

__all__ = ["LEASE_TTL", "Held", "hold", "holder_id"]

LEASE_TTL: Final = timedelta(minutes=5)
"""How long a lease lasts without renewal: a dead process blocks its instances this long."""

_WAIT_POLL: Final = 5.0  # seconds between attempts while waiting for a busy instance


def holder_id() -> str:
    """This process as a lease holder: "pid@host"."""
    return f"{os.getpid()}@{socket.gethostname()}"


def _dead_here(holder: str) -> bool:
    """True when ``holder`` is a process of this host that no longer exists."""
    pid_text, _, host = holder.partition("@")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return False


def busy_error(name: str, lease: Lease) -> InstanceBusy:
    """The InstanceBusy for instance ``name`` held by ``lease``."""
    until = lease.expires.strftime("%Y-%m-%d %H:%M:%S UTC")
    return InstanceBusy(
        f"{name} is being synced by process {lease.holder} (lease until {until})",
        holder=lease.holder,
        meaning="Another OpenCASB process holds this instance; two processes would fetch "
        "every page twice.",
        fix="Let that process finish, stop it, or run again with --wait to wait for it; "
        "a lease of a process that died lapses on its own at the time shown.",
    )


class Held:
    """A lease being held (see :func:`hold`)."""

    def __init__(
        self, store: Store, instance_id: int, name: str, holder: str, ttl: timedelta, clock: Clock
    ) -> None:
        self._store = store
        self._clock = clock
        self._renewed = clock.monotonic()
        self._instance_id = instance_id
        self._name = name
        self.holder = holder
        self._ttl = ttl
        self._lost = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def renew_if_due(self) -> None:
        """:meth:`renew` when a third of the lease's time to live has passed since the last
        renewal (cheap to call after every page)."""
        if self._clock.monotonic() - self._renewed >= self._ttl.total_seconds() / 3:
            self.renew()

    def renew(self) -> None:
        """Extend the lease; raises InstanceBusy when another process has taken it over."""
        self._renewed = self._clock.monotonic()
        if self._lost or not self._store.renew_lease(self._instance_id, self.holder, self._ttl):
            self._lost = True
            lease = self._store.current_lease(self._instance_id)
            holder = lease.holder if lease else "nobody"
            raise InstanceBusy(
                f"{self._name}: this process's lease lapsed and {holder} holds it now",
                holder=holder,
                meaning="The run stopped so as not to write beside another process; what it "
                "committed is kept.",
                fix="Nothing to do: the instance is synced by the other process.",
            )

    def _keep(self) -> None:
        interval = self._ttl.total_seconds() / 3
        while not self._stop.wait(interval):
            try:
                self.renew()
            except Exception:  # lost, or the store failed: the next page's renew() says so
                return

    def _start(self) -> None:
        self._thread = threading.Thread(target=self._keep, name="lease-keeper", daemon=True)
        self._thread.start()

    def _end(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if not self._lost:
            self._store.release_lease(self._instance_id, self.holder)


@contextmanager
def hold(
    store: Store,
    instance_id: int,
    name: str,
    *,
    clock: Clock,
    holder: str | None = None,
    ttl: timedelta = LEASE_TTL,
    wait: bool = False,
    on_wait: Callable[[InstanceBusy], None] | None = None,
) -> Iterator[Held]:
    """Hold the lease of instance ``name`` (id ``instance_id``) for the block.

    Args:
        holder: who holds it (default :func:`holder_id`).
        wait: wait for a busy instance instead of raising.
        on_wait: told once, before waiting, who holds it.

    Raises:
        InstanceBusy: another process holds it and ``wait`` is false.
        StoreError: the store failed.
    """
    me = holder or holder_id()
    told = False
    while (lease := store.acquire_lease(instance_id, me, ttl)) is not None:
        if _dead_here(lease.holder):
            lease = store.acquire_lease(instance_id, me, ttl, dead=lease.holder)
            if lease is None:
                break
        busy = busy_error(name, lease)
        if not wait:
            raise busy
        if on_wait is not None and not told:
            on_wait(busy)
            told = True
        left = (lease.expires - clock.now()).total_seconds()
        clock.sleep(min(max(left, 0.0), _WAIT_POLL) or _WAIT_POLL / 50)
    held = Held(store, instance_id, name, me, ttl, clock)
    held._start()
    try:
        yield held
    finally:
        held._end()
