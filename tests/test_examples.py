"""The example settings in the docs load as they are: documentation that cannot rot."""

from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import HubSettings
from node.config import NodeSettings
from protocol.settings import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_example_hub_and_node_settings_load(monkeypatch):
    for key in list(__import__("os").environ):
        if key.startswith("ROSHNI_"):
            monkeypatch.delenv(key)
    hub = HubSettings.load(ROOT / "deploy" / "hub.example.toml")
    assert hub.influx.api == "v1" and hub.http.port == 8080
    node = NodeSettings.load(ROOT / "node" / "example.toml")
    assert node.node.id == "khi-kor-0042"


def test_environment_overrides_the_file_and_typos_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("ROSHNI_INFLUX__URL", "http://influx.example:8086")
    hub = HubSettings.load(ROOT / "deploy" / "hub.example.toml")
    assert hub.influx.url == "http://influx.example:8086"
    bad = tmp_path / "hub.toml"
    bad.write_text('[influx]\napi = "v3"\n[mqtt]\nurll = "mqtt://x"\n')
    with pytest.raises(ConfigError) as err:
        HubSettings.load(bad)
    assert "influx.api" in str(err.value) and "mqtt.urll" in str(err.value)
    assert str(bad) in str(err.value)


def test_lists_and_tables_come_from_the_environment_as_json():
    s = HubSettings.load(environ={
        "ROSHNI_RULES__SLA_HOURS": '{"1": 12, "2": 36}',
        "ROSHNI_SPOTS__SITES": '[{"name": "Govt School", "kind": "school", '
                               '"lat": 24.83, "lon": 67.13}]',
        "ROSHNI_NODE__ID": "ignored-by-the-hub"})
    assert s.rules.sla_hours[1] == 12 and s.rules.sla_hours[2] == 36
    assert s.spots.sites[0].name == "Govt School"
    with pytest.raises(ConfigError) as err:
        HubSettings.load(environ={"ROSHNI_SPOTS__SITES": "[{broken"})
    assert "not valid JSON" in str(err.value)


def test_roshni_config_names_the_settings_file_when_no_path_is_given(tmp_path):
    """The installed `roshni` wrapper sets it, so operators need not repeat --config."""
    path = tmp_path / "hub.toml"
    path.write_text('[http]\nport = 9090\n')
    assert HubSettings.load(environ={"ROSHNI_CONFIG": str(path)}).http.port == 9090
    assert HubSettings.load(environ={}).http.port == 8080
    with pytest.raises(ConfigError, match="no such settings file"):
        HubSettings.load(environ={"ROSHNI_CONFIG": str(tmp_path / "missing.toml")})
