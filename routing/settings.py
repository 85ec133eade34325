"""Settings of the routing backend, read from environment variables with safe defaults.

Every value has a development default so `python -m routing` works on a fresh checkout; in
production (`ROUTING_ENV=production`) :meth:`Settings.check` refuses placeholder tokens and the
development token bootstrap.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB_PATH = PROJECT_ROOT / "var" / "routing.db"
ROLES: Tuple[str, ...] = ("intake", "operator", "staff", "supervisor")

# Development tokens, documented in docs/routing.md. Created only when ROUTING_DEV_TOKENS=1 and
# never in production.
DEV_TOKENS: Dict[str, str] = {
    "intake": "dev-intake-token",
    "operator": "dev-operator-token",
    "staff": "dev-staff-token",
    "supervisor": "dev-supervisor-token",
}
_PLACEHOLDER_MARKERS = ("dev-", "change", "placeholder", "secret", "example", "xxx", "token")


class SettingsError(RuntimeError):
    """The configuration is unsafe or malformed; the service refuses to start."""


@dataclass(frozen=True)
class BootstrapToken:
    role: str
    token: str
    department_code: Optional[str] = None


def _bool(value: Optional[str], default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from None


def parse_bootstrap_tokens(raw: str) -> List[BootstrapToken]:
    """`role:token[:department_code]` entries separated by `;` or newlines."""
    tokens: List[BootstrapToken] = []
    for part in raw.replace("\n", ";").split(";"):
        part = part.strip()
        if not part:
            continue
        pieces = part.split(":")
        if len(pieces) not in (2, 3) or pieces[0] not in ROLES or not pieces[1]:
            raise SettingsError(
                "ROUTING_BOOTSTRAP_TOKENS entries look like role:token[:department_code], "
                f"role one of {ROLES}; got {part!r}"
            )
        dept = pieces[2] if len(pieces) == 3 and pieces[2] else None
        if pieces[0] == "staff" and not dept:
            raise SettingsError("a staff bootstrap token needs a department code (staff:token:CODE)")
        tokens.append(BootstrapToken(role=pieces[0], token=pieces[1], department_code=dept))
    return tokens


def is_placeholder_token(token: str) -> bool:
    low = token.lower()
    return len(token) < 24 or any(low.startswith(m) for m in _PLACEHOLDER_MARKERS)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    dev_tokens: bool = False
    dev_staff_department: str = "430104-CGZF"
    bootstrap_tokens: Tuple[BootstrapToken, ...] = field(default_factory=tuple)
    dedup_window_hours: float = 72.0
    dedup_radius_m: float = 200.0
    escalation_interval_s: int = 300
    max_text_chars: int = 5000
    max_body_bytes: int = 1_000_000
    max_attachment_bytes: int = 10_000_000
    attachment_dir: str = ""
    log_level: str = "info"

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> "Settings":
        env = os.environ if env is None else env
        mode = (env.get("ROUTING_ENV") or "development").strip().lower()
        if mode not in ("development", "production"):
            raise SettingsError(f"ROUTING_ENV must be development or production, got {mode!r}")
        url = (env.get("DATABASE_URL") or "").strip() or f"sqlite:///{DEFAULT_DB_PATH}"
        attachment_dir = (env.get("ROUTING_ATTACHMENT_DIR") or "").strip() or str(
            PROJECT_ROOT / "var" / "attachments"
        )
        return cls(
            env=mode,
            database_url=url,
            host=(env.get("ROUTING_HOST") or "127.0.0.1").strip(),
            port=_int(env, "ROUTING_PORT", 8000),
            dev_tokens=_bool(env.get("ROUTING_DEV_TOKENS")),
            dev_staff_department=(env.get("ROUTING_DEV_STAFF_DEPARTMENT") or "430104-CGZF").strip(),
            bootstrap_tokens=tuple(parse_bootstrap_tokens(env.get("ROUTING_BOOTSTRAP_TOKENS") or "")),
            dedup_window_hours=_float(env, "ROUTING_DEDUP_WINDOW_HOURS", 72.0),
            dedup_radius_m=_float(env, "ROUTING_DEDUP_RADIUS_M", 200.0),
            escalation_interval_s=_int(env, "ROUTING_ESCALATION_INTERVAL", 300),
            max_text_chars=_int(env, "ROUTING_MAX_TEXT_CHARS", 5000),
            max_body_bytes=_int(env, "ROUTING_MAX_BODY_BYTES", 1_000_000),
            max_attachment_bytes=_int(env, "ROUTING_MAX_ATTACHMENT_BYTES", 10_000_000),
            attachment_dir=attachment_dir,
            log_level=(env.get("ROUTING_LOG_LEVEL") or "info").strip().lower(),
        )

    def check(self) -> None:
        """Refuse unsafe configurations (raises :class:`SettingsError`)."""
        if not (1 <= self.port <= 65535):
            raise SettingsError(f"ROUTING_PORT out of range: {self.port}")
        if self.production:
            if self.dev_tokens:
                raise SettingsError("ROUTING_DEV_TOKENS must not be set in production")
            for tok in self.bootstrap_tokens:
                if is_placeholder_token(tok.token):
                    raise SettingsError(
                        f"refusing to start in production with a placeholder {tok.role} token "
                        "(use `python -m routing.cli create-token` or a random token of 24+ chars)"
                    )

    def ensure_dirs(self) -> None:
        """Create the directory of a SQLite file database (`var/` by default)."""
        if self.database_url.startswith("sqlite:///") and ":memory:" not in self.database_url:
            Path(self.database_url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)


def get_settings() -> Settings:
    settings = Settings.from_env()
    settings.ensure_dirs()
    return settings
