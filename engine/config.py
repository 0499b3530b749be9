"""Deployment settings, read from the environment (12-factor); one place for defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SQLITE_PATH = Path("var") / "isoflow.db"
DEFAULT_ATTACHMENT_DIR = Path("var") / "attachments"
SECURE_COOKIES_ENV = "ISOFLOW_SECURE_COOKIES"


def secure_cookies_from_env(environ: dict[str, str] | None = None) -> bool:
    """Send the session cookie over HTTPS only when ISOFLOW_SECURE_COOKIES is 1/true/yes/on
    (set it whenever the service is reached through HTTPS, as in production)."""
    env = os.environ if environ is None else environ
    return (env.get(SECURE_COOKIES_ENV) or "").strip().lower() in {"1", "true", "yes", "on"}


def default_database_url() -> str:
    return f"sqlite:///{DEFAULT_SQLITE_PATH}"


@dataclass(frozen=True)
class Settings:
    database_url: str = field(default_factory=default_database_url)
    # A read replica (streaming standby) for statistics, search and exports; None: the primary.
    read_database_url: str | None = None
    bpmn_dir: Path = REPO_ROOT / "bpmn"
    trusted_scripts: bool = False
    secret_key: str | None = None
    # Public status lookup page printed as a QR code on receipt slips and posting sheets.
    public_lookup_url: str | None = None
    # Scanned documents and photos attached to dossiers (engine.services.attachments).
    attachment_dir: Path = DEFAULT_ATTACHMENT_DIR
    attachment_max_bytes: int = 5 * 1024 * 1024
    attachment_max_count: int = 30  # per dossier

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        return cls(
            database_url=env.get("ISOFLOW_DATABASE_URL") or default_database_url(),
            read_database_url=env.get("ISOFLOW_READ_DATABASE_URL") or None,
            bpmn_dir=Path(env.get("ISOFLOW_BPMN_DIR") or REPO_ROOT / "bpmn"),
            trusted_scripts=env.get("ISOFLOW_TRUSTED_SCRIPTS", "").lower() in {"1", "true", "yes"},
            secret_key=env.get("ISOFLOW_SECRET_KEY") or None,
            public_lookup_url=env.get("ISOFLOW_PUBLIC_LOOKUP_URL") or None,
            attachment_dir=Path(env.get("ISOFLOW_ATTACHMENT_DIR") or DEFAULT_ATTACHMENT_DIR),
            attachment_max_bytes=_positive(env.get("ISOFLOW_ATTACHMENT_MAX_BYTES"), 5 * 1024 * 1024),
            attachment_max_count=_positive(env.get("ISOFLOW_ATTACHMENT_MAX_COUNT"), 30),
        )


def _positive(raw: str | None, default: int) -> int:
    try:
        value = int(raw) if raw else default
    except ValueError:
        raise ValueError(f"expected a positive whole number, not {raw!r}") from None
    if value <= 0:
        raise ValueError(f"expected a positive whole number, not {raw!r}")
    return value
