"""Runtime configuration from ``REVCYCLE_*`` environment variables (and a ``.env`` file)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of a revcycle run; each maps to ``REVCYCLE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="REVCYCLE_", env_file=".env", extra="ignore")

    workdir: Path = Field(
        Path("revcycle-data"),
        description="Folder for outbound/, inbound/, archive/, logs/ and the default SQLite warehouse.",
    )
    warehouse_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the warehouse; default sqlite:///<workdir>/warehouse.db.",
    )
    usage_indicator: Literal["T", "P"] = Field(
        "T", description="ISA15: T for test interchanges, P for production. Never hard-coded."
    )
    submitter_id: str = Field("REVCYCLE01", description="ISA06/GS02 and 1000A submitter id.")
    submitter_name: str = Field("REVCYCLE BILLING", description="1000A submitter name.")
    submitter_contact: str = Field("BILLING OFFICE", description="1000A PER contact name.")
    submitter_phone: str = Field("5555550100", description="1000A PER telephone number.")
    reject_threshold: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Refuse an export when more than this share of its charge lines is rejected by validation.",
    )
    sftp_host: str = Field("127.0.0.1", description="Clearinghouse SFTP host.")
    sftp_port: int = Field(22, description="Clearinghouse SFTP port.")
    sftp_username: str = Field("revcycle", description="Clearinghouse SFTP user.")
    sftp_password: str | None = Field(None, description="SFTP password (prefer a key).")
    sftp_private_key_file: Path | None = Field(None, description="Path of the SFTP private key (Ed25519/RSA).")
    sftp_known_host: str | None = Field(
        None, description="The clearinghouse's pinned host key as a known_hosts line; required."
    )
    sftp_remote_root: str = Field(
        "",
        description="Folder on the SFTP server the remote folders below are relative to; empty: the login folder.",
    )
    remote_upload_dir: str = Field("claims", description="Remote folder claims are uploaded to.")
    remote_inbox_dir: str = Field("responses", description="Remote folder 999/277CA/835 files are picked up from.")
    remote_archive_dir: str | None = Field(
        "archive",
        description="Remote folder picked-up files are moved to after the load commits; empty to leave them.",
    )
    ack_overdue_hours: float = Field(
        24,
        gt=0,
        description="Flag an uploaded interchange for the operator when no 999 came back within this many hours.",
    )
    lock_lease_seconds: int = Field(1800, description="How long a clearinghouse lock lease lasts without renewal.")
    timezone: str = Field("America/Chicago", description="The practice's timezone (batch dates, schedules).")

    def resolved_warehouse_url(self) -> str:
        """The warehouse URL, defaulting to a SQLite file in the workdir."""
        return self.warehouse_url or f"sqlite:///{(self.workdir / 'warehouse.db').resolve()}"
