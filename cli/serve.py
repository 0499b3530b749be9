"""`isoflow serve`: the HTTP API (and the web pages mounted on it) with the scheduler embedded.

Gunicorn runs the app when it is installed (it is a dependency; the fallback is
Werkzeug's threaded server, for platforms gunicorn does not support). The scheduler
runs once per server, never once per worker: under gunicorn in its own process,
spawned (not forked) by the master, because forking workers from a process whose
scheduler thread may hold a lock deadlocks the workers.
"""
from __future__ import annotations

import os
import secrets
import sys
from typing import Callable

import click

from cli._runtime import settings_with
from engine.config import Settings

SERVER_PID_ENV = "ISOFLOW_SERVER_PID"  # the scheduler process exits when this process is gone


def _start_scheduler(settings: Settings) -> Callable[[], None] | None:
    try:
        from engine.scheduler.embedded import start  # provided by the scheduler package
    except ImportError:
        click.echo("isoflow serve: the scheduler is not available in this build; running without it", err=True)
        return None
    from engine.runtime import Runtime

    stop = start(Runtime.from_settings(settings))
    click.echo("isoflow serve: scheduler started", err=True)
    return stop


def _scheduler_process_main(settings: Settings) -> None:
    """Entry of the spawned scheduler process: sweep until SIGTERM, or until the server
    that spawned it is gone (even killed with -9: no orphan scheduler survives it)."""
    import signal
    import threading

    from engine.scheduler.embedded import exit_with_parent

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    parent = int(os.environ.get(SERVER_PID_ENV) or os.getppid())
    exit_with_parent(parent, done.set)
    stop = _start_scheduler(settings)
    if stop is None:
        return
    done.wait()
    stop()


def _spawn_scheduler(settings: Settings) -> Callable[[], None] | None:
    """Run the scheduler in a child process (`python -m cli.serve`), stopped with the server."""
    import subprocess

    try:
        import engine.scheduler.embedded  # noqa: F401  (say so now if this build has none)
    except ImportError:
        click.echo("isoflow serve: the scheduler is not available in this build; running without it", err=True)
        return None
    env = {**os.environ, "ISOFLOW_DATABASE_URL": settings.database_url, "ISOFLOW_BPMN_DIR": str(settings.bpmn_dir),
           "ISOFLOW_TRUSTED_SCRIPTS": "1" if settings.trusted_scripts else "", SERVER_PID_ENV: str(os.getpid())}
    process = subprocess.Popen([sys.executable, "-m", "cli.serve"], env=env)
    click.echo(f"isoflow serve: scheduler process {process.pid} started", err=True)

    def stop() -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()

    return stop


def run_server(settings: Settings, host: str, port: int, *, scheduler: bool = True, workers: int | None = None,
               secure_cookies: bool | None = None) -> None:
    """Serve until interrupted. Blocks. `secure_cookies` None: from $ISOFLOW_SECURE_COOKIES."""
    if not settings.secret_key and not os.environ.get("ISOFLOW_SECRET_KEY"):
        # one key shared by every worker of this server; sessions end when it restarts
        os.environ["ISOFLOW_SECRET_KEY"] = secrets.token_hex(32)
        click.echo("isoflow serve: ISOFLOW_SECRET_KEY is not set; using a random key for this run", err=True)
    from engine.config import SECURE_COOKIES_ENV, secure_cookies_from_env

    if secure_cookies is not None:  # the workers and their app read it from the environment too
        os.environ[SECURE_COOKIES_ENV] = "1" if secure_cookies else "0"
    config = {"DATABASE_URL": settings.database_url,
              "SECRET_KEY": settings.secret_key or os.environ["ISOFLOW_SECRET_KEY"],
              "SESSION_COOKIE_SECURE": secure_cookies_from_env()}
    workers = workers or int(os.environ.get("ISOFLOW_WORKERS", "2"))
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:
        BaseApplication = None
    if BaseApplication is None or sys.platform.startswith("win"):
        _serve_werkzeug(config, settings, host, port, scheduler)
        return

    class IsoflowGunicorn(BaseApplication):
        def load_config(self):
            self.cfg.set("bind", f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
            self.cfg.set("workers", workers)
            # gthread, answering gunicorn's own refusals as problem+json and following the master
            self.cfg.set("worker_class", "api.gunicorn_worker.IsoflowWorker")
            # gunicorn's largest request line, so URLs up to the app's limit (api.edge) reach
            # the app; longer ones are refused by gunicorn, as problem+json too
            self.cfg.set("limit_request_line", 8190)
            self.cfg.set("threads", 4)
            self.cfg.set("timeout", 60)
            self.cfg.set("accesslog", os.environ.get("ISOFLOW_ACCESS_LOG") or None)
            self.cfg.set("when_ready", self._when_ready)
            self.cfg.set("on_exit", self._on_exit)
            if "control_socket_disable" in self.cfg.settings:  # gunicorn >= 24: no shared control socket
                self.cfg.set("control_socket_disable", True)

        def _when_ready(self, server):
            self._stop = _spawn_scheduler(settings) if scheduler else None
            click.echo(f"isoflow serve: listening on http://{host}:{port} ({workers} workers)", err=True)

        def _on_exit(self, server):
            if getattr(self, "_stop", None):
                self._stop()

        def load(self):
            from api import create_app

            return create_app(config)

    from gunicorn.errors import HaltServer

    try:
        IsoflowGunicorn().run()
    except HaltServer as exc:  # e.g. a worker could not load the app; the log above says why
        raise click.ClickException(f"the server stopped: {exc.reason}") from exc


def _serve_werkzeug(config, settings, host, port, scheduler) -> None:
    from werkzeug.serving import run_simple

    from api import create_app

    stop = _start_scheduler(settings) if scheduler else None
    try:
        run_simple(host, port, create_app(config), threaded=True, use_reloader=False)
    finally:
        if stop:
            stop()


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", type=click.IntRange(1, 64), help="gunicorn worker processes (default $ISOFLOW_WORKERS or 2)")
@click.option("--database-url", envvar="ISOFLOW_DATABASE_URL", help="default: $ISOFLOW_DATABASE_URL")
@click.option("--no-scheduler", is_flag=True, help="do not run deadline reminders/escalation in this process")
@click.option("--secure-cookies/--insecure-cookies", default=None,
              help="send the session cookie over HTTPS only (use behind HTTPS; default $ISOFLOW_SECURE_COOKIES, else off)")
def command(host: str, port: int, workers: int | None, database_url: str | None, no_scheduler: bool,
            secure_cookies: bool | None) -> None:
    """Serve the HTTP API (gunicorn) with the scheduler embedded."""
    run_server(settings_with(database_url), host, port, scheduler=not no_scheduler, workers=workers,
               secure_cookies=secure_cookies)


if __name__ == "__main__":  # the scheduler process of a gunicorn server (see _spawn_scheduler)
    _scheduler_process_main(Settings.from_env())
