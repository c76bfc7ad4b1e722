"""Settings from the environment or a TOML file, and the master key for secrets at rest.

Precedence: explicit arguments > environment (``OPENCASB_*``) > the file named by
``OPENCASB_CONFIG`` (TOML, same keys in lower case) > defaults.
"""

from __future__ import annotations

import base64
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from opencasb.errors import ConfigError

__all__ = ["Settings", "load_settings", "make_private_dir"]


def make_private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; the directory itself mode 0700.

    It holds the store and the master key: no other local user may list or read it. An
    existing directory keeps its mode (it may be one the user chose and shares).
    """
    if path.is_dir():
        return
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)  # mkdir's mode is filtered by the umask


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "opencasb"


class Settings(BaseSettings):
    """Where OpenCASB keeps its data and how it reaches its database."""

    model_config = SettingsConfigDict(env_prefix="OPENCASB_", extra="ignore")

    data_dir: Path = Field(default_factory=_default_data_dir)
    database_url: str = ""
    secret_key: str = ""  # base64 Fernet key; normally read from data_dir/master.key
    bind: str = "127.0.0.1:8080"
    poll_interval: int = 60
    file_monitoring: bool = False  # needed by the Office 365 files component
    # Activities older than this are deleted by `opencasb sync` (hourly) and `opencasb
    # prune`; 0 keeps everything. 180 days, as the commercial products keep them.
    retention_days: int = Field(default=180, ge=0)
    # Commands show problems themselves; a service (`opencasb sync`) runs with info.
    log_level: Literal["debug", "info", "warning", "error"] = "error"
    log_format: Literal["text", "json"] = "text"
    # The user's own MaxMind GeoIP2/GeoLite2 files (never downloaded by OpenCASB).
    geoip_city_mmdb: Path | None = None
    geoip_asn_mmdb: Path | None = None
    # The built-in anomaly detections run in the detection stage unless switched off.
    anomaly_detection: bool = True
    anomaly_sensitivity: Literal["low", "medium", "high"] = "medium"
    anomaly_learning_days: int = Field(default=7, ge=0)
    # New alerts per anomaly detector and UTC day; the new findings over it are counted.
    anomaly_daily_alert_limit: int = Field(default=100, ge=1)
    # Activities per detection pass: each pass is one transaction (alerts, state, cursor).
    detection_batch: int = Field(default=5000, ge=1)
    # A folder of Sigma rules (Okta and Microsoft 365) the detection stage evaluates too.
    sigma_rules_dir: Path | None = None

    @field_validator("log_level", "log_format", "anomaly_sensitivity", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    def resolved_database_url(self) -> str:
        """The database URL, defaulting to SQLite in the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'opencasb.db'}"

    def master_key(self) -> bytes:
        """The key that encrypts app secrets, created (mode 0600) on first use.

        Raises:
            ConfigError: the given key is not a valid key, or the key file is unreadable.
        """
        if self.secret_key:
            return _check_key(self.secret_key.encode(), "OPENCASB_SECRET_KEY")
        path = self.data_dir / "master.key"
        make_private_dir(self.data_dir)
        if not path.exists():
            from cryptography.fernet import Fernet

            # O_EXCL: two processes starting together must not both write a different key.
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(Fernet.generate_key())
        try:
            return _check_key(path.read_bytes().strip(), str(path))
        except OSError as exc:
            raise ConfigError(
                f"cannot read the master key {path}: {exc.strerror}",
                fix="check the file's owner and mode (0600)",
            ) from None


def _check_key(key: bytes, where: str) -> bytes:
    try:
        if len(base64.urlsafe_b64decode(key)) == 32:
            return key
    except ValueError:
        pass
    raise ConfigError(
        f"the master key in {where} is not a valid key",
        fix="restore the original key (secrets encrypted with it are unreadable otherwise), or "
        "remove it and store each app's credential again with "
        "`opencasb apps edit NAME --new-secret`",
    )


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment and the optional TOML file, with ``overrides`` on top.

    Raises:
        ConfigError: the file is unreadable or a value has the wrong type.
    """
    values: dict[str, Any] = {}
    file = os.environ.get("OPENCASB_CONFIG")
    if file:
        try:
            values = tomllib.loads(Path(file).read_text())
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(
                f"cannot read the config file {file}: {exc}", fix="fix or unset OPENCASB_CONFIG"
            ) from None
        values = {k: v for k, v in values.items() if f"OPENCASB_{k.upper()}" not in os.environ}
    values.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(f"invalid settings: {exc}", fix="check OPENCASB_* variables") from None
