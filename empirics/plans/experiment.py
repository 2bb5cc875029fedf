"""A sweep: the experiment (settings shared by every run) and the grid, saved as ``sweep.json`` and read back
by :meth:`Sweep.from_json`. Nothing here imports torch."""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path

from core.errors import ConfigError

from .options import SECTIONS, DataConfig, FinetuneConfig, GridConfig, HeadConfig, LossConfig, SetupConfig


@dataclass(frozen=True)
class Experiment:
    """Settings shared by every run of a sweep."""

    data: DataConfig = field(default_factory=DataConfig)
    setup: SetupConfig = field(default_factory=SetupConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    head: HeadConfig = field(default_factory=HeadConfig)
    finetune: FinetuneConfig = field(default_factory=FinetuneConfig)

    def __post_init__(self):
        if len(self.head.head_l2) > 1 and self.data.heldout_frac == 0:
            raise ConfigError("--head-l2 lists several values but --heldout-frac is 0: nothing to choose on")

    @property
    def mode(self) -> str:
        return self.setup.mode

    @property
    def gamma(self) -> float:
        return self.loss.gamma


# which field of an Experiment holds each section, by the resolved type (not the annotation's spelling)
EXPERIMENT_FIELD = {section: name for name, section in typing.get_type_hints(Experiment).items()}


@dataclass(frozen=True)
class Sweep:
    experiment: Experiment = field(default_factory=Experiment)
    grid: GridConfig = field(default_factory=GridConfig)
    description: str = ""
    notes: tuple[str, ...] = ()

    def section(self, cls: type):
        """The instance of one of :data:`SECTIONS` in this sweep."""
        if cls is GridConfig:
            return self.grid
        return getattr(self.experiment, EXPERIMENT_FIELD[cls])

    def with_options(self, given: dict) -> Sweep:
        """This sweep with options set by name (the CLI's parsed values): each goes to the one section
        that has it. An unknown name is a ConfigError."""
        owners = {f.name: cls for cls in SECTIONS for f in dataclasses.fields(cls)}
        unknown = sorted(set(given) - set(owners))
        if unknown:
            raise ConfigError(f"unknown option(s): {', '.join(unknown)}")
        sw = self
        for cls in SECTIONS:
            mine = {k: v for k, v in given.items() if owners[k] is cls}
            if not mine:
                continue
            new = dataclasses.replace(sw.section(cls), **mine)
            if cls is GridConfig:
                sw = dataclasses.replace(sw, grid=new)
            else:
                name = EXPERIMENT_FIELD[cls]
                sw = dataclasses.replace(sw, experiment=dataclasses.replace(sw.experiment, **{name: new}))
        return sw

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | str | Path, strict: bool = False) -> Sweep:
        """A Sweep from its JSON form (a dict, or the path of a sweep.json). Fields it lacks take their
        defaults, unless `strict` (``--from-sweep``): then a missing section or field is an error too, since a
        saved sweep must say everything it runs."""
        if isinstance(data, (str, Path)):
            path = Path(data)
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except FileNotFoundError:
                raise ConfigError(f"no such file: {path}") from None
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{path}: malformed JSON ({exc.msg}, line {exc.lineno})") from None
            except UnicodeDecodeError:
                raise ConfigError(f"{path}: not UTF-8 text") from None
            except RecursionError:
                raise ConfigError(f"{path}: nested too deeply to be a sweep") from None
            except ValueError as exc:  # e.g. an integer of thousands of digits
                raise ConfigError(f"{path}: unreadable JSON ({str(exc)[:100]})") from None
            except OSError as exc:  # a folder, an unreadable file (EIO, no permission)
                raise ConfigError(f"cannot read {path}: {exc.strerror or exc}") from None
            try:
                return cls.from_json(data, strict)
            except ConfigError as exc:
                raise ConfigError(
                    f"{path}: {exc} (written by another version of the suite? rerun the sweep)"
                ) from None
        if isinstance(data, dict):
            data = {
                k: v for k, v in data.items() if k != "provenance"
            }  # what a sweep read, recorded beside it
        if strict:
            missing = _missing_fields(cls, data, "")
            if missing:
                raise ConfigError(f"missing field(s) {', '.join(missing)}")
        return _build(cls, data, "sweep")


def _missing_fields(cls: type, data, where: str) -> list[str]:
    """The fields of dataclass `cls` (recursively) that `data` lacks, as dotted paths."""
    if not isinstance(data, dict):
        return []  # _build says what is wrong with a non-object
    hints, out = typing.get_type_hints(cls), []
    for f in dataclasses.fields(cls):
        if f.name not in data:
            out.append(f"{where}{f.name}")
        elif dataclasses.is_dataclass(hints[f.name]):
            out += _missing_fields(hints[f.name], data[f.name], f"{where}{f.name}.")
    return out


def _build(cls: type, data, where: str):
    """Recursively build a dataclass from its asdict() form, with one-line errors naming the field."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"{where}: unknown field(s) {', '.join(unknown)}")
    kw = {}
    for name, value in data.items():
        t = hints[name]
        if dataclasses.is_dataclass(t):
            value = _build(t, value, f"{where}.{name}")
        elif typing.get_origin(t) is tuple and isinstance(value, list):
            value = tuple(value)
        kw[name] = value
    try:
        return cls(**kw)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}") from None
