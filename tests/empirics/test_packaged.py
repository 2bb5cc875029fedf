"""Packaged GGUF decoders (empirics.inputs.packaged): a file is assembled from its parts in order and used
only if
its size and sha256 are the expected ones (anything else is refused in one line and never left in place), the
converted folder is cached, and a missing package names the one command that obtains it. No real model file is
needed: the parts are written here."""

import dataclasses
import hashlib

import pytest

from core.errors import ModelError
from empirics.cli import main
from empirics.inputs import packaged
from empirics.registries.models import DECODER_TYPES, MODELS


@pytest.fixture
def parts(tmp_path):
    paths = []
    for i, size in enumerate((3_000_000, 5_000_001, 17)):
        p = tmp_path / "pkg" / f"part0{i + 1}.bin"
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(bytes((i * 37 + k) % 251 for k in range(size)))
        paths.append(p)
    return paths


def entry_for(paths, digest=None, size=None) -> packaged.PackagedGguf:
    joined = b"".join(p.read_bytes() for p in paths)
    return dataclasses.replace(
        packaged.PACKAGED_GGUF["qwen2.5-coder-0.5b-instruct-q4"],
        size=len(joined) if size is None else size,
        sha256=hashlib.sha256(joined).hexdigest() if digest is None else digest,
    )


def test_the_parts_are_joined_in_order_and_verified(parts, tmp_path):
    dest = tmp_path / "cache" / "m.gguf"
    assert packaged.assemble(entry_for(parts), parts, dest, progress=False) == dest
    assert dest.read_bytes() == b"".join(p.read_bytes() for p in parts)
    assert packaged.assemble(entry_for(parts), parts, dest, progress=False) == dest  # verified, reused
    assert [p.name for p in dest.parent.iterdir()] == ["m.gguf"]  # no temporary file left


@pytest.mark.parametrize("wrong", ["hash", "size", "order"])
def test_anything_but_the_expected_file_is_refused_and_not_kept(parts, tmp_path, wrong):
    dest = tmp_path / "cache" / "m.gguf"
    entry = {
        "hash": entry_for(parts, digest="0" * 64),
        "size": entry_for(parts, size=1),
        "order": entry_for(parts),
    }[wrong]
    given = list(reversed(parts)) if wrong == "order" else parts
    with pytest.raises(ModelError, match="refused") as err:
        packaged.assemble(entry, given, dest, progress=False)
    assert "\n" not in str(err.value)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


def test_a_cached_file_changed_since_is_refused(parts, tmp_path):
    dest = tmp_path / "cache" / "m.gguf"
    packaged.assemble(entry_for(parts), parts, dest, progress=False)
    data = bytearray(dest.read_bytes())
    data[123] ^= 1
    dest.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="refused"):
        packaged.assemble(entry_for(parts), parts, dest, progress=False)


def test_a_converted_folder_is_used_without_reading_the_file_again(tmp_path):
    target = tmp_path / "cache" / "models" / "m"
    target.mkdir(parents=True)
    (target / "config.json").write_text("{}")

    def never():
        raise AssertionError("the GGUF file was read although its converted folder is cached")

    assert packaged.converted("m", never) == target


def test_a_missing_package_names_the_command_that_obtains_it():
    entry = dataclasses.replace(
        packaged.PACKAGED_GGUF["smollm2-135m-instruct-q4"],
        packages=(("not-a-real-package==1.0", "not_a_real_package_w2s"),),
        parts=(("not_a_real_package_w2s", "x.gguf"),),
    )
    assert packaged.missing_packages(entry) == ["not-a-real-package==1.0"]
    with pytest.raises(ModelError, match="w2s-empirics prepare smollm2-135m-instruct-q4 --install"):
        packaged.part_paths(entry)


def test_the_ladder_models_are_registered_for_what_they_are():
    """Written out from the packages' own listing (not read back from the code)."""
    want = {
        "smollm2-135m-instruct-q4": (
            "llama",
            "HuggingFaceTB/SmolLM2-135M",
            98_362_432,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            1,
        ),
        "qwen2.5-coder-0.5b-instruct-q4": (
            "qwen2",
            "Qwen/Qwen2.5-0.5B",
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            6,
        ),
    }
    for name, (model_type, base, size, digest, n_parts) in want.items():
        m, e = MODELS[name], packaged.PACKAGED_GGUF[name]
        assert (m.kind, m.source, m.model_type, m.hub_base) == ("decoder", "package", model_type, base)
        assert model_type in DECODER_TYPES
        assert (e.size, e.sha256, len(e.parts), e.hub_base) == (size, digest, n_parts, base)
        assert all(req.endswith("==0.1.2") or req.endswith("==0.9.0") for req, _ in e.packages)


def test_prepare_refuses_an_unknown_model_before_any_work(capsys):
    assert main(["prepare", "gpt2"]) == 2
    err = capsys.readouterr().err.strip()
    assert "nothing to prepare for 'gpt2'" in err
    assert "qwen2.5-coder-0.5b-instruct-q4" in err
    assert len(err.splitlines()) == 1
