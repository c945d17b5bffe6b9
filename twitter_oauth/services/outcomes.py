"""Recording what happened to each post of a batch, as it happens, off the sender's path.

Every outcome is one conditional UPDATE: it applies only while the attempt still
holds the row's claim, so an attempt whose lease ran out never writes over the
attempt that took the row over.

On PostgreSQL, outside a transaction, a batch's outcomes are written by a thread
of their own on a connection of their own, in order, while the sender goes on to
the next post: the database round trip (and its WAL flush, which this connection
does not wait for) would otherwise cost a third of a post on a nearby X. What a
dying worker can lose is what was not written yet, at most the post in flight and
the one just before it; their rows are still ``sending`` under a claim flushed
before any send, so the lease hands them over and the look at X finds them.
Elsewhere (SQLite, or inside a transaction such as a test's) outcomes are written
at once on the caller's connection.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, connections
from django.db.models import Field
from django.utils import timezone

from twitter_oauth.models import ScheduledTweet

logger = logging.getLogger("twitter_oauth.posting")

Status = ScheduledTweet.Status

#: The outcome UPDATE per set of columns: building it through the ORM for every post
#: costs as much as the database round trip, so it is built once.
_SQL: dict[tuple[str, ...], str] = {}

_local = threading.local()


def record(row: ScheduledTweet, **changes: Any) -> None:
    """Record an outcome of the attempt that holds ``row``'s claim (releasing the claim)."""
    changes.setdefault("claim_id", None)
    changes.setdefault("lease_expires_at", None)
    changes["updated_at"] = timezone.now()
    writer: _Writer | None = getattr(_local, "writer", None)
    if writer is None:
        write(row.pk, row.claim_id, changes)
    else:
        writer.put((row.pk, row.claim_id, changes))


def write(pk: int, claim_id: Any, changes: dict[str, Any]) -> bool:
    """The conditional UPDATE itself; False when the claim is no longer this attempt's."""
    if any(hasattr(value, "resolve_expression") for value in changes.values()):
        written = bool(
            ScheduledTweet.objects.filter(pk=pk, claim_id=claim_id, status=Status.SENDING).update(
                **changes
            )
        )
    else:
        written = _write_plain(pk, claim_id, changes)
    if not written and changes.get("status") == Status.SENT:
        logger.warning(
            "Post %s was sent as tweet %s after its lease ran out", pk, changes.get("tweet_id")
        )
    return written


def _write_plain(pk: int, claim_id: Any, changes: dict[str, Any]) -> bool:
    db = connections["default"]
    fields = [_concrete_field(name) for name in changes]
    key = tuple(changes)
    sql = _SQL.get(key)
    if sql is None:
        quote = db.ops.quote_name
        assignments = ", ".join(f"{quote(str(field.column))} = %s" for field in fields)
        # Only the model's own column names go into the text; every value is a parameter.
        sql = (
            f"UPDATE {quote(ScheduledTweet._meta.db_table)} SET {assignments} "  # noqa: S608
            f"WHERE {quote('id')} = %s AND {quote('claim_id')} = %s AND {quote('status')} = %s"
        )
        _SQL[key] = sql
    claim_field = _concrete_field("claim_id")
    params = [
        field.get_db_prep_save(value, db)
        for field, value in zip(fields, changes.values(), strict=True)
    ]
    params += [pk, claim_field.get_db_prep_save(claim_id, db), Status.SENDING]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount == 1


def _concrete_field(name: str) -> Field:
    field = ScheduledTweet._meta.get_field(name)
    assert isinstance(field, Field)
    return field


@contextmanager
def recording() -> Iterator[None]:
    """Write the outcomes recorded inside on a writer thread, where that is safe."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    writer = _Writer()
    _local.writer = writer
    try:
        yield
    finally:
        _local.writer = None
        writer.close()


class _Writer:
    """A thread with its own connection, writing outcomes in the order they were recorded."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[tuple[int, Any, dict[str, Any]] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(
            target=self._run, name="twitter-oauth-outcomes", daemon=True
        )
        self._thread.start()

    def put(self, item: tuple[int, Any, dict[str, Any]]) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self) -> None:
        """Wait until every outcome is written; raise what the writer met, if anything."""
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                # Not waiting for the WAL flush: see the module's docstring for why that is safe.
                cursor.execute("SET synchronous_commit TO off")
            while (item := self._queue.get()) is not None:
                write(*item)
        except BaseException as exc:  # handed to the sender, which raises it
            self._error = exc
            while self._queue.get() is not None:
                pass  # let close() return; the rows stay claimed and their lease recovers them
        finally:
            connection.close()
