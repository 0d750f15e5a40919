"""Settings read from the environment and `.env`, validated once at start.

A bad or missing setting becomes one `SettingsError` line naming the setting
and how to fix it; the CLI prints it and exits with status 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

_HOW_TO_FIX = "set it in the environment or in .env (see .env.example)"


class SettingsError(Exception):
    """A setting is missing or invalid; the message is one line for the user."""


class Settings(BaseSettings):
    """Every setting the bot reads. Names match DESIGN.md and .env.example."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    discord_token: SecretStr | None = None
    database_path: Path = Path("data/consultation.db")
    guild_id: int | None = Field(default=None, gt=0)
    moderator_role_id: int | None = Field(default=None, gt=0)
    organiser_role_id: int | None = Field(default=None, gt=0)
    discord_api_base: str | None = None
    discord_gateway_url: str | None = None
    agenda_file: Path | None = None
    log_level: LogLevel = "INFO"
    #: log message content (and other text participants type); off by default, even at DEBUG
    log_content: bool = False
    agree_emoji: str = "👍,✅,💯"
    disagree_emoji: str = "👎,❌"
    pass_emoji: str = "🤷"
    #: measure event-loop stalls (bot/runtime/loop_lag.py); the worst is logged at exit
    loop_lag_probe: bool = False
    #: with the probe on, also write its report (JSON) here at exit
    loop_lag_report: Path | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        """`GUILD_ID=` in a .env file means "not set", not "invalid"."""
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        if value is None:
            return "INFO"
        return value.upper() if isinstance(value, str) else value

    @field_validator("log_content", "loop_lag_probe", mode="before")
    @classmethod
    def _default_log_content(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "0"  # (validators run last-defined first: a blank is still a string here)
        return value

    @field_validator("database_path", mode="before")
    @classmethod
    def _default_database(cls, value: object) -> object:
        return "data/consultation.db" if value is None else value

    @field_validator("discord_api_base")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://, e.g. http://127.0.0.1:8080/api/v10")
        return value.rstrip("/") if value else value

    @field_validator("discord_gateway_url")
    @classmethod
    def _ws_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://, e.g. ws://127.0.0.1:8080/gateway")
        return value

    @field_validator("agree_emoji", "disagree_emoji", "pass_emoji", mode="before")
    @classmethod
    def _default_emoji(cls, value: object, info) -> object:
        if value is None:
            return cls.model_fields[info.field_name].default
        return value

    @property
    def agree_emojis(self) -> frozenset[str]:
        return frozenset(e.strip() for e in self.agree_emoji.split(",") if e.strip())

    @property
    def disagree_emojis(self) -> frozenset[str]:
        return frozenset(e.strip() for e in self.disagree_emoji.split(",") if e.strip())

    @property
    def pass_emojis(self) -> frozenset[str]:
        return frozenset(e.strip() for e in self.pass_emoji.split(",") if e.strip())

    def require_token(self) -> str:
        """The token, or a SettingsError saying how to provide one."""
        if self.discord_token is None or not self.discord_token.get_secret_value().strip():
            raise SettingsError(
                "DISCORD_TOKEN is not set: create a bot in the Discord developer portal and "
                f"{_HOW_TO_FIX}"
            )
        return self.discord_token.get_secret_value().strip()


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn pydantic's report into one line per the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        # Never echo the input of a secret back; for others it helps to see it.
        shown = "" if name == "DISCORD_TOKEN" else f" (got {error.get('input')!r})"
        raise SettingsError(f"{name} is invalid: {message}{shown}; {_HOW_TO_FIX}") from None
