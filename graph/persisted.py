"""Automatic Persisted Queries, as Apollo clients speak them.

A client sends `extensions: {"persistedQuery": {"version": 1, "sha256Hash": H}}`:
- without `query`: a known H runs the stored query; an unknown one answers the error
  `PersistedQueryNotFound` (code `PERSISTED_QUERY_NOT_FOUND`, HTTP 200), upon which the client
  sends the hash again with the full query;
- with `query`: sha256(query) must equal H (else `provided sha does not match query`, HTTP
  400); the query runs and, once it has parsed and validated, is stored under H.

The store is a bounded in-process LRU: each server process (worker) learns hashes on its own,
which Apollo clients handle by the same retry with the full query. It is not shared through the
database on purpose: a lookup costs no round-trip, and a restart merely costs one retry per
query. A store of size 0 turns persisted queries off (`PERSISTED_QUERY_NOT_SUPPORTED`).
"""

import hashlib
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLError

APQ_VERSION = 1
MAX_STORED_QUERY_LENGTH = 100_000  # characters; a longer query runs but is not kept
_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


class PersistedQueryError(Exception):
    """A persisted-query request that cannot run; `status` is the HTTP status to answer."""

    def __init__(self, message: str, code: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def graphql_error(self) -> GraphQLError:
        # The retry signals carry only the code, exactly as Apollo servers send them.
        extensions: dict[str, object] = {"code": self.code}
        if self.status != 200:
            extensions["status"] = self.status
        return GraphQLError(self.message, extensions=extensions)


def not_found() -> PersistedQueryError:
    return PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", 200)


def not_supported() -> PersistedQueryError:
    return PersistedQueryError("PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", 200)


def invalid(message: str) -> PersistedQueryError:
    return PersistedQueryError(message, "PERSISTED_QUERY_INVALID", 400)


def sha256_hex(query: str) -> str:
    return hashlib.sha256(query.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Resolved:
    """The query to run, and the hash to store it under once it validated (None: nothing to
    store, because it came from the store or the request is not a persisted query)."""

    query: str | None
    register_hash: str | None = None


class PersistedQueries:
    """The bounded store and the request rules around it."""

    def __init__(self, max_size: int) -> None:
        self.max_size = max_size
        self._queries: OrderedDict[str, str] = OrderedDict()

    def __len__(self) -> int:
        return len(self._queries)

    def get(self, sha256: str) -> str | None:
        query = self._queries.get(sha256)
        if query is not None:
            self._queries.move_to_end(sha256)
        return query

    def put(self, sha256: str, query: str) -> None:
        if self.max_size <= 0 or len(query) > MAX_STORED_QUERY_LENGTH:
            return
        self._queries[sha256] = query
        self._queries.move_to_end(sha256)
        while len(self._queries) > self.max_size:
            self._queries.popitem(last=False)

    def resolve(self, query: str | None, extensions: dict[str, Any] | None) -> Resolved:
        """Apply the APQ rules to one operation of a request; raises PersistedQueryError."""
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return Resolved(query)
        if self.max_size <= 0:
            raise not_supported()
        if not isinstance(persisted, dict):
            raise invalid("extensions.persistedQuery must be an object")
        version = persisted.get("version")
        if version != APQ_VERSION or isinstance(version, bool):
            raise invalid(f"Unsupported persisted query version (only {APQ_VERSION} is known)")
        sha256 = persisted.get("sha256Hash")
        if not isinstance(sha256, str) or not _SHA256_HEX.fullmatch(sha256):
            raise invalid("extensions.persistedQuery.sha256Hash must be 64 hexadecimal digits")
        sha256 = sha256.lower()
        if query is None:
            stored = self.get(sha256)
            if stored is None:
                raise not_found()
            return Resolved(stored)
        if sha256_hex(query) != sha256:
            raise PersistedQueryError(
                "provided sha does not match query", "PERSISTED_QUERY_HASH_MISMATCH", 400
            )
        return Resolved(query, register_hash=sha256)
