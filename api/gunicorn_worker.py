"""The gunicorn worker of `isoflow serve` (and `gunicorn -k api.gunicorn_worker.IsoflowWorker`).

gunicorn's threaded worker with two changes at the edge:

- Requests gunicorn refuses itself, before the application sees them (request line too
  long: 414, header too large: 431, malformed request line or header: 400), are
  answered as problem+json with Vietnamese and English messages, like every other
  error of the API, instead of gunicorn's HTML page.
- The worker follows its master: when the master dies (even by kill -9) it stops
  listening at once, so a new server can bind the same port immediately, finishes
  the requests in flight and exits. Linux tells it through PR_SET_PDEATHSIG; gunicorn's
  own check of the parent pid (every second) is the fallback.
"""
from __future__ import annotations

import json
import os
import signal

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from engine.scheduler.embedded import set_parent_death_signal

PROBLEM_JSON = "application/problem+json"

# gunicorn's status -> (code, Vietnamese message, English message, hint)
PROTOCOL_PROBLEMS = {
    414: ("uri_too_long", "Địa chỉ (URL) quá dài.", "The request line (URL) is too long.",
          "send long search criteria in fewer or shorter parameters"),
    431: ("header_too_large", "Tiêu đề (header) của yêu cầu quá lớn.", "A request header is too large, or there are too many.",
          "send fewer or smaller headers (cookies included)"),
    400: ("bad_request", "Yêu cầu HTTP không hợp lệ.", "The HTTP request is malformed.",
          "send a well-formed HTTP/1.1 request"),
}


def problem_bytes(status: int, reason: str, detail: str) -> bytes:
    """A complete HTTP/1.1 problem+json response for a request gunicorn refused."""
    code, message_vi, message_en, hint = PROTOCOL_PROBLEMS.get(
        status, ("http_error", "Yêu cầu không được chấp nhận.", reason, ""))
    body = json.dumps({
        "type": f"urn:isoflow:problem:{code}", "title": reason, "status": status,
        "detail": f"{message_en} {detail}".strip()[:500], "code": code,
        "message_vi": message_vi, "message_en": message_en, "hint": hint,
    }).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: {PROBLEM_JSON}\r\n"
            f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n")
    return head.encode("latin-1") + body


def write_problem(sock, status_int, reason, mesg) -> None:
    util.write_nonblock(sock, problem_bytes(int(status_int), str(reason), str(mesg)))


class IsoflowWorker(ThreadWorker):
    def init_process(self) -> None:
        # gunicorn writes its refusals with util.write_error; this process serves isoflow only.
        util.write_error = write_problem
        set_parent_death_signal(signal.SIGTERM)
        if os.getppid() != self.ppid:  # the master died before the prctl call
            self.alive = False
        super().init_process()

    def handle_exit(self, sig, frame) -> None:
        super().handle_exit(sig, frame)
        if os.getppid() != self.ppid and self.poller is not None:  # None: not running yet
            self.method_queue.defer(self._release_port)  # on the event loop, not inside the signal handler

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled)
        if not enabled and not self.alive and os.getppid() != self.ppid:
            self._release_port()

    def _release_port(self) -> None:
        """The master is gone: free the port for its successor now, not after the
        graceful wait for the requests in flight."""
        super().set_accept_enabled(False)
        for listener in self.sockets:
            listener.close()
