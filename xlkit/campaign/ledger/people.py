"""The ledger's operations on officers, the audit trail and the mail queue (schema 3). Accounts change (a new
password, disabled) but every change is also a line of the trail, which is only ever added to; a mail row records
its attempts and outcome, each failure a row of its own. A read-only ledger of an earlier schema has none of these
tables: reading them gives nothing."""

from __future__ import annotations

import json
from collections.abc import Iterable

from .access import META_UPSERT
from .backend import Backend
from .records import Account, AuditEntry, Mail

ACCOUNT = "login, name, role, department, generation, disabled, created_at"
AUDIT = "id, at, kind, login, name, role, address, unit_code, receipt, action, text"
MAIL = "id, created_at, kind, unit_code, recipient, subject, body, attachments, attempts, next_at, sent_at, outcome"


def _account(row: tuple[object, ...]) -> Account:
    login, name, role, department, generation, disabled, created = row
    return Account(str(login), str(name), str(role), str(department), int(str(generation)), bool(disabled), str(created))


def _mail(row: tuple[object, ...]) -> Mail:
    mid, created, kind, unit, to, subject, body, files, attempts, next_at, sent, outcome = row
    return Mail(int(str(mid)), str(created), str(kind), str(unit), str(to), str(subject), str(body), tuple(json.loads(str(files))),
                int(str(attempts)), float(str(next_at)), None if sent is None else str(sent), str(outcome))


class PeopleOps:
    _db: Backend
    _tables: set[str]

    def set_meta(self, key: str, value: str) -> None:
        """A setting an officer changes (review, mail); the caller records it in the trail."""
        with self._db.transaction():
            self._db.run(META_UPSERT, (key, value))

    # -------------------------------------------------------------- accounts
    def accounts(self) -> list[Account]:
        if "accounts" not in self._tables:
            return []
        return [_account(r) for r in self._db.rows(f"SELECT {ACCOUNT} FROM accounts ORDER BY created_at, login")]

    def account(self, login: str) -> Account | None:
        if "accounts" not in self._tables:
            return None
        row = self._db.row(f"SELECT {ACCOUNT} FROM accounts WHERE login = ?", (login,))
        return _account(row) if row else None

    def account_hash(self, login: str) -> str:
        """The scrypt hash of a live account's password; "" for an unknown or disabled one."""
        if "accounts" not in self._tables:
            return ""
        return str(self._db.value("SELECT password FROM accounts WHERE login = ? AND disabled = 0", (login,), ""))

    def add_account(self, account: Account, password: str, entry: AuditEntry) -> bool:
        """False when the login is taken (nothing written)."""
        with self._db.transaction():
            added = self._db.run("INSERT INTO accounts(login, name, role, department, password, generation, disabled, created_at) "
                                 "VALUES (?, ?, ?, ?, ?, 0, 0, ?) ON CONFLICT DO NOTHING",
                                 (account.login, account.name, account.role, account.department, password, account.created_at))
            if added:
                self.add_audit(entry)
        return bool(added)

    def set_account_password(self, login: str, password: str, stamp: float, entry: AuditEntry) -> None:
        """A new password: the account's generation moves on and its open sessions end ("password")."""
        with self._db.transaction():
            self._db.run("UPDATE accounts SET password = ?, generation = generation + 1, disabled = 0 WHERE login = ?", (password, login))
            self._db.run("UPDATE sessions SET ended = ?, ended_why = 'password' WHERE account = ? AND ended IS NULL", (stamp, login))
            self.add_audit(entry)

    def disable_account(self, login: str, stamp: float, entry: AuditEntry) -> None:
        with self._db.transaction():
            self._db.run("UPDATE accounts SET disabled = 1 WHERE login = ?", (login,))
            self._db.run("UPDATE sessions SET ended = ?, ended_why = 'disabled' WHERE account = ? AND ended IS NULL", (stamp, login))
            self.add_audit(entry)

    def add_officer_session(self, digest: str, login: str, address: str, stamp: float) -> None:
        """A session bound to the account's present password generation."""
        with self._db.transaction():
            generation = self._db.value("SELECT generation FROM accounts WHERE login = ?", (login,), 0)
            self._db.run("INSERT INTO sessions(digest, account, address, generation, created, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
                         (digest, login, address, generation, stamp, stamp))

    def reviewed_departments(self) -> set[str]:
        """The departments with at least one live officer account: these review their units first."""
        if "accounts" not in self._tables:
            return set()
        return {str(d) for (d,) in self._db.rows("SELECT DISTINCT department FROM accounts WHERE role = 'department' AND disabled = 0")}

    # -------------------------------------------------------------- the trail
    def add_audit(self, entry: AuditEntry) -> int:
        e = entry
        with self._db.transaction():
            return self._db.insert("INSERT INTO audit(at, kind, login, name, role, address, unit_code, receipt, action, text) "
                                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                                   (e.at, e.kind, e.login, e.name, e.role, e.address, e.unit_code, e.receipt, e.action, e.text))

    def audit(self, unit_code: str | None = None) -> list[AuditEntry]:
        if "audit" not in self._tables:
            return []
        where, params = ("WHERE unit_code = ?", (unit_code,)) if unit_code is not None else ("", ())
        return [AuditEntry(int(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), str(r[5]), str(r[6]), str(r[7]),
                           None if r[8] is None else int(r[8]), None if r[9] is None else int(r[9]), str(r[10]))
                for r in self._db.rows(f"SELECT {AUDIT} FROM audit {where} ORDER BY id", params)]

    # -------------------------------------------------------------- e-mail
    def unit_emails(self) -> dict[str, str]:
        if "unit_emails" not in self._tables:
            return {}
        return {str(code): str(email) for code, email in self._db.rows("SELECT unit_code, email FROM unit_emails")}

    def put_unit_emails(self, emails: Iterable[tuple[str, str]]) -> None:
        with self._db.transaction():
            self._db.run_many("INSERT INTO unit_emails(unit_code, email) VALUES (?, ?) "
                              "ON CONFLICT(unit_code) DO UPDATE SET email = excluded.email", list(emails))

    def queue_mail(self, mail: Mail) -> int:
        m = mail
        with self._db.transaction():
            return self._db.insert("INSERT INTO mail(created_at, kind, unit_code, recipient, subject, body, attachments, attempts, "
                                   "next_at, sent_at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, NULL, '')",
                                   (m.created_at, m.kind, m.unit_code, m.recipient, m.subject, m.body,
                                    json.dumps(list(m.attachments), ensure_ascii=False), m.next_at))

    def mails(self, pending_only: bool = False) -> list[Mail]:
        if "mail" not in self._tables:
            return []
        where = "WHERE outcome = ''" if pending_only else ""
        return [_mail(r) for r in self._db.rows(f"SELECT {MAIL} FROM mail {where} ORDER BY id")]

    def take_mail(self, mail_id: int, stamp: float, hold: float) -> bool:
        """Claims a pending message due by `stamp` for one sender: its next try moves `hold` seconds on, so that a
        second sender (the server and `xlkit mail send` at once) passes it by."""
        with self._db.transaction():
            return self._db.run("UPDATE mail SET next_at = ? WHERE id = ? AND outcome = '' AND next_at <= ?",
                                (stamp + hold, mail_id, stamp)) == 1

    def mail_sent(self, mail_id: int, stamp: str, outcome: str) -> None:
        with self._db.transaction():
            self._db.run("UPDATE mail SET sent_at = ?, outcome = ?, attempts = attempts + 1 WHERE id = ?", (stamp, outcome, mail_id))

    def mail_failed(self, mail_id: int, stamp: str, error: str, next_at: float, give_up: bool) -> None:
        with self._db.transaction():
            self._db.run("INSERT INTO mail_failures(mail, at, error) VALUES (?, ?, ?)", (mail_id, stamp, error))
            self._db.run("UPDATE mail SET attempts = attempts + 1, next_at = ?, outcome = ? WHERE id = ?",
                         (next_at, "given-up" if give_up else "", mail_id))

    def mail_failures(self, mail_id: int | None = None) -> list[tuple[int, str, str]]:
        """(mail, at, error) of each failed try, oldest first."""
        if "mail_failures" not in self._tables:
            return []
        where, params = ("WHERE mail = ?", (mail_id,)) if mail_id is not None else ("", ())
        return [(int(m), str(at), str(err)) for m, at, err in self._db.rows(f"SELECT mail, at, error FROM mail_failures {where} ORDER BY id",
                                                                              params)]
