"""The dashboard server: Voilà, hardened for visitors (``make dashboard`` runs ``python -m deletionlab.serving``).

:class:`DashboardServer` is ``voila.app.Voila`` with these differences, all about what a visitor of
a public dashboard may see or do:

* **No listing.** ``/voila/api/contents`` (a JSON listing of the notebooks, marked writable) is not
  served: the home page links to every dashboard, nothing else needs it.
* **Odd paths are answered 400/404, never 500**: a NUL or control character in a path (400),
  an unknown template file, ``/login`` and ``/logout`` (no login exists) (404).
* **No tracebacks to visitors.** Kernel messages that carry tracebacks or stderr text (``error``,
  ``stream`` to stderr — e.g. ipykernel logging a malformed ``comm_open``) are not forwarded over
  the websocket; they stay in the server log.
* **Kernels end with their page.** The render page sets the ``_xsrf`` cookie, so the page's
  shutdown request on unload is accepted instead of refused (403) — see ``docs/decisions.md``.

Everything else is Voilà's own: the configuration in ``voila.json`` (repository root), our template in
``share/jupyter/voila/templates/deletionlab``. This module is server code: it never imports
ipywidgets or IPython.
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

#: characters no file name of ours contains; a path with one is a malformed request (400)
_BAD_PATH = re.compile(r"[\x00-\x1f\x7f]")


def _make_classes():
    """Build the handler and app classes (imports voila only when the server starts)."""
    import tornado.web
    from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1
    from voila.app import Voila
    from voila.static_file_handler import TemplateStaticFileHandler
    from voila.tornado.handler import TornadoVoilaHandler
    from voila.tornado.kernel_websocket_handler import VoilaKernelWebsocketHandler

    class NotFound(tornado.web.RequestHandler):
        def prepare(self) -> None:
            raise tornado.web.HTTPError(404)

    class SafeTemplateStatic(TemplateStaticFileHandler):
        """Template static files; anything malformed or unknown is a 404, not a 500."""

        def parse_url_path(self, path: str) -> str:
            if _BAD_PATH.search(path) or path.count("/") < 2 or path.split("/", 2)[1] != "static":
                raise tornado.web.HTTPError(404)
            return super().parse_url_path(path)

    class RenderHandler(TornadoVoilaHandler):
        """Voilà's render page; rejects malformed paths and sets the _xsrf cookie for the unload shutdown."""

        async def get(self, path: str | None = None, *args: Any, **kwargs: Any):
            if _BAD_PATH.search(path or ""):
                raise tornado.web.HTTPError(400, "malformed path")
            self.xsrf_token  # noqa: B018 - reading it sets the _xsrf cookie that the page's requests echo
            return await super().get(path, *args, **kwargs)

    class QuietWebsocket(VoilaKernelWebsocketHandler):
        """Forwards kernel messages to the page, except the ones that carry tracebacks or stderr."""

        def write_message(self, message, binary: bool = False):
            if _carries_traceback(message, deserialize_msg_from_ws_v1):
                return None
            return super().write_message(message, binary)

    class DashboardServer(Voila):
        """Voilà with the visitor-facing differences listed in :mod:`deletionlab.serving`."""

        name = "voila"  # reads voila.json / voila config files like plain Voilà

        def init_handlers(self) -> list:
            handlers = []
            for h in super().init_handlers():
                pattern, cls = h[0], h[1]
                if "/voila/api/contents" in pattern:
                    continue  # no listing
                if cls is TemplateStaticFileHandler:
                    h = (pattern, SafeTemplateStatic, *h[2:])
                elif pattern.endswith("/voila/render/(.*)"):
                    h = (pattern, RenderHandler, *h[2:])
                elif cls is VoilaKernelWebsocketHandler:
                    h = (pattern, QuietWebsocket, *h[2:])
                handlers.append(h)
            guards = [(self.server_url.rstrip("/") + p, NotFound) for p in ("/login", "/logout", "/voila/api/contents.*")]
            return guards + handlers

    return DashboardServer


def _carries_traceback(message: Any, deserialize) -> bool:
    """Whether a kernel message sent to a visitor would carry a traceback or stderr text."""
    try:
        if isinstance(message, bytes):
            _channel, parts = deserialize(message)
            header, content = json.loads(parts[0]), json.loads(parts[3])
        else:
            msg = json.loads(message) if isinstance(message, str) else message
            header, content = msg.get("header", {}), msg.get("content", {})
    except Exception:  # noqa: BLE001 - a message we cannot read is passed on as Voilà would
        return False
    kind = (header or {}).get("msg_type")
    if kind == "error":
        return True
    if kind == "stream" and (content or {}).get("name") == "stderr":
        return True
    return kind == "execute_reply" and (content or {}).get("status") == "error"


def main(argv: list[str] | None = None) -> None:
    """``python -m deletionlab.serving NOTEBOOKS_DIR [voila options]`` (what ``make dashboard`` runs)."""
    server = _make_classes()
    server.launch_instance(argv=sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    main()
