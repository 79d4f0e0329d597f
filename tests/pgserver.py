"""A private PostgreSQL server for the tests, from the Debian packages: initdb and pg_ctl in a temporary folder on a
free port, listening on 127.0.0.1 only (as the LibreOffice tests start their own soffice). As root, initdb refuses
to run: the server then runs as the `postgres` user in a folder it owns."""

from __future__ import annotations

import os
import pwd
import secrets
import shlex
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

BIN = Path(os.environ.get("XLKIT_PG_BIN", "/usr/lib/postgresql/15/bin"))
USER = "xlkit"


def available() -> str:
    """'' when a server can be started here, else why not."""
    if not (BIN / "initdb").is_file():
        return f"PostgreSQL 未安装（{BIN}/initdb 不存在；apt-get install postgresql）"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "以 root 运行而没有 postgres 用户"
    return ""


def required() -> PgServer:
    """A private server started now; a test that needs one skips without it, or fails when CI=true."""
    import pytest

    why = available()
    if why:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and no PostgreSQL: {why}")
        pytest.skip(why)
    return PgServer()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PgServer:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="xlkit-pg-"))
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        data = self.root / "data"
        self._run([str(BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8", "--locale=C.UTF-8"])
        self.ctl = [str(BIN / "pg_ctl"), "-D", str(data)]
        self.start()
        # pg_ctl detaches the server: a watcher stops it (and removes its folder) once this process is gone, even killed
        watch = (f"while kill -0 {os.getpid()} 2>/dev/null; do sleep 1; done; "
                 f"{shlex.join([*self.as_user, *self.ctl, '-m', 'immediate', 'stop'])}; rm -rf {shlex.quote(str(self.root))}")
        subprocess.Popen(["sh", "-c", watch], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.database = "xlkit"
        self._run([str(BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, self.database])

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off"
        self._run([*self.ctl, "-o", options, "-l", str(self.root / "log"), "-w", "-t", "60", "start"])

    def halt(self) -> None:
        """Gone at once, as a crashed or unplugged server (its data kept for `start`)."""
        self._run([*self.ctl, "-m", "immediate", "-w", "stop"])

    def _run(self, command: list[str]) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True, timeout=120, cwd=self.root)

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{self.database}"

    def stop(self) -> None:
        subprocess.run([*self.as_user, *self.ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60, cwd=self.root)
        shutil.rmtree(self.root, ignore_errors=True)

    def schema(self) -> str:
        return f"t_{secrets.token_hex(6)}"
