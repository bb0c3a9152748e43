"""What the local fake servers share: a threaded HTTP server on 127.0.0.1 that the real SDKs
are pointed at, started and stopped by the tests' fixtures."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalFakeServer:
    """Subclasses answer each request in `_handle`; `url` is the SDK's base URL."""

    def __init__(self) -> None:
        self._stopping = threading.Event()  # wakes handlers sleeping in a delay
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> Self:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive (the SDKs pool connections), chunking
            # Headers and body go out in separate writes; with Nagle on, the body waits for the
            # client's delayed ACK (40 ms on Linux), which would swamp every latency figure.
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                fake._handle(self)

            def do_GET(self) -> None:
                fake._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet test output

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.block_on_close = False
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        raise NotImplementedError
