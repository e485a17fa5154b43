"""Runtime settings from the environment (ESTATECARE_*), with embedded defaults."""

from __future__ import annotations

import contextlib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from models.policy import Policy, load_policy


class Settings(BaseSettings):
    """Where things are. Every value has a default that works on a fresh clone."""

    model_config = SettingsConfigDict(env_prefix="ESTATECARE_", env_file=".env", extra="ignore")

    var_dir: Path = Path("var")
    database_url: str = ""  # default: SQLite file under var_dir
    policy_file: Path | None = None  # default: the shipped seed policy
    base_url: str = "http://127.0.0.1:8000"
    web_host: str = "127.0.0.1"
    web_port: int = 8000
    prefect_port: int = 4200
    sweep_every_seconds: float = 30.0  # the web process looks for lost work this often
    sweep_age_seconds: float = 60.0  # a complaint still waiting this long after intake counts as lost
    # Schedules of the flow server's sweeps (deployments/): how often each scheduled run comes.
    outbox_every_seconds: float = 60.0  # deliver-outbox: due and deferred mail
    deadline_sweep_every_seconds: float = 300.0  # deadline-sweep: missed deadlines escalate (R-HD-3)
    intake_sweep_every_seconds: float = 600.0  # intake-sweep: complaints the web process lost
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: float = 10.0
    smtp_connections: int = 4  # parallel SMTP connections of one sender
    smtp_render_helper: bool | None = None  # build big batches in a helper process; None: if more than 2 cores
    mail_catcher: bool = True  # `estatecare run` catches mail to 127.0.0.1:smtp_port in var/mail/
    mail_from: str = "Estate Care <no-reply@estatecare.localhost>"
    # Web app (issue 6): signing key (default: generated once into var/secret-key), email links, hardening.
    secret_key: str = ""
    link_max_age_hours: float = 168.0  # an email action link expires after this long
    session_cookie_secure: bool | None = None  # default: secure when base_url is https
    session_max_age_hours: float = 12.0
    public_form_rate: str = "5/minute"  # online complaints per client address (web form and API without a token)
    public_total_rate: str = "120/minute"  # online complaints from all addresses together
    login_rate: str = "10/minute"  # sign-in attempts (and, apart, status look-ups) per client address
    login_lockout_after: int = 5  # failed sign-ins in a row that lock an account
    login_lockout_seconds: float = 60.0  # the first lock; each further failure doubles it
    login_lockout_max_seconds: float = 900.0  # the longest lock
    # Reverse proxies (comma-separated addresses or networks) whose X-Forwarded-For names the
    # client; default none: the client address is the connection's peer.
    trusted_proxies: str = ""
    upload_max_bytes: int = 5_000_000  # per photo
    upload_max_files: int = 3
    upload_max_pixels: int = 40_000_000  # width x height of a photo or image attachment, checked before decoding
    body_max_bytes: int = 256 * 1024  # request bodies other than uploads and revisit records (see api/limits.py)
    prefect_ui_url: str = ""  # default: the local server at prefect_port
    # Distributed mode (docs/operations.md): "in-process" runs lifecycle flows inside the web
    # process; "deployments" starts them as deployment runs that workers of a work pool pick up.
    dispatch: Literal["in-process", "deployments"] = "in-process"
    dispatch_linger_seconds: float | None = None  # batch window; default 0.1 s in-process, 2 s for deployments
    intake_lease_seconds: float = 300.0  # a run's claim on a complaint's intake; a crashed run's claim expires
    send_lease_seconds: float = 600.0  # a sender's claim on an outbox row (see notifications/outbox_store.py)
    attachments_dir: Path | None = None  # default: var_dir/attachments
    attachments_max_mb: float = 10.0  # largest accepted attachment
    attachments_min_free_mb: float = 64.0  # refuse uploads that would leave less free space than this

    @property
    def db_url(self) -> str:
        """The database URL; a SQLite file under ``var_dir`` unless one is set."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.var_dir / 'estatecare.db').resolve()}"

    def make_var_dir(self) -> Path:
        """``var_dir``, created if needed and kept private to this user (mode 700)."""
        self.var_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with contextlib.suppress(PermissionError):  # another user's directory: its owner decides
            self.var_dir.chmod(0o700)
        return self.var_dir

    @property
    def attachments_path(self) -> Path:
        """Where complaint attachments are stored (``ESTATECARE_ATTACHMENTS_DIR``)."""
        return self.attachments_dir if self.attachments_dir is not None else self.var_dir / "attachments"

    @cached_property
    def policy(self) -> Policy:
        """The validated policy (raises PolicyError naming each bad key)."""
        return load_policy(self.policy_file)


def get_settings() -> Settings:
    """Settings read from the environment now."""
    return Settings()
