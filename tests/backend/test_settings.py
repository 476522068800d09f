"""Settings come from the environment, typed and validated; every one is documented."""
from __future__ import annotations

import pytest

from backend.settings import SETTINGS_DOC, Settings, SettingsError
from tests.conftest import ROOT


def test_defaults_run_on_a_bare_machine():
    settings = Settings.from_env({})
    assert settings.database_url.startswith("sqlite://")
    assert settings.redis_url == "" and (settings.host, settings.port) == ("127.0.0.1", 8000)


def test_values_are_typed():
    settings = Settings.from_env({"PORT": "9000", "AUTO_MIGRATE": "false",
                                  "DATA_KEYS": "a:" + "00" * 16 + ",b:" + "11" * 16})
    assert settings.port == 9000 and settings.auto_migrate is False
    assert [k for k, _ in settings.data_keys] == ["a", "b"]


@pytest.mark.parametrize("env, word", [
    ({"PORT": "eighty"}, "PORT"), ({"PORT": "70000"}, "PORT"), ({"AUTO_MIGRATE": "maybe"}, "AUTO_MIGRATE"),
    ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL"), ({"DATA_KEYS": "k1:abcd"}, "DATA_KEYS"),
    ({"ENV": "staging"}, "ENV"), ({"MAX_BODY_BYTES": "10"}, "MAX_BODY_BYTES"),
])
def test_bad_values_name_the_variable(env, word):
    with pytest.raises(SettingsError, match=word):
        Settings.from_env(env)


def test_production_refuses_generated_keys():
    with pytest.raises(SettingsError, match="DATA_KEYS"):
        Settings.from_env({"ENV": "production"})


def test_development_generates_a_data_key_once(tmp_path):
    settings = Settings.from_env({"DATA_DIR": str(tmp_path)})
    assert settings.resolved_data_keys() == settings.resolved_data_keys()
    assert (tmp_path / "dev-data-key.txt").stat().st_mode & 0o077 == 0


def test_every_setting_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    missing = [s.name for s in SETTINGS_DOC if f"`{s.name}`" not in readme]
    assert not missing, f"README lacks: {missing}"


def test_the_readme_tables_are_current():
    import importlib.util

    spec = importlib.util.spec_from_file_location("update", ROOT / "scripts/update_readme_settings.py")
    update = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(update)
    readme = (ROOT / "README.md").read_text()
    assert Settings.describe() in readme, "run: python scripts/update_readme_settings.py"
    assert update.provider_tables() in readme, "run: python scripts/update_readme_settings.py"
