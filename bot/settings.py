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
    #: postgresql://user:password@host:port/database: use PostgreSQL instead of the SQLite
    #: file DATABASE_PATH (several bot processes can share it)
    database_url: SecretStr | None = None
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
    #: sharding: how many shards the bot has in all, and which of them this process runs
    shard_count: int | None = Field(default=None, ge=1)
    shard_ids: str | None = None
    #: measure event-loop stalls (bot/runtime/loop_lag.py); the worst is logged at exit
    loop_lag_probe: bool = False
    #: with the probe on, also write its report (JSON) here at exit
    loop_lag_report: Path | None = None
    #: with the probe on, also record where the loop was during each stall (the report's
    #: "stacks"): a watchdog thread's look every 20 ms
    loop_lag_stacks: bool = False

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

    @field_validator("log_content", "loop_lag_probe", "loop_lag_stacks", mode="before")
    @classmethod
    def _default_log_content(cls, value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            return "0"  # (validators run last-defined first: a blank is still a string here)
        return value

    @field_validator("database_path", mode="before")
    @classmethod
    def _default_database(cls, value: object) -> object:
        return "data/consultation.db" if value is None else value

    @field_validator("database_url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
                ("postgresql://", "postgres://")):
            raise ValueError("must start with postgresql://, e.g. "
                             "postgresql://bot:password@127.0.0.1:5432/consultation")
        return value

    @property
    def database(self) -> Path | str:
        """What `Repository.open` opens: DATABASE_URL when set, else the DATABASE_PATH file."""
        if self.database_url is not None:
            return self.database_url.get_secret_value().strip()
        return self.database_path

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

    @field_validator("shard_ids")
    @classmethod
    def _shard_ids(cls, value: str | None, info) -> str | None:
        if value is None:
            return None
        count = info.data.get("shard_count")
        if count is None:
            raise ValueError("needs SHARD_COUNT too (the number of shards in all, e.g. "
                             "SHARD_COUNT=4 SHARD_IDS=0,1)")
        ids = parse_shard_ids(value)
        wrong = [i for i in ids if i >= count]
        if wrong:
            raise ValueError(f"shard {wrong[0]} does not exist with SHARD_COUNT={count} "
                             f"(shards are numbered 0 to {count - 1})")
        return ",".join(map(str, ids))

    @property
    def shards(self) -> tuple[int, tuple[int, ...]] | None:
        """``(shard count, this process's shard ids)``, or None when the bot is not sharded."""
        if self.shard_count is None:
            return None
        ids = parse_shard_ids(self.shard_ids) if self.shard_ids else tuple(range(self.shard_count))
        return self.shard_count, ids

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


def parse_shard_ids(text: str) -> tuple[int, ...]:
    """``"0,1"``, ``"0-3"`` or ``"0-1,4"`` → sorted distinct shard ids (ValueError if not)."""
    ids: set[int] = set()
    for part in text.replace(" ", "").split(","):
        low, dash, high = part.partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ValueError(f"{part!r} is not a shard number or range: write e.g. 0,1 or 0-3")
        first, last = int(low), int(high) if dash else int(low)
        if last < first:
            raise ValueError(f"the range {part!r} goes backwards: write e.g. 0-3")
        ids.update(range(first, last + 1))
    return tuple(sorted(ids))


def load_settings(**overrides: object) -> Settings:
    """Read settings; turn pydantic's report into one line per the first bad setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]).upper() if error["loc"] else "settings"
        message = error["msg"].removeprefix("Value error, ")
        # Never echo the input of a secret back; for others it helps to see it.
        shown = "" if name in ("DISCORD_TOKEN", "DATABASE_URL") else f" (got {error.get('input')!r})"
        raise SettingsError(f"{name} is invalid: {message}{shown}; {_HOW_TO_FIX}") from None
