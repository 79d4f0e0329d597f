"""The ledger's operations on received files' bytes kept in the database (`--blobs database`): one row per sha256,
written whole in one transaction. The store's policy (hashing, healing, what verify says) is `campaign.blobs`'s."""

from __future__ import annotations

from .backend import Backend

# a stored copy that differs from these bytes (damaged) is replaced by them; an intact one is left as it is
PUT = ("INSERT INTO blob_data(sha256, data) VALUES (?, ?) ON CONFLICT(sha256) DO UPDATE SET data = excluded.data "
       "WHERE blob_data.data <> excluded.data")


class BlobDataOps:
    _db: Backend

    def put_blob_data(self, sha256: str, data: bytes) -> bool:
        """The bytes stored under their sha256 (the caller hashed them); True when a row was written or healed."""
        with self._db.transaction():
            return self._db.run(PUT, (sha256, data)) > 0

    def blob_data(self, sha256: str) -> bytes | None:
        found = self._db.value("SELECT data FROM blob_data WHERE sha256 = ?", (sha256,))
        return bytes(found) if found is not None else None

    def blobs_in_database(self) -> bool:
        """Whether this campaign keeps received files' bytes in its database (its location says `blobs: database`)."""
        where = getattr(self._db, "location", None)
        return getattr(where, "blobs", "folder") == "database"
