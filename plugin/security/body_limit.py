"""Request bodies without a Content-Length (chunked transfer) are held to the same size limit.

Werkzeug enforces MAX_CONTENT_LENGTH on such a stream only on the read *after* the limit: a single
`read()` returns the first `limit` bytes and stops, so a handler would silently see a truncated body.
This WSGI middleware buffers a chunked body up to one byte past the limit before the app sees it and
presents it with a Content-Length, so the ordinary check answers 413 and handlers read whole bodies.
Only servers that terminate the input stream (`wsgi.input_terminated`: werkzeug, gunicorn) give a
chunked body to the app at all; without that flag the body is left alone (werkzeug reads it as empty).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def buffer_chunked_body(environ: dict[str, Any], limit: int) -> None:
    """Give a chunked request body a Content-Length, read up to one byte past `limit`."""
    if environ.get("CONTENT_LENGTH") in (None, "") and environ.get("wsgi.input_terminated"):
        stream = environ["wsgi.input"]
        wanted = limit + 1
        chunks: list[bytes] = []
        size = 0
        while size < wanted:
            chunk = stream.read(min(65536, wanted - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        body = b"".join(chunks)
        environ["wsgi.input"] = io.BytesIO(body)
        # One byte over the limit is enough for the app's size check to answer 413.
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)


class ChunkedBodyLimit:
    def __init__(self, app: WsgiApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        buffer_chunked_body(environ, self.limit)
        return self.app(environ, start_response)
