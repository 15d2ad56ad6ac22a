"""Every setting: default, environment variable, override, and refusal of bad values."""

from __future__ import annotations

from pathlib import Path

import pytest

from ria.errors import ConfigurationError
from ria.settings import Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.data_dir == Path("ria-data")
    assert settings.database_url is None
    assert settings.catalog_url == f"sqlite:///{Path('ria-data/catalog.sqlite').resolve()}"
    assert settings.workers >= 1
    assert settings.batch_size == 500
    assert settings.fsync is True


def test_environment() -> None:
    env = {
        "RIA_DATA_DIR": "/srv/ria",
        "RIA_DATABASE_URL": "postgresql://ria@db/ria",
        "RIA_WORKERS": "3",
        "RIA_BATCH_SIZE": "7",
        "RIA_FSYNC": "0",
    }
    settings = Settings.from_env(env)
    assert settings.data_dir == Path("/srv/ria")
    assert settings.catalog_url == "postgresql://ria@db/ria"
    assert (settings.workers, settings.batch_size, settings.fsync) == (3, 7, False)
    assert settings.blob_dir == Path("/srv/ria/blobs")


def test_explicit_values_beat_the_environment() -> None:
    settings = Settings.from_env(
        {"RIA_DATA_DIR": "/from/env", "RIA_WORKERS": "3"}, data_dir=Path("/cli"), workers=None
    )
    assert settings.data_dir == Path("/cli")
    assert settings.workers == 3


@pytest.mark.parametrize(
    "env",
    [
        {"RIA_WORKERS": "many"},
        {"RIA_WORKERS": "0"},
        {"RIA_BATCH_SIZE": "-1"},
        {"RIA_DATABASE_URL": "catalog.db"},
    ],
)
def test_bad_values_are_configuration_errors(env: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


def test_blob_store_setting() -> None:
    assert Settings.from_env({}).blob_store is None
    assert Settings.from_env({"RIA_BLOB_STORE": "Files"}).blob_store == "files"
    with pytest.raises(ConfigurationError):
        Settings.from_env({"RIA_BLOB_STORE": "s3"})


def test_uid_root_setting_and_private_folder(tmp_path: Path) -> None:
    assert Settings.from_env({}).uid_root == "2.25"
    settings = Settings.from_env(
        {"RIA_UID_ROOT": " 1.2.826.0.1.3680043.10.999 ", "RIA_DATA_DIR": str(tmp_path)}
    )
    assert settings.uid_root == "1.2.826.0.1.3680043.10.999"
    assert settings.private_dir == tmp_path / "private"


def test_remote_root_setting(tmp_path: Path) -> None:
    assert Settings.from_env({}).remote_root is None
    assert Settings.from_env({"RIA_REMOTE_ROOT": str(tmp_path)}).remote_root == tmp_path
    assert Settings.from_env({"RIA_REMOTE_ROOT": "~/mirror"}).remote_root == Path("~/mirror").expanduser()
    given = Settings.from_env({"RIA_REMOTE_ROOT": "/from/env"}, remote_root=tmp_path / "cli")
    assert given.remote_root == tmp_path / "cli"
