"""Recording what happened to each post of a batch, as it happens, off the sender's path.

Every outcome is one conditional UPDATE: it applies only while the attempt still
holds the row's claim, so an attempt whose lease ran out never writes over the
attempt that took the row over.

On PostgreSQL, outside a transaction, the outcomes of a round are sent on a
connection of their own without waiting for the answer: the statement is on its
way to the server before the next post goes to X, and its answer (after the
server's commit and WAL flush) is read when the next outcome is sent, by then long
arrived. A thread writing them instead would cost a quarter of a post on a nearby
X in the sender's GIL; waiting for each answer, a sixth. What a dying worker can
lose is the outcome of the post in flight and of the one just before it; their
rows are still ``sending`` under a claim committed before any send, so the lease
hands them over and the look at X finds them. Elsewhere (SQLite, psycopg2, or
inside a transaction such as a test's) outcomes are written at once on the
caller's connection.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import selectors
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import DatabaseError, connection, connections
from django.db.models import Field
from django.utils import timezone

from twitter_oauth.models import ScheduledTweet

logger = logging.getLogger("twitter_oauth.posting")

Status = ScheduledTweet.Status

#: How long the database may take to answer one outcome before the round gives up.
ANSWER_TIMEOUT = 30.0

_local = threading.local()


def record(row: ScheduledTweet, **changes: Any) -> None:
    """Record an outcome of the attempt that holds ``row``'s claim (releasing the claim)."""
    changes.setdefault("claim_id", None)
    changes.setdefault("lease_expires_at", None)
    changes["updated_at"] = timezone.now()
    if getattr(_local, "recording", False) and not any(
        hasattr(value, "resolve_expression") for value in changes.values()
    ):
        _channel().send(row.pk, row.claim_id, changes)
    else:
        write(row.pk, row.claim_id, changes)


def write(pk: int, claim_id: Any, changes: dict[str, Any]) -> bool:
    """The conditional UPDATE itself; False when the claim is no longer this attempt's."""
    written = bool(
        ScheduledTweet.objects.filter(pk=pk, claim_id=claim_id, status=Status.SENDING).update(
            **changes
        )
    )
    if not written:
        _lost_claim(pk, changes)
    return written


def _lost_claim(pk: int, changes: dict[str, Any]) -> None:
    if changes.get("status") == Status.SENT:
        logger.warning(
            "Post %s was sent as tweet %s after its lease ran out", pk, changes.get("tweet_id")
        )


@contextmanager
def recording() -> Iterator[None]:
    """Send the outcomes recorded inside on a connection of their own, where that is safe.

    Everything recorded inside is written when the block ends; :func:`flush` waits
    for it earlier. The connection is opened at the first outcome and closed at the end.
    """
    if not _can_send_ahead():
        yield
        return
    _local.recording = True
    try:
        yield
        flush()
    finally:
        _local.recording = False
        channel: _Channel | None = getattr(_local, "channel", None)
        _local.channel = None
        if channel is not None:
            channel.close()


def _can_send_ahead() -> bool:
    """PostgreSQL through psycopg 3 (psycopg2 has no such interface), outside a transaction."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return False
    from django.db.backends.postgresql.psycopg_any import is_psycopg3

    return is_psycopg3


def flush() -> None:
    """Wait until every outcome recorded so far is written (a no-op when written at once)."""
    channel: _Channel | None = getattr(_local, "channel", None)
    if channel is not None:
        channel.wait()


def _channel() -> _Channel:
    channel: _Channel | None = getattr(_local, "channel", None)
    if channel is None:
        channel = _local.channel = _Channel()
    return channel


class _Channel:
    """A connection on which one outcome at a time is sent without waiting for its answer.

    The statement text is built once per set of columns (:func:`_update_statement`);
    values go in text form and the server takes their types from the columns.
    Nothing is prepared by name and nothing is set on the session, so a
    transaction-pooling PgBouncer is no trouble.
    """

    def __init__(self) -> None:
        self._db = connections.create_connection("default")
        self._db.ensure_connection()
        self._pgconn = self._db.connection.pgconn
        self._pending: tuple[int, dict[str, Any]] | None = None

    def send(self, pk: int, claim_id: Any, changes: dict[str, Any]) -> None:
        self.wait()
        with self._db.wrap_database_errors:
            self._send(pk, claim_id, changes)

    def _send(self, pk: int, claim_id: Any, changes: dict[str, Any]) -> None:
        sql, fields = _update_statement(tuple(changes))
        values = [
            self._as_text(field, value)
            for field, value in zip(fields, changes.values(), strict=True)
        ]
        values += [str(pk).encode(), self._as_text(_CLAIM, claim_id), _SENDING]
        self._pgconn.send_query_params(sql, values)
        self._pending = (pk, changes)

    def _as_text(self, field: Field, value: Any) -> bytes | None:
        """A value in PostgreSQL's text form (an outcome holds strings, times and a UUID)."""
        if value is None:
            return None
        if isinstance(value, dt.datetime):
            return value.isoformat().encode()
        if isinstance(value, str | int | uuid.UUID):
            return str(value).encode()
        prepared = field.get_db_prep_save(value, self._db)
        return None if prepared is None else str(prepared).encode()

    def wait(self) -> None:
        """Read the answer to the outcome sent last; raise what the database said, if not OK."""
        if self._pending is None:
            return
        pk, changes = self._pending
        self._pending = None
        with self._db.wrap_database_errors:
            changed = self._answer(f"post {pk}")
        if not changed:
            _lost_claim(pk, changes)

    def close(self) -> None:
        """Close the connection; an outcome sent last still applies (the server has it)."""
        self._db.close()

    def _answer(self, what: str) -> int:
        """Wait (without blocking other greenlets) for the answer; rows it changed."""
        pgconn = self._pgconn
        pgconn.consume_input()
        if pgconn.is_busy():  # rare: the answer has usually arrived while the post went
            with selectors.DefaultSelector() as selector:  # any descriptor number, unlike select()
                selector.register(pgconn.socket, selectors.EVENT_READ)
                while pgconn.is_busy():
                    if not selector.select(ANSWER_TIMEOUT):
                        raise DatabaseError(f"The database did not answer in time ({what})")
                    pgconn.consume_input()
        changed, error = 0, None
        while (result := pgconn.get_result()) is not None:
            if result.error_message:
                error = result.error_message.decode(errors="replace").strip()
            elif result.command_tuples:
                changed += result.command_tuples
        if error is not None:
            raise DatabaseError(f"Could not record the outcome of {what}: {error}")
        return changed


@functools.cache
def _update_statement(columns: tuple[str, ...]) -> tuple[bytes, list[Field]]:
    """The outcome UPDATE for a set of columns, with ``$n`` parameters, and their fields."""
    fields = [_concrete_field(name) for name in columns]
    quote = connections["default"].ops.quote_name
    assignments = ", ".join(
        f"{quote(str(field.column))} = ${n}" for n, field in enumerate(fields, 1)
    )
    where = len(fields)
    # Only the model's own column names go into the text; every value is a parameter.
    sql = (
        f"UPDATE {quote(ScheduledTweet._meta.db_table)} SET {assignments} "  # noqa: S608
        f"WHERE {quote('id')} = ${where + 1} AND {quote('claim_id')} = ${where + 2} "
        f"AND {quote('status')} = ${where + 3}"
    )
    return sql.encode(), fields


def _concrete_field(name: str) -> Field:
    field = ScheduledTweet._meta.get_field(name)
    assert isinstance(field, Field)
    return field


_CLAIM = _concrete_field("claim_id")
_SENDING = Status.SENDING.value.encode()
