"""core.settings: defaults, environment overrides, and messages for bad values."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT, Settings, SettingsError, load_settings


def _plain(value):
    """model_dump() output in YAML's vocabulary (tuples become lists)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_defaults_load() -> None:
    s = load_settings(environ={})
    assert s.redis.url == ""
    assert s.redis.embedded.dir == "var/redis"
    assert s.redis.embedded.port == 0
    assert s.redis.retry_seconds == 2.0
    assert s.web.port == 8050
    assert s.map.max_points == 1000
    assert s.map.h3_resolutions == (4, 5, 6, 7, 8)
    assert s.wall.language == "zh"


def test_config_yaml_lists_every_setting_with_its_default() -> None:
    """config.yaml is the documentation: it must hold every setting, each with the model's default."""
    in_file = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    assert in_file == _plain(Settings().model_dump())


def test_path_resolves_against_the_project_root(tmp_path: Path) -> None:
    s = load_settings(environ={})
    assert s.path("var/redis") == ROOT / "var" / "redis"
    assert s.path(str(tmp_path)) == tmp_path


@pytest.mark.parametrize(
    ("env", "attribute", "expected"),
    [
        ({"WATCHFLOOR_MAP_MAX_POINTS": "5"}, "map.max_points", 5),
        ({"WATCHFLOOR_REDIS_URL": "redis://10.0.0.5:6379/0"}, "redis.url", "redis://10.0.0.5:6379/0"),
        ({"WATCHFLOOR_REDIS_EMBEDDED_PORT": "6390"}, "redis.embedded.port", 6390),
        ({"WATCHFLOOR_REDIS_EMBEDDED_DIR": "/srv/wf"}, "redis.embedded.dir", "/srv/wf"),
        ({"WATCHFLOOR_REDIS_RETRY_SECONDS": "0.5"}, "redis.retry_seconds", 0.5),
        ({"WATCHFLOOR_WEB_DEBUG": "true"}, "web.debug", True),
        ({"WATCHFLOOR_WEB_HOST": "0.0.0.0"}, "web.host", "0.0.0.0"),
        ({"WATCHFLOOR_MAP_H3_RESOLUTIONS": "[5, 6]"}, "map.h3_resolutions", (5, 6)),
        ({"WATCHFLOOR_WALL_LANGUAGE": "en"}, "wall.language", "en"),
        ({"WATCHFLOOR_GEO_BOUNDARIES_CITY": "geo/city.gpkg"}, "geo.boundaries.city", "geo/city.gpkg"),
        # a string setting keeps a value that YAML would read as a number
        ({"WATCHFLOOR_CONSUMER_GROUP": "123"}, "consumer.group", "123"),
        # a variable that is not a setting but only shares the prefix's spelling is not one of ours
        ({"WATCHFLOORX_ANYTHING": "1", "MAP_MAX_POINTS": "7"}, "map.max_points", 1000),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else None,
)
def test_environment_overrides(env: dict[str, str], attribute: str, expected: object) -> None:
    value: object = load_settings(environ=env)
    for part in attribute.split("."):
        value = getattr(value, part)
    assert value == expected


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text("map:\n  max_points: 7\nweb:\n  port: 9000\n", encoding="utf-8")
    s = load_settings(environ={"WATCHFLOOR_CONFIG": str(config), "WATCHFLOOR_MAP_MAX_POINTS": "5"})
    assert (s.map.max_points, s.web.port, s.map.max_cells) == (5, 9000, 1500)


# Each bad input must produce a message that names the key, the value and what is allowed.
BAD_ENV = [
    ({"WATCHFLOOR_MAP_MAX_POINTS": "lots"}, ["map.max_points", "'lots'", "valid integer"]),
    ({"WATCHFLOOR_WEB_PORT": "70000"}, ["web.port", "70000", "less than or equal to 65535"]),
    ({"WATCHFLOOR_MAP_MAX_POINTS": "-1"}, ["map.max_points", "-1", "greater than or equal to 0"]),
    ({"WATCHFLOOR_REDIS_RETRY_SECONDS": "0"}, ["redis.retry_seconds", "0", "greater than 0"]),
    ({"WATCHFLOOR_WALL_LANGUAGE": "fr"}, ["wall.language", "'fr'", "'zh' or 'en'"]),
    ({"WATCHFLOOR_WEB_DEBUG": "maybe"}, ["web.debug", "'maybe'", "valid boolean"]),
    ({"WATCHFLOOR_REDIS_EMBEDDED_PORT": "x"}, ["redis.embedded.port", "'x'", "valid integer"]),
    ({"WATCHFLOOR_MAP_MAX_POINTZ": "5"}, ["WATCHFLOOR_MAP_MAX_POINTZ", "no such setting", "config.yaml"]),
    ({"WATCHFLOOR_NOPE": "1"}, ["WATCHFLOOR_NOPE", "no such setting"]),
    ({"WATCHFLOOR_CONFIG": "/nonexistent/watchfloor.yaml"}, ["/nonexistent/watchfloor.yaml", "not found"]),
]


@pytest.mark.parametrize(
    ("env", "fragments"), BAD_ENV, ids=lambda v: next(iter(v)) if isinstance(v, dict) else None
)
def test_bad_environment_is_explained(env: dict[str, str], fragments: list[str]) -> None:
    with pytest.raises(SettingsError) as info:
        load_settings(environ=env)
    for fragment in fragments:
        assert fragment in str(info.value)


BAD_FILES = [
    ("unknown-key", "map:\n  max_pointz: 5\n", ["map.max_pointz", "unknown setting"]),
    ("unknown-section", "mapp:\n  max_points: 5\n", ["mapp", "unknown setting"]),
    ("wrong-type", "web:\n  port: eighty\n", ["web.port", "'eighty'", "valid integer"]),
    ("out-of-range", "map:\n  max_cells: 1\n", ["map.max_cells", "1", "greater than or equal to 10"]),
    ("bad-enum", "wall:\n  language: de\n", ["wall.language", "'de'", "'zh' or 'en'"]),
    ("bad-yaml", "map:\n  max_points: [1, 2\n", ["not valid YAML"]),
    ("not-a-mapping", "- a\n- b\n", ["must be a mapping"]),
]


@pytest.mark.parametrize(("name", "text", "fragments"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_file_is_explained(tmp_path: Path, name: str, text: str, fragments: list[str]) -> None:
    config = tmp_path / f"{name}.yaml"
    config.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsError) as info:
        load_settings(environ={"WATCHFLOOR_CONFIG": str(config)})
    for fragment in fragments:
        assert fragment in str(info.value)
    if name == "bad-yaml":
        assert str(config) in str(info.value)


def test_entry_point_exits_2_with_one_line_and_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHFLOOR_")}
    env["WATCHFLOOR_WEB_PORT"] = "not-a-port"
    result = subprocess.run(
        [sys.executable, "-c", "from core.settings import load_or_exit; load_or_exit()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "web.port" in result.stderr and "'not-a-port'" in result.stderr
    assert result.stderr.startswith("watchfloor: bad configuration:")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""
