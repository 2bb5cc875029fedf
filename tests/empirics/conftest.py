import pytest

from .fixtures import write_splits


@pytest.fixture
def data_dir(tmp_path):
    return write_splits(tmp_path / "data")


@pytest.fixture(autouse=True)
def isolated_cache(tmp_path, monkeypatch):
    """Features, weak labels and converted models go to a per-test cache."""
    monkeypatch.setenv("W2S_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("W2S_DATA_DIR", raising=False)
