"""The inventory store (SQLite or PostgreSQL, chosen by URL)."""

from itaudit.store.store import HostRow, ReportMeta, Store, open_store, to_naive_utc, utcnow

__all__ = ["HostRow", "ReportMeta", "Store", "open_store", "to_naive_utc", "utcnow"]
