"""One settings object, loaded from ``config.yaml`` and ``WATCHFLOOR_*`` environment variables.

The object is passed explicitly to everything that needs it; nothing reads settings from globals.
A bad value raises :class:`SettingsError` naming the key, the value and what is allowed; program
entry points turn that into a one-line message and exit code 2 (see :func:`load_or_exit`).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "WATCHFLOOR_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EmbeddedRedis(_Section):
    dir: str = "var/redis"
    port: int = Field(0, ge=0, le=65535)
    binary: str = "redis-server"


class RedisSettings(_Section):
    url: str = ""
    embedded: EmbeddedRedis = EmbeddedRedis()
    retry_seconds: float = Field(2.0, gt=0, le=300)


class WebSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8050, ge=1, le=65535)
    debug: bool = False
    licence_push_seconds: float = Field(0.05, ge=0, le=10)


class Boundaries(_Section):
    city: str = ""
    county: str = ""
    adcode_column: str = "adcode"


class GeoSettings(_Section):
    data_dir: str = "geo/data"
    province_adcode: int = Field(320000, ge=110000, le=829999)
    boundaries: Boundaries = Boundaries()


class SimulatorSettings(_Section):
    seed: int = 20201101
    licences: int = Field(250000, ge=0, le=5_000_000)
    rate_per_second: float = Field(5.0, ge=0, le=100_000)
    batch_size: int = Field(2000, ge=1, le=100_000)
    sources: tuple[Literal["licence", "inspection", "case", "scan", "complaint"], ...] = (
        "licence",
        "inspection",
        "case",
        "scan",
        "complaint",
    )
    speed: float = Field(1.0, gt=0, le=100_000)
    #: a live clock that started at the wall clock and, after a restart, is behind it: a gap up to this
    #: long is played back at once (nothing skipped); a longer one is skipped (the clock jumps to now)
    catch_up_seconds: float = Field(3600.0, ge=0, le=30 * 86400)
    anomalies: bool = True
    ground_truth: str = "var/sim/ground_truth.jsonl"


class IngestTokens(_Section):
    """Bearer token of each upstream source for POST /api/v1/events/<source>; empty = closed."""

    licence: str = ""
    inspection: str = ""
    case: str = ""
    scan: str = ""
    complaint: str = ""


class IngestSettings(_Section):
    tokens: IngestTokens = IngestTokens()
    max_body_bytes: int = Field(5_000_000, ge=1024, le=500_000_000)
    max_events: int = Field(5000, ge=1, le=1_000_000)


class ImporterColumns(_Section):
    """Column header of each licence field in a registry export (CSV or Excel)."""

    licence_no: str = "许可证号"
    holder: str = "负责人"
    shop_name: str = "企业名称"
    address: str = "经营地址"
    lon: str = "经度"
    lat: str = "纬度"
    crs: str = "坐标系"
    business_type: str = "经营业态"
    credit_grade: str = "信用等级"
    valid_from: str = "有效期起"
    valid_to: str = "有效期止"


class ImporterSettings(_Section):
    columns: ImporterColumns = ImporterColumns()
    default_crs: Literal["wgs84", "gcj02", "bd09"] = "gcj02"
    batch_size: int = Field(2000, ge=1, le=100_000)


class AuthSettings(_Section):
    """Who may sign in and how (docs/security.md). ``open`` is the demo: no login at all."""

    mode: Literal["open", "local", "header"] = "open"
    # open mode: every visitor is this role, scoped to the province.
    anonymous_role: Literal["wall", "leader", "duty", "admin"] = "wall"
    users_file: str = "var/users.yaml"
    session_secret: str = ""
    secret_file: str = "var/session_secret"
    session_minutes: float = Field(480, gt=0, le=7 * 24 * 60)
    session_max_hours: float = Field(24, gt=0, le=24 * 90)
    behind_https: bool = False
    header_user: str = Field("X-Remote-User", min_length=1)
    header_role: str = Field("X-Remote-Role", min_length=1)
    header_scope: str = Field("X-Remote-Scope", min_length=1)
    header_display_name: str = "X-Remote-Name"
    trusted_proxies: tuple[str, ...] = ()
    wall_tokens: dict[str, int] = {}
    login_max_failures: int = Field(5, ge=1, le=1000)
    login_lockout_seconds: int = Field(900, ge=1, le=86400)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("wall_tokens")
    @classmethod
    def _tokens(cls, value: dict[str, int]) -> dict[str, int]:
        for token, scope in value.items():
            # a kiosk link is a password in a URL: a short one could be guessed
            if len(token) < 16 or any(c.isspace() for c in token):
                raise ValueError("each token must be at least 16 characters without spaces")
            if not 110000 <= scope <= 829999:
                raise ValueError(f"scope {scope} of a token is not a six-digit adcode")
        return value


class ConsumerSettings(_Section):
    group: str = Field("ingest", min_length=1)
    batch_size: int = Field(1000, ge=1, le=100_000)
    block_ms: int = Field(1000, ge=1, le=60_000)
    retention_hours: float = Field(24.0, ge=0, le=24 * 365)
    trim_every_seconds: float = Field(60.0, gt=0, le=86400)
    name: str = ""
    claim_idle_ms: int = Field(60_000, ge=100, le=86_400_000)
    claim_every_seconds: float = Field(10.0, gt=0, le=3600)
    max_deliveries: int = Field(5, ge=1, le=1000)


class IndicatorWeights(_Section):
    """Weights of the composite risk index (each component is scaled to 0–1 first)."""

    violation_rate: float = Field(0.30, ge=0)
    coverage_gap: float = Field(0.20, ge=0)
    cases_per_1000_licences: float = Field(0.20, ge=0)
    cross_region_inflow: float = Field(0.15, ge=0)
    complaints_per_100k: float = Field(0.15, ge=0)


class IndicatorSettings(_Section):
    windows_days: tuple[int, ...] = (1, 7, 30, 90)  # 1 = today
    recompute_every_seconds: float = Field(60.0, gt=0, le=86400)
    coverage_target: float = Field(0.8, ge=0, le=1)  # share of active licences inspected in 30 days
    weights: IndicatorWeights = IndicatorWeights()


class CorridorRule(_Section):
    """corridor_surge: a delivery-county > scan-county corridor far above its own baseline."""

    baseline_days: int = Field(14, ge=1, le=365)
    min_history_days: int = Field(3, ge=1, le=365)
    ratio: float = Field(3.0, gt=1)
    min_extra: int = Field(20, ge=1)
    levels: tuple[float, float, float] = (10.0, 6.0, 4.0)


class MisuseRule(_Section):
    """licence_used_elsewhere: repeated far observations of a licence at one other place."""

    window_hours: float = Field(72.0, gt=0, le=24 * 90)
    min_obs: int = Field(5, ge=1)
    band_km: float = Field(0.2, gt=0)
    min_share: float = Field(0.5, gt=0, le=1)
    levels: tuple[float, float, float] = (20.0, 12.0, 8.0)


class InactiveRule(_Section):
    """suspended_licence_receiving_goods: cartons delivered to a suspended / revoked licence."""

    window_hours: float = Field(48.0, gt=0, le=24 * 90)
    min_scans: int = Field(12, ge=1)
    levels: tuple[float, float, float] = (40.0, 25.0, 15.0)


class HolderRule(_Section):
    """holder_with_several_licences: several licences changed to one holder within a few days."""

    window_days: float = Field(7.0, gt=0, le=365)
    min_licences: int = Field(3, ge=2)
    levels: tuple[float, float, float] = (6.0, 5.0, 4.0)


class ClusterRule(_Section):
    """case_cluster: at least k cases within r km and t days, straddling a border or not."""

    kinds: tuple[str, ...] = ("counterfeit", "smuggled")
    k: int = Field(3, ge=2)
    k_one_county: int = Field(5, ge=2)
    radius_km: float = Field(2.0, gt=0)
    days: float = Field(7.0, gt=0, le=365)
    levels: tuple[float, float, float] = (7.0, 5.0, 4.0)


class SilenceRule(_Section):
    """inspection_silence: a county that normally inspects has had no inspection for whole days."""

    baseline_days: int = Field(14, ge=1, le=365)
    min_days: int = Field(1, ge=1)
    min_expected: float = Field(20.0, gt=0)
    levels: tuple[float, float, float] = (5.0, 3.0, 2.0)


class CoverageRule(_Section):
    """coverage_gap: share of valid licences inspected in the window well below the target."""

    window_days: int = Field(30, ge=1, le=365)
    margin: float = Field(0.1, ge=0, le=1)
    min_licences: int = Field(100, ge=1)
    levels: tuple[float, float, float] = (0.4, 0.3, 0.2)


class ComplaintRule(_Section):
    """complaint_spike: a county's complaints of a day far above its daily mean."""

    baseline_days: int = Field(14, ge=1, le=365)
    min_history_days: int = Field(3, ge=1, le=365)
    ratio: float = Field(5.0, gt=1)
    min_count: int = Field(10, ge=1)
    levels: tuple[float, float, float] = (15.0, 10.0, 7.0)


class WarningSettings(_Section):
    far_km: float = Field(1.0, gt=0, le=1000)  # a scan / inspection this far from the licence's point
    detect_every_seconds: float = Field(60.0, gt=0, le=86400)
    debounce_seconds: float = Field(5.0, ge=0, le=3600)
    rearm_hours: float = Field(24.0, ge=0, le=24 * 365)
    evidence_cap: int = Field(50, ge=1, le=10_000)
    corridor: CorridorRule = CorridorRule()
    misuse: MisuseRule = MisuseRule()
    inactive: InactiveRule = InactiveRule()
    holder: HolderRule = HolderRule()
    cluster: ClusterRule = ClusterRule()
    silence: SilenceRule = SilenceRule()
    coverage: CoverageRule = CoverageRule()
    complaint: ComplaintRule = ComplaintRule()


class MapSettings(_Section):
    max_points: int = Field(1000, ge=0, le=100_000)
    max_cells: int = Field(1500, ge=10, le=100_000)
    h3_resolutions: tuple[int, ...] = Field((4, 5, 6, 7, 8), min_length=1)
    refresh_seconds: float = Field(3.0, ge=0, le=3600)


WallScene = Literal["licences", "inspections", "flows", "warnings"]


class WallSettings(_Section):
    stale_after_seconds: float = Field(60, gt=0, le=86400)
    language: Literal["zh", "en"] = "zh"
    # the wall's scenes (docs/wall.md): each shown scene_seconds, in this order, then round again
    scene_seconds: float = Field(20, ge=1, le=86400)
    scenes: tuple[WallScene, ...] = Field(("licences", "inspections", "flows", "warnings"), min_length=1)
    heat_days: int = Field(7, ge=1, le=30)  # inspection-heat window (the coverage gap is always 30 days)
    flow_days: int = Field(7, ge=1, le=90)  # cross-region flow arcs: cartons over this many days
    # per-source override of stale_after_seconds, e.g. {case: 3600}: slow feeds are not "stale" at 60 s
    source_stale_seconds: dict[Literal["licence", "inspection", "case", "scan", "complaint"], float] = {
        "case": 3600,
        "complaint": 1800,
        "inspection": 900,
    }


class WorkerSettings(_Section):
    queue: str = Field("indicators", min_length=1)
    indicator_debounce_seconds: float = Field(2.0, ge=0, le=3600)
    #: a job whose peak memory rises this many MB above the worker's is logged (core/memory.py)
    job_memory_report_mb: float = Field(200.0, gt=0)


class ReplyHours(_Section):
    """Hours a unit has, from dispatch, to reply to a warning of each colour (docs/duty.md)."""

    red: float = Field(24.0, gt=0, le=24 * 90)
    orange: float = Field(48.0, gt=0, le=24 * 90)
    yellow: float = Field(48.0, gt=0, le=24 * 90)
    blue: float = Field(72.0, gt=0, le=24 * 90)


class LoopSettings(_Section):
    """The closed loop of warnings: reply deadlines and the overdue check (docs/duty.md)."""

    reply_hours: ReplyHours = ReplyHours()
    overdue_check_seconds: float = Field(60.0, gt=0, le=86400)


class Settings(_Section):
    """Every setting of Watchfloor; see config.yaml for what each one means."""

    redis: RedisSettings = RedisSettings()
    web: WebSettings = WebSettings()
    geo: GeoSettings = GeoSettings()
    simulator: SimulatorSettings = SimulatorSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    ingest: IngestSettings = IngestSettings()
    importer: ImporterSettings = ImporterSettings()
    auth: AuthSettings = AuthSettings()
    indicators: IndicatorSettings = IndicatorSettings()
    warnings: WarningSettings = WarningSettings()
    map: MapSettings = MapSettings()
    wall: WallSettings = WallSettings()
    worker: WorkerSettings = WorkerSettings()
    loop: LoopSettings = LoopSettings()

    def path(self, relative: str) -> Path:
        """Resolve a path setting against the project root (absolute paths are kept)."""
        p = Path(relative)
        return p if p.is_absolute() else ROOT / p


class SettingsError(Exception):
    """A setting is missing, unknown or has a value that is not allowed."""


def _set_env_value(tree: dict[str, Any], model: type[BaseModel], rest: str, value: str, var: str) -> None:
    """Place one environment variable into ``tree`` by walking the known setting names.

    Names are matched against the model so that keys containing underscores
    (``WATCHFLOOR_MAP_MAX_POINTS`` → ``map.max_points``) need no special separator.
    """
    fields = model.model_fields
    for name in sorted(fields, key=len, reverse=True):
        key = name.upper()
        annotation = fields[name].annotation
        nested = isinstance(annotation, type) and issubclass(annotation, BaseModel)
        if rest == key and not nested:
            # YAML parsing gives lists, numbers and booleans the same spelling as in config.yaml.
            try:
                tree[name] = yaml.safe_load(value) if value.strip() else ""
            except yaml.YAMLError:
                tree[name] = value
            if isinstance(tree[name], (int, float)) and annotation is str:
                tree[name] = value
            return
        if nested and rest.startswith(key + "_"):
            sub = tree.setdefault(name, {})
            if not isinstance(sub, dict):
                raise SettingsError(f"{var}: {name} is a section, not a value")
            _set_env_value(sub, annotation, rest[len(key) + 1 :], value, var)
            return
    raise SettingsError(f"{var}: no such setting (see config.yaml for the names)")


def _describe(error: dict[str, Any]) -> str:
    key = ".".join(str(p) for p in error["loc"])
    if error["type"] == "extra_forbidden":
        return f"{key}: unknown setting (see config.yaml for the names)"
    return f"{key} = {error.get('input')!r}: {error['msg']}"


def load_settings(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``path`` (default config.yaml or $WATCHFLOOR_CONFIG) and the environment."""
    environ = dict(os.environ if environ is None else environ)
    path = Path(path or environ.get(ENV_PREFIX + "CONFIG") or ROOT / "config.yaml")
    tree: dict[str, Any] = {}
    if path.exists():
        try:
            tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise SettingsError(f"{path}: not valid YAML: {exc}") from None
        if not isinstance(tree, dict):
            raise SettingsError(f"{path}: must be a mapping of sections")
    elif path != ROOT / "config.yaml":
        raise SettingsError(f"{path}: config file not found")
    for var, value in sorted(environ.items()):
        if var.startswith(ENV_PREFIX) and var != ENV_PREFIX + "CONFIG":
            _set_env_value(tree, Settings, var[len(ENV_PREFIX) :], value, var)
    try:
        return Settings.model_validate(tree)
    except ValidationError as exc:
        raise SettingsError("; ".join(_describe(e) for e in exc.errors())) from None


def load_or_exit(path: str | Path | None = None) -> Settings:
    """Load settings for a program entry point; on a bad value print why and exit with code 2."""
    try:
        return load_settings(path)
    except SettingsError as exc:
        print(f"watchfloor: bad configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
