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


@pytest.fixture(params=[True, False], ids=["native-bf16", "no-native-bf16"])
def forced_native_bf16(request, monkeypatch) -> bool:
    """The hardware reading behind --bf16 auto forced each way ($W2S_NATIVE_BF16), so that a machine of
    either kind runs both paths."""
    monkeypatch.setenv("W2S_NATIVE_BF16", "1" if request.param else "0")
    return request.param
