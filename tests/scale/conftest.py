"""The scale-out tests use the storage tests' throw-away PostgreSQL cluster (one per session)."""

from __future__ import annotations

from tests.storage.conftest import postgres_cluster

__all__ = ["postgres_cluster"]
