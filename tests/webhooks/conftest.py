"""A real webhook receiver: http.server on loopback, in a thread, checking signatures with
the reference signature_verify() exactly as the documentation tells receivers to."""

import http.server
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from vestibule.webhooks.signing import HEADER, signature_verify


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Receiver:
    """The organisation's system: accepts a delivery only when its signature holds now."""

    def __init__(self, secret: str = "") -> None:
        self.secret = secret
        self.port = _free_port()
        self.skew = 0  # seconds added to the receiver's clock ("later")
        self.accepted: list[dict] = []
        self.refused: list[bytes] = []
        self.raw: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        self.server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/vestibule"

    def start(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                now = int(time.time()) + receiver.skew
                valid = signature_verify(receiver.secret, self.headers.get(HEADER, ""), body, now)
                with receiver.lock:
                    receiver.raw.append((dict(self.headers), body))
                    if valid:
                        receiver.accepted.append(json.loads(body))
                    else:
                        receiver.refused.append(body)
                self.send_response(204 if valid else 400)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def kinds(self) -> list[str]:
        with self.lock:
            return [event["kind"] for event in self.accepted]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    receiver.start()
    yield receiver
    receiver.stop()
