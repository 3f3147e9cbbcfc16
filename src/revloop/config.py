"""Settings: a TOML file plus ``REVLOOP_*`` environment variables (the environment wins).

Where things are:
- ``REVLOOP_HOME``: the data directory (default: the user's data directory for "revloop").
- ``REVLOOP_CONFIG``: the settings file (default: ``$REVLOOP_HOME/revloop.toml``).
- ``REVLOOP_DATABASE_URL``: the store (default: SQLite at ``$REVLOOP_HOME/revloop.db``).

The TOML file uses sections (``[halopsa] base_url = ...``); each key maps to the flat setting
``halopsa_base_url``, which is also the environment variable ``REVLOOP_HALOPSA_BASE_URL``.
Secrets (client secrets, tokens, keys) are never read from the file: a secret found there is
an error that says which environment variable to use instead.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import platformdirs
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from revloop.domain.issues import ConfigError, HomeError, SettingsFileError

ENV_PREFIX = "REVLOOP_"
SETTINGS_FILE_NAME = "revloop.toml"
SECRET_FIELDS = frozenset({"halopsa_client_secret", "xero_client_secret", "xero_webhook_key", "secret_key"})
SECRET_FIELDS |= {"notify_smtp_password", "notify_webhook_urls"}
SECTIONS = ("halopsa", "xero", "billing", "reconcile", "costs", "watch", "notify", "web")


def default_home() -> Path:
    return Path(platformdirs.user_data_dir("revloop", appauthor=False))


def resolve_home() -> Path:
    raw = os.environ.get(f"{ENV_PREFIX}HOME", "").strip()
    return Path(raw).expanduser() if raw else default_home()


def settings_path(home: Path | None = None) -> Path:
    raw = os.environ.get(f"{ENV_PREFIX}CONFIG", "").strip()
    if raw:
        return Path(raw).expanduser()
    return (home or resolve_home()) / SETTINGS_FILE_NAME


def _flatten(data: dict[str, Any], path: Path) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            if key not in SECTIONS:
                raise SettingsFileError(
                    f"{path}: unknown section [{key}]", hint=f"sections: {', '.join(SECTIONS)}"
                )
            for sub, subvalue in value.items():
                flat[f"{key}_{sub}"] = subvalue
        else:
            flat[key] = value
    for key, value in flat.items():
        if isinstance(value, float):
            raise SettingsFileError(
                f"{path}: {key} = {value!r} is a float", hint='write numbers as strings, e.g. "0.45"'
            )
    return flat


class TomlSource(PydanticBaseSettingsSource):
    """Reads the settings file; refuses secrets in it and unknown keys."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        if not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except PermissionError:
            raise SettingsFileError(f"cannot read {self.path}: permission denied") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SettingsFileError(f"cannot read {self.path}: {exc}") from None
        except tomllib.TOMLDecodeError as exc:
            raise SettingsFileError(f"{self.path} is not valid TOML: {exc}") from None
        flat = _flatten(data, self.path)
        for key in flat:
            if key in SECRET_FIELDS:
                raise SettingsFileError(
                    f"{self.path}: {key} must not be written in the settings file",
                    hint=f"set {ENV_PREFIX}{key.upper()} in the environment, or `revloop secret set {key}`",
                )
            if key not in self.settings_cls.model_fields:
                raise SettingsFileError(
                    f"{self.path}: unknown setting {key!r}", hint="see `revloop init` for all"
                )
        return flat


class Settings(BaseSettings):
    """Every option revloop reads. ``revloop init`` writes them all, commented."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    # -- where things are ------------------------------------------------------------------
    home: Path = Field(default_factory=resolve_home, description="Data directory (REVLOOP_HOME).")
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the store; empty = SQLite file revloop.db in the data directory. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/dbname",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Logging level.")

    # -- the MSP ----------------------------------------------------------------------------
    company_name: str = Field("", description="Your company's name, as invoices and reports show it.")
    currency: str = Field("GBP", description="The MSP's base currency (ISO 4217).")
    timezone: str = Field("Europe/London", description="The MSP's timezone (IANA name).")
    holiday_country: str = Field("GB", description="Public holidays: country code of the holidays package.")
    holiday_subdivision: str = Field("ENG", description="Public holidays: subdivision (empty for none).")
    holiday_add: list[date] = Field(
        default_factory=list, description='Extra closure days, e.g. ["2026-12-24"] (holidays all day).'
    )
    holiday_remove: list[date] = Field(
        default_factory=list, description="Public holidays you work as normal days."
    )
    working_hours: str = Field(
        "mon-fri 08:30-17:30",
        description='Working hours, e.g. "mon-fri 08:30-17:30" or "mon-thu 08:00-17:00".',
    )

    # -- billing defaults (billing-rules.md) -----------------------------------------------------
    billing_rounding_scope: Literal["entry", "ticket"] = Field("entry", description="entry | ticket")
    billing_ooh_mode: Literal["split", "start"] = Field("split", description="split | start")
    billing_money_rounding: Literal["half_up", "half_even"] = Field(
        "half_up", description="half_up | half_even"
    )
    billing_travel_uses_multipliers: bool = Field(False, description="Charge travel at out-of-hours rates.")
    billing_mileage_rate: Decimal = Field(Decimal("0.45"), description="Price per unit of distance.")
    billing_mileage_item_code: str = Field("MILEAGE", description="Xero item code for mileage lines.")
    billing_mileage_tax_code: str = Field("OUTPUT2", description="Xero tax type for mileage lines.")
    billing_expense_markup_percent: Decimal = Field(Decimal("0"), description="Markup on expenses, percent.")
    billing_descriptions: dict[str, str] = Field(
        default_factory=dict,
        description="Line description templates per line kind, e.g. descriptions = { labour = "
        '"{date} {ticket_id} {ticket_summary} ({agent})" }; fields are listed in docs/billing.md.',
    )
    billing_contract_item_codes: dict[str, str] = Field(
        default_factory=dict,
        description="Xero item code for fee and top-up lines per contract kind when the contract names "
        'none, e.g. contract_item_codes = { fixed_price = "FEE-FIXED", allowance = "FEE-ALLOW" }.',
    )
    billing_expense_item_code: str = Field(
        "", description="Xero item code for expense lines whose record names none (instead of the category)."
    )
    billing_payment_terms_days: int = Field(30, ge=0, description="Days from invoice date to due date.")
    billing_invoice_days_ahead: int = Field(
        0,
        ge=0,
        description="Draft next month's fees and recurring charges on their own invoice this many days "
        "before the month starts (its due date); 0 = bill them with the month's work "
        "(see `revloop periodic`).",
    )

    # -- HaloPSA -----------------------------------------------------------------------------
    halopsa_base_url: str = Field(
        "", description="Your HaloPSA API URL, e.g. https://yourmsp.halopsa.com/api"
    )
    halopsa_auth_url: str = Field(
        "", description="Your HaloPSA auth URL, e.g. https://yourmsp.halopsa.com/auth"
    )
    halopsa_client_id: str = Field("", description="HaloPSA API application client id.")
    halopsa_client_secret: SecretStr | None = Field(
        None, description="HaloPSA client secret: environment (REVLOOP_HALOPSA_CLIENT_SECRET) only."
    )
    halopsa_tenant: str = Field("", description="HaloPSA tenant name (hosted tenants only).")
    halopsa_rate_limit: int = Field(
        300,
        ge=1,
        description="HaloPSA requests per rolling 5 minutes (HaloPSA allows 300; raise only if yours does).",
    )

    # -- Xero --------------------------------------------------------------------------------
    xero_api_url: str = Field("https://api.xero.com/api.xro/2.0", description="Xero Accounting API URL.")
    xero_identity_url: str = Field("https://identity.xero.com", description="Xero identity (token) URL.")
    xero_authorize_url: str = Field(
        "https://login.xero.com/identity/connect/authorize", description="Xero consent page URL."
    )
    xero_connections_url: str = Field("https://api.xero.com/connections", description="Xero connections URL.")
    xero_client_id: str = Field("", description="Xero app client id.")
    xero_client_secret: SecretStr | None = Field(
        None, description="Xero client secret: environment (REVLOOP_XERO_CLIENT_SECRET) only."
    )
    xero_tenant_id: str = Field("", description="Xero organisation (tenant) id to post to.")
    xero_webhook_key: SecretStr | None = Field(
        None,
        description="Xero webhook signing key (`revloop webhooks serve`): environment "
        "(REVLOOP_XERO_WEBHOOK_KEY) or `revloop secret set xero_webhook_key` only.",
    )
    xero_redirect_uri: str = Field(
        "http://localhost:8765/callback",
        description="Redirect URI registered on your Xero app; `revloop connect xero` listens on its port.",
    )

    # -- reconcile: the checks of `revloop reconcile` ([reconcile]) ------------------------------
    reconcile_renewal_days: int = Field(
        60,
        ge=1,
        description="Flag contracts ending within this many days that have no renewal quote dated on or "
        "after their end less this many days.",
    )
    reconcile_close_days: int = Field(
        5,
        ge=0,
        description="Check a month's work and invoices once this many days of the next month have passed "
        "(a month closed with `revloop close` is checked at once).",
    )
    reconcile_overdue_grace_days: int = Field(
        0, ge=0, description="Days past an invoice's due date before an unpaid amount is overdue."
    )
    reconcile_overrun_periods: int = Field(
        3, ge=1, description="Flag allowances overrun in this many checked months running."
    )

    # -- costs: the profitability cost model ([costs]) -----------------------------------------
    costs_method: Literal["salary", "books"] = Field(
        "salary",
        description="Hourly cost used for profit: salary (per agent, loaded) | books (P&L / hours logged).",
    )
    costs_overhead_monthly: Decimal = Field(
        Decimal("0"), ge=0, description="Overhead pool a month, shared among agents (salary method)."
    )
    costs_allocation: Literal["by_hours", "by_headcount"] = Field(
        "by_hours", description="How the overhead pool is shared: by_hours (productive hours) | by_headcount."
    )
    costs_default_oncost_percent: Decimal = Field(
        Decimal("0"), ge=0, description="On-costs (employer tax, pension) in percent of salary, by default."
    )
    costs_productive_hours_per_year: Decimal = Field(
        Decimal("1600"), gt=0, description="Productive (loggable) hours a year per agent, by default."
    )
    costs_mileage_cost_per_unit: Decimal = Field(
        Decimal("0.45"), ge=0, description="What a unit of mileage costs the MSP."
    )
    costs_fee_split: Literal["hours", "weights"] = Field(
        "hours", description="How fixed and allowance fees are split to service lines: hours | weights."
    )
    costs_fee_weights: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Weights per service line for fee_split = "weights", e.g. { Support = "3" }.',
    )
    costs_payroll_accounts: list[str] = Field(
        default_factory=list, description="P&L accounts (codes or names) holding payroll (books method)."
    )
    costs_overhead_accounts: list[str] = Field(
        default_factory=list, description="P&L accounts (codes or names) holding overheads (books method)."
    )
    costs_item_unit_costs: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Supplier cost per unit of items sold without stock lots (licences, monitoring), "
        'by item code, e.g. { M365-BP = "15.80" }; over the item\'s HaloPSA cost price.',
    )
    costs_service_lines: dict[str, str] = Field(
        default_factory=dict,
        description="Service line of invoice lines by item code, where neither the item nor a charge type "
        'names one, e.g. { FEE-FIXED = "Managed Services" }.',
    )
    costs_fx_rates: dict[str, Decimal] = Field(
        default_factory=dict,
        description='Units of a foreign currency per one unit of the base currency, e.g. { AUD = "1.95" }.',
    )

    # -- watch: the scheduler ([watch]) ------------------------------------------------------
    watch_jobs: list[str] = Field(
        default_factory=lambda: ["sync", "reconcile", "preview", "bill-ahead", "notify"],
        description="Jobs `revloop watch` runs (sync, reconcile, preview, bill-ahead, notify).",
    )
    watch_sync_minutes: int = Field(15, ge=1, description="Minutes between incremental syncs.")
    watch_reconcile_minutes: int = Field(
        1440, ge=1, description="Minutes between reconciliations (it also runs after every sync)."
    )
    watch_preview_days_before: int = Field(
        3, ge=0, description="Days before a month ends that billing previews start (0 = never)."
    )
    watch_preview_minutes: int = Field(
        360, ge=1, description="Minutes between billing previews in those days."
    )
    watch_bill_ahead_minutes: int = Field(60, ge=1, description="Minutes between bill-ahead runs.")
    watch_notify_minutes: int = Field(1, ge=1, description="Minutes between runs that send notifications.")
    watch_poll_seconds: int = Field(
        5, ge=1, description="Seconds between checks for due jobs and Xero webhook marks."
    )
    watch_lease_seconds: int = Field(
        600,
        ge=30,
        description="Seconds a job's lease lasts unless renewed (a crashed holder's job waits this).",
    )
    watch_backoff_seconds: int = Field(60, ge=1, description="Wait before the first retry of a failed job.")
    watch_backoff_max_minutes: int = Field(
        60, ge=1, description="Longest wait between retries of a failed job."
    )

    # -- notify: e-mail and webhook alerts ([notify]) ----------------------------------------
    notify_recipients: list[dict[str, Any]] = Field(
        default_factory=list,
        description='Who is told, e.g. recipients = [{ channel = "email", to = "ops@msp.example", '
        'mode = "digest" }, { channel = "webhook", to = "teams", mode = "alert", codes = ["xero.drift"] }]; '
        "a webhook's `to` names its URL in REVLOOP_NOTIFY_WEBHOOK_URLS.",
    )
    notify_codes: list[str] = Field(
        default_factory=lambda: [
            "prepay.below_threshold",
            "prepay.negative",
            "renewal.no_quote",
            "xero.drift",
        ],
        description="Finding codes that notify (besides the severities below).",
    )
    notify_severities: list[str] = Field(
        default_factory=lambda: ["error"],
        description="Findings of these severities notify whatever their code.",
    )
    notify_digest_hour: int = Field(8, ge=0, le=23, description="Hour (MSP timezone) daily digests go out.")
    notify_max_attempts: int = Field(
        10, ge=1, description="Attempts to deliver a notification before giving up."
    )
    notify_from: str = Field("", description="Sender address of e-mails, e.g. revloop@msp.example.")
    notify_smtp_host: str = Field("", description="SMTP server for e-mails.")
    notify_smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    notify_smtp_security: Literal["starttls", "ssl", "none"] = Field(
        "starttls", description="starttls | ssl | none"
    )
    notify_smtp_username: str = Field("", description="SMTP login (empty: no login).")
    notify_smtp_password: SecretStr | None = Field(
        None,
        description="SMTP password: environment (REVLOOP_NOTIFY_SMTP_PASSWORD) or "
        "`revloop secret set notify_smtp_password` only.",
    )
    notify_webhook_urls: SecretStr | None = Field(
        None,
        description='Webhook URLs (they carry tokens): JSON {"teams": "https://..."} by recipient name, or '
        "one URL for every webhook recipient; environment (REVLOOP_NOTIFY_WEBHOOK_URLS) or "
        "`revloop secret set notify_webhook_urls` only.",
    )
    notify_timeout_seconds: int = Field(
        20, ge=1, description="Seconds to wait for an SMTP or webhook server."
    )

    # -- web dashboard -------------------------------------------------------------------------
    web_host: str = Field("127.0.0.1", description="Address `revloop serve` listens on.")
    web_port: int = Field(8000, ge=0, le=65535, description="Port `revloop serve` listens on.")
    web_secure_cookies: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Session cookie's Secure flag: auto (when the request came over https) | always | never",
    )
    web_session_idle_minutes: int = Field(
        60, ge=1, description="Minutes without a request after which a dashboard session ends."
    )
    web_session_hours: int = Field(12, ge=1, description="Hours after signing in that a session ends anyway.")
    web_public_url: str = Field(
        "",
        description="The dashboard's address as browsers reach it, e.g. https://revloop.example.com; Xero's "
        "redirect URI is this plus /connections/xero/callback. Empty = http://{host}:{port}.",
    )
    web_warm: bool = Field(
        True,
        description="Compute the profitability figures, charts and cost model in the background when the "
        "dashboard starts and soon after the store changes, so pages rarely wait for them.",
    )

    # -- secrets ---------------------------------------------------------------------------
    secret_key: SecretStr | None = Field(
        None,
        description="Key that encrypts stored tokens and secrets: environment (REVLOOP_SECRET_KEY) only; "
        "if unset, a key file is kept in the data directory with owner-only permissions.",
    )

    @field_validator("billing_descriptions")
    @classmethod
    def _descriptions(cls, value: dict[str, str]) -> dict[str, str]:
        from revloop.domain.records import DEFAULT_DESCRIPTIONS

        unknown = sorted(set(value) - set(DEFAULT_DESCRIPTIONS))
        if unknown:
            raise ValueError(
                f"unknown line kinds {unknown} (known: {', '.join(sorted(DEFAULT_DESCRIPTIONS))})"
            )
        return value

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("must be a 3-letter ISO 4217 code")
        return value.upper()

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {value!r}") from None
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, TomlSource(settings_cls, settings_path()))

    @property
    def settings_file(self) -> Path:
        return settings_path(self.home)

    @property
    def effective_database_url(self) -> str:
        return self.database_url.strip() or f"sqlite:///{self.home / 'revloop.db'}"


def load_settings(**overrides: Any) -> Settings:
    """Load settings, turning every validation problem into one readable ``ConfigError``."""
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        raise ConfigError(
            f"setting {name}: {first['msg']}",
            hint=f"check {ENV_PREFIX}{name.upper()} or {settings_path()}",
        ) from None
    if settings.home.exists() and not settings.home.is_dir():
        raise HomeError(f"the data directory {settings.home} is a file, not a directory")
    return settings


def describe_fields() -> list[tuple[str, str, str]]:
    """(name, default as TOML text, description) for every setting, for ``revloop init``."""
    rows = []
    for name, info in Settings.model_fields.items():
        if name == "home":
            continue
        default = info.get_default(call_default_factory=True)
        if isinstance(default, list):
            text = "[" + ", ".join(f'"{item}"' for item in default) + "]"
        elif isinstance(default, dict):
            text = "{}"
        elif name in SECRET_FIELDS or default is None:
            text = ""
        elif isinstance(default, bool):
            text = "true" if default else "false"
        elif isinstance(default, int):
            text = str(default)
        else:
            text = f'"{default}"'
        rows.append((name, text, info.description or ""))
    return rows
