"""Runtime configuration from ``REVCYCLE_*`` environment variables (and a ``.env`` file).

A ``REVCYCLE_*`` variable that is no setting (a typo such as ``REVCYCLE_SFTP_UPLOAD_DIR`` for
``REVCYCLE_REMOTE_UPLOAD_DIR``) would be ignored without a word; ``unknown_variables`` finds them and names
the closest setting, and ``warn_unknown_variables`` says so once per process.
"""

from __future__ import annotations

import difflib
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from dotenv import dotenv_values
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PREFIX = "REVCYCLE_"
# REVCYCLE_* variables that are ours on purpose but are no settings: read by the tests, the benchmarks and
# prefect.yaml's pull step. Anything else with the prefix and no setting is reported as unknown.
NOT_SETTINGS: frozenset[str] = frozenset(
    {
        "REVCYCLE_SHARED",  # tests: the public X12 corpus folder
        "REVCYCLE_REPO",  # prefect.yaml: the checkout a worker runs deployments from
        "REVCYCLE_PROGRESS",  # the command line: `off` draws no progress bars on a terminal (progress_bars.py)
        "REVCYCLE_TEST_SSHD",  # tests: the sshd binary
        "REVCYCLE_TEST_POSTGRES_URL",  # tests: the PostgreSQL server
        "REVCYCLE_BENCH_POSTGRES_URL",  # benchmarks: the PostgreSQL server
    }
)


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
    sftp_password: SecretStr | None = Field(
        None, description="SFTP password (prefer a key); a secret, never printed or logged."
    )
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
    batch_eligibility: bool = Field(
        False,
        description="The clearinghouse takes batch 270s (and 276s) in the upload folder: eligibility is checked "
        "before claims go out and silent claims get a 276 (docs/eligibility-pipeline.md).",
    )
    eligibility_window_days: int = Field(
        30, description="A member and payer pair verified (a 271 loaded) within this many days is not asked again."
    )
    unverified_payers: str = Field(
        "",
        description="Comma-separated payer ids whose claims go out before their 271 arrives; every other "
        "payer's claim waits (held 'awaiting eligibility').",
    )
    status_inquiry_after_days: int = Field(
        30, description="A claim with no 835 this many days after its upload gets a 276 (the payer's usual lag)."
    )
    status_inquiry_every_days: int = Field(30, description="At most one 276 per claim within this many days.")
    lock_lease_seconds: int = Field(1800, description="How long a clearinghouse lock lease lasts without renewal.")
    timezone: str = Field("America/Chicago", description="The practice's timezone (batch dates, schedules).")
    task_runner: Literal["thread", "dask"] = Field(
        "thread",
        description="How the nightly fans out per-export intake: thread (in the flow's process, one export after "
        "another) or dask (Prefect's Dask task runner: a loopback-only local cluster, or REVCYCLE_DASK_ADDRESS).",
    )
    dask_address: str | None = Field(
        None,
        description="Scheduler address of a running Dask cluster (tls://host:8786) for task_runner=dask; "
        "empty: a local cluster bound to 127.0.0.1.",
    )
    dask_workers: int = Field(
        2, ge=1, description="Worker processes of the local Dask cluster (task_runner=dask without an address)."
    )
    ehr_config: Path | None = Field(
        None,
        description="The EHR feed configuration (ehr.toml: facilities, plan crosswalk, chargemaster); "
        "default <workdir>/ehr.toml, else the embedded demo defaults.",
    )

    def resolved_warehouse_url(self) -> str:
        """The warehouse URL, defaulting to a SQLite file in the workdir."""
        return self.warehouse_url or f"sqlite:///{(self.workdir / 'warehouse.db').resolve()}"


@dataclass(frozen=True)
class UnknownVariable:
    """A ``REVCYCLE_*`` variable that is no setting, where it was found and the setting it most resembles."""

    name: str
    source: str  # "environment" or the .env file's name
    closest: str | None

    def message(self) -> str:
        """One line for the operator (the variable's value is never shown: it may be a secret)."""
        hint = f"did you mean {self.closest}?" if self.closest else "`revcycle config` lists the settings"
        return f"{self.name} (in the {self.source}) is not a revcycle setting and is ignored; {hint}"


def setting_variables() -> list[str]:
    """The variable name of every setting, ``REVCYCLE_<FIELD>``."""
    return [f"{PREFIX}{name.upper()}" for name in Settings.model_fields]


def _closest(name: str, known: list[str]) -> str | None:
    # Compared without the shared prefix, which would make every name look alike.
    suffixes = {variable[len(PREFIX) :]: variable for variable in known}
    found = difflib.get_close_matches(name[len(PREFIX) :], list(suffixes), n=1, cutoff=0.6)
    return suffixes[found[0]] if found else None


def unknown_variables(environ: Mapping[str, str] | None = None, env_file: Path | None = None) -> list[UnknownVariable]:
    """Every ``REVCYCLE_*`` name in the environment and the ``.env`` file that is no setting (sorted).

    Names are compared upper-cased, as the settings read them. ``NOT_SETTINGS`` are ours on purpose.
    """
    environ = os.environ if environ is None else environ
    if env_file is None:
        env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    known = setting_variables()
    allowed = set(known) | NOT_SETTINGS
    sources: dict[str, str] = {}
    if env_file.is_file():
        for name in dotenv_values(env_file):
            sources.setdefault(name.upper(), env_file.name)
    for name in environ:
        sources[name.upper()] = "environment"
    return [
        UnknownVariable(name, source, _closest(name, known))
        for name, source in sorted(sources.items())
        if name.startswith(PREFIX) and name not in allowed
    ]


_warned: set[str] = set()
_warned_lock = threading.Lock()


def warn_unknown_variables(warn: Callable[[str], None]) -> list[UnknownVariable]:
    """Call ``warn`` with one line per unknown ``REVCYCLE_*`` variable not yet reported in this process."""
    with _warned_lock:
        fresh = [u for u in unknown_variables() if u.name not in _warned]
        _warned.update(u.name for u in fresh)
    for unknown in fresh:
        warn(unknown.message())
    return fresh
