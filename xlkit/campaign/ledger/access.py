"""The ledger's operations on who may reach a campaign: link tokens (by digest), the bureau's password, login
attempts and sessions. The rules (how long to wait, when a session ends) are `campaign.access`'s; these only read and
write the rows, inside the caller's transaction where a rule reads before it writes."""

from __future__ import annotations

from collections.abc import Iterable

from .backend import Backend
from .records import Attempts, Session

PASSWORD, GENERATION = "admin_password", "password_generation"
META_UPSERT = "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"


class AccessOps:
    _db: Backend

    def issue_tokens(self, digests: Iterable[tuple[str, str]], stamp: str) -> None:
        """A new token (unit code, digest) for each unit; the unit's earlier tokens are revoked with it."""
        with self._db.transaction():
            for code, digest in digests:
                self._db.run("UPDATE tokens SET revoked_at = ? WHERE unit_code = ? AND revoked_at IS NULL", (stamp, code))
                self._db.run("INSERT INTO tokens(unit_code, digest, issued_at) VALUES (?, ?, ?)", (code, digest, stamp))

    def revoke_tokens(self, codes: list[str], stamp: str) -> int:
        with self._db.transaction():
            marks = ",".join("?" * len(codes))
            return self._db.run(f"UPDATE tokens SET revoked_at = ? WHERE revoked_at IS NULL AND unit_code IN ({marks})", (stamp, *codes))

    def live_token(self, digest: str) -> tuple[str, str] | None:
        """(unit code, digest) of a live token looked up by its digest."""
        row = self._db.row("SELECT unit_code, digest FROM tokens WHERE digest = ? AND revoked_at IS NULL", (digest,))
        return (str(row[0]), str(row[1])) if row else None

    def password_hash(self) -> str:
        return str(self._db.value("SELECT value FROM meta WHERE key = ?", (PASSWORD,), ""))

    def password_generation(self) -> int:
        return int(self._db.value("SELECT value FROM meta WHERE key = ?", (GENERATION,), 0))

    def set_password_hash(self, stored: str, stamp: float) -> None:
        """A new password: its generation moves on and every session still open ends ("password")."""
        with self._db.transaction():
            generation = self.password_generation() + 1
            self._db.run_many(META_UPSERT, [(PASSWORD, stored), (GENERATION, str(generation))])
            self._db.run("UPDATE sessions SET ended = ?, ended_why = 'password' WHERE ended IS NULL", (stamp,))

    def login_attempts(self, account: str, address: str) -> Attempts:
        row = self._db.row("SELECT failures, next_at FROM login_attempts WHERE account = ? AND address = ?", (account, address))
        return Attempts(int(row[0]), float(row[1])) if row else Attempts(0, 0.0)

    def put_login_attempts(self, account: str, attempts: dict[str, Attempts]) -> None:
        with self._db.transaction():
            self._db.run_many("INSERT INTO login_attempts(account, address, failures, next_at) VALUES (?, ?, ?, ?) "
                              "ON CONFLICT(account, address) DO UPDATE SET failures = excluded.failures, next_at = excluded.next_at",
                              [(account, key, a.failures, a.next_at) for key, a in attempts.items()])

    def forget_login(self, account: str, address: str, one_less: str) -> None:
        """`address` starts afresh; `one_less` (the account's overall key) loses one failure."""
        with self._db.transaction():
            self._db.run("DELETE FROM login_attempts WHERE account = ? AND address = ?", (account, address))
            self._db.run("UPDATE login_attempts SET failures = CASE WHEN failures > 0 THEN failures - 1 ELSE 0 END "
                         "WHERE account = ? AND address = ?", (account, one_less))

    def add_session(self, digest: str, account: str, address: str, stamp: float) -> None:
        with self._db.transaction():
            self._db.run("INSERT INTO sessions(digest, account, address, generation, created, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                         (digest, account, address, self.password_generation(), stamp, stamp))

    def session(self, digest: str) -> Session | None:
        row = self._db.row("SELECT account, generation, last_seen, ended, ended_why FROM sessions WHERE digest = ?", (digest,))
        return Session(str(row[0]), int(row[1]), float(row[2]), row[3], str(row[4])) if row else None

    def mark_session(self, digest: str, last_seen: float, ended: float | None, why: str) -> None:
        with self._db.transaction(durable=ended is not None):  # a session's last use may be lost; its end may not
            self._db.run("UPDATE sessions SET last_seen = ?, ended = ?, ended_why = ? WHERE digest = ?", (last_seen, ended, why, digest))

    def end_session(self, digest: str, why: str, stamp: float) -> None:
        with self._db.transaction():
            self._db.run("UPDATE sessions SET ended = ?, ended_why = ? WHERE digest = ? AND ended IS NULL", (stamp, why, digest))
            self._db.run("DELETE FROM session_links WHERE session = ?", (digest,))

    def keep_session_link(self, digest: str, sealed: bytes) -> None:
        """A session's new link, sealed, until its next page takes it (a newer one replaces it)."""
        with self._db.transaction():
            self._db.run("INSERT INTO session_links(session, sealed) VALUES (?, ?) ON CONFLICT(session) DO UPDATE SET sealed = excluded.sealed",
                         (digest, sealed))

    def take_session_link(self, digest: str) -> bytes | None:
        """The sealed link, removed as it is read: shown once."""
        with self._db.transaction():
            found = self._db.value("SELECT sealed FROM session_links WHERE session = ?", (digest,))
            self._db.run("DELETE FROM session_links WHERE session = ?", (digest,))
        return bytes(found) if found is not None else None
