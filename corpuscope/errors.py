"""One error hierarchy for the whole package.

Every error a user must act on is a `CorpuscopeError`: it carries the HTTP status the API
answers with and the exit code the CLI ends with (as datasette's `DatasetteError` does). The
API's handler and the CLI's guard map this base and nothing else: any other exception is a
bug, logged with its traceback (a 500, or exit 1), never shown as a polite usage error.

Messages must never quote a request's values: they may be personal data.
"""

from __future__ import annotations


class CorpuscopeError(Exception):
    """Base of every error a user must act on."""

    status: int = 500
    exit_code: int = 1


class UsageError(CorpuscopeError):
    """The request or the command line asks for something that cannot be done as asked."""

    status = 422
    exit_code = 2


class QueryError(UsageError):
    """A query, passage or parameter the questions refuse (too long, empty, unrunnable)."""


class SourceRefused(UsageError):
    """The input is of a kind corpuscope does not ingest (for example a WAT file)."""


class NotFound(CorpuscopeError):
    """No such corpus, document, table or key."""

    status = 404
    exit_code = 2


class NoStatistics(NotFound):
    """A corpus or table without published statistics."""


class NotReady(CorpuscopeError):
    """A corpus that exists lacks a step the question needs; the message gives the command
    that runs it (never an empty answer over data not searched)."""

    status = 409
    exit_code = 2


class NotIndexed(NotReady):
    """The corpus is not indexed yet (`corpuscope index --corpus NAME`)."""


class NotScanned(NotReady):
    """Identifiers were asked about in a corpus not scanned for personal data yet
    (`corpuscope scan --corpus NAME`)."""


class StoreError(CorpuscopeError):
    """A problem with the data directory that the user must act on."""

    status = 503
    exit_code = 2


class CorpusLocked(StoreError):
    """Another process is writing this corpus."""

    status = 409


class Damaged(StoreError):
    """A file of the data directory does not match what was recorded (run `verify --repair`)."""


class ShardFailure(CorpuscopeError):
    """A shard could not be read to its end (truncated or corrupt archive, unreadable file)."""

    status = 422
    exit_code = 1


class WorkerDied(CorpuscopeError):
    """A worker process died while running a task (killed, out of memory)."""

    status = 500
    exit_code = 1


class QueryTimeout(CorpuscopeError):
    """A query ran past `query_timeout`."""

    status = 503
    exit_code = 1
