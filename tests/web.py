"""Helpers of the web tests: a campaign with links and a password, the app served by a real waitress on 127.0.0.1,
and a small HTTP client that keeps cookies and shows redirects instead of following them."""

from __future__ import annotations

import http.client
import http.cookies
import re
import threading
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

PASSWORD = "bureau-pass-2019"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def csrf(self) -> str:
        found = re.search(r'name="csrf" value="([^"]+)"', self.text)
        assert found, "no CSRF field on the page"
        return found.group(1)


class Client:
    """One browser's worth of state: cookies. Every request goes over a real socket to the server."""

    def __init__(self, port: int):
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Response:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        connection.request(method, path, body=body, headers=sent)
        raw = connection.getresponse()
        data = raw.read()
        set_cookies = raw.headers.get_all("Set-Cookie") or []
        for line in set_cookies:
            cookie = http.cookies.SimpleCookie(line)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        connection.close()
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data, set_cookies)

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, fields: dict[str, str], files: dict[str, tuple[str, bytes]] | None = None) -> Response:
        """A form as a browser sends it: multipart with files, else urlencoded."""
        if files:
            body, content_type = multipart(fields, files)
        else:
            body, content_type = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.request("POST", path, body, {"Content-Type": content_type})


def multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, data) in files.items():
        head = (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                "Content-Type: application/octet-stream\r\n\r\n").encode()
        parts.append(head + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Served:
    """The app on a free port of 127.0.0.1 in a background thread, served as `xlkit serve` serves it (`options`:
    its server settings); `close()` stops it."""

    def __init__(self, app: Any, **options: Any):
        from xlkit.web.serving import create_server

        self.server = create_server(app, host="127.0.0.1", port=0, **{"threads": 8, **options})
        self.port = int(self.server.effective_port)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        """waitress's own loop, a turn at a time, so that it ends before its sockets are closed (closing them under
        a running select made it fail with a bad file descriptor in its thread)."""
        from waitress import wasyncore

        while not self.stopping.is_set():
            wasyncore.loop(timeout=0.05, map=self.server._map, use_poll=True, count=1)

    def close(self) -> None:
        from waitress import wasyncore

        self.stopping.set()
        self.thread.join(timeout=10)
        self.server.task_dispatcher.shutdown()
        wasyncore.close_all(self.server._map)


def token_of(link: str) -> str:
    return link.rsplit("/u/", 1)[1]


def upload(client: Client, token: str, name: str, data: bytes) -> Response:
    page = client.get(f"/u/{token}")
    return client.post(f"/u/{token}/upload", {"csrf": page.csrf()}, {"file": (name, data)})


def login(client: Client, password: str = PASSWORD) -> Response:
    page = client.get("/admin/login")
    return client.post("/admin/login", {"csrf": page.csrf(), "password": password})


def receipt_of(response: Response) -> int:
    location = response.headers.get("location", "")
    found = re.search(r"\?r=(\d+)", location)
    assert found, (response.status, location)
    return int(found.group(1))



def raw(port: int, data: bytes, timeout: float = 10) -> Response:
    """Bytes sent as they are (no client's manners) and the answer read to the connection's end."""
    import socket

    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        chunks: list[bytes] = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(int(lines[0].split()[1]), headers, body)
