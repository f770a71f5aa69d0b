"""A threaded WSGI HTTP server that honours ``DroppedConnection`` (close with no bytes)."""

from __future__ import annotations

import socket
import socketserver
from typing import Any
from wsgiref.simple_server import ServerHandler, WSGIRequestHandler, WSGIServer

from .http import DroppedConnection


class _Handler(ServerHandler):
    dropped = False
    environ: dict[str, Any]

    def run(self, application: Any) -> None:
        try:
            self.setup_environ()
            self.result = application(self.environ, self.start_response)
            self.finish_response()
        except DroppedConnection:
            self.dropped = True
        except (ConnectionError, OSError):
            pass
        except Exception:  # pragma: no cover - same behaviour as wsgiref
            try:
                self.handle_error()
            except Exception:
                self.close()
                raise


class _RequestHandler(WSGIRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def handle(self) -> None:
        self.raw_requestline = self.rfile.readline(65537)
        if len(self.raw_requestline) > 65536:
            self.send_error(414)
            return
        if not self.parse_request():
            return
        handler = _Handler(
            self.rfile,
            self.wfile,  # type: ignore[arg-type]
            self.get_stderr(),
            self.get_environ(),
            multithread=True,
        )
        handler.request_handler = self  # type: ignore[attr-defined]
        handler.run(self.server.get_app())  # type: ignore[attr-defined]
        if handler.dropped:
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def make_server(host: str, port: int, app: Any) -> ThreadingWSGIServer:
    server = ThreadingWSGIServer((host, port), _RequestHandler)
    server.set_app(app)
    return server
