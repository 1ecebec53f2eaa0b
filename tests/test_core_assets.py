"""Assets: shipped files and optional packages, with errors that say what to install."""

import pytest

from deletionlab.core import MissingAsset, asset_path, has_package, require_package
from deletionlab.core.assets import ASSETS_ROOT, first_available, hf_cache_dir, models_dir


def test_asset_root_is_inside_the_package():
    assert ASSETS_ROOT.name == "assets" and ASSETS_ROOT.parent.name == "deletionlab"
    assert asset_path("does-not-exist", must_exist=False).parent == ASSETS_ROOT


def test_missing_shipped_file_names_itself():
    with pytest.raises(MissingAsset) as err:
        asset_path("nope", "model.bin")
    assert "deletionlab/assets/nope/model.bin" in str(err.value)


def test_optional_package_present_and_missing():
    assert has_package("numpy") and not has_package("surely_not_a_package_xyz")
    assert require_package("json").dumps([1]) == "[1]"
    with pytest.raises(MissingAsset) as err:
        require_package("surely_not_a_package_xyz", "surely-not-a-package")
    assert "pip install surely-not-a-package" in str(err.value)
    assert first_available("surely_not_a_package_xyz", "json") == "json"


def test_configured_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("DELETIONLAB_MODELS", str(tmp_path))
    assert models_dir() == tmp_path
    monkeypatch.setenv("DELETIONLAB_MODELS", str(tmp_path / "missing"))
    assert models_dir() is None
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    assert hf_cache_dir() == tmp_path / "hub"
