"""A kernel websocket connection for the demo's JupyterLab and Voilà that stays quiet when a tab closes.

jupyter_server forwards every kernel message with tornado's `write_message` and never looks at the
future it returns. While a browser keeps up, those futures finish at once. When it falls behind (a
studio streaming pictures), the messages queue in tornado; when the tab then closes, every queued
write fails with `WebSocketClosedError`, and asyncio logs "Task exception was never retrieved" with a
traceback for each one: about 29,000 tracebacks (21 MB) were seen after one closed tab. This class
consumes those failures and says once per connection that the browser left. The server then buffers
the kernel's further messages for a reconnecting page, as it always does.

Server side only: the demo names it with `--ServerApp.kernel_websocket_connection_class` (Lab) or
`--Voila.kernel_websocket_connection_class`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado.websocket import WebSocketClosedError


class QuietKernelWebsocketConnection(ZMQChannelsWebsocketConnection):  # type: ignore[misc]
    """Forwards kernel messages like its parent; a browser that has gone costs one log line, not one
    traceback per message that was still on its way."""

    _told_gone = False

    @property
    def write_message(self) -> Callable[..., Any]:
        return self._write_message

    def _write_message(self, message: bytes | str | dict[str, Any], binary: bool = False) -> Any:
        try:
            written = self.websocket_handler.write_message(message, binary=binary)
        except WebSocketClosedError:
            self._browser_gone()
            return None
        if isinstance(written, asyncio.Future):
            written.add_done_callback(self._settle)
        return written

    def _settle(self, written: asyncio.Future[Any]) -> None:
        if written.cancelled():
            return
        error = written.exception()  # retrieving it is what keeps asyncio from logging it
        if isinstance(error, WebSocketClosedError):
            self._browser_gone()
        elif error is not None:
            self.log.error("Sending a kernel message to the browser failed", exc_info=error)

    def _browser_gone(self) -> None:
        if not self._told_gone:
            self._told_gone = True
            self.log.info(
                "The browser of kernel %s went away with messages still unsent; they are dropped.",
                self.kernel_id,
            )


__all__ = ["QuietKernelWebsocketConnection"]
