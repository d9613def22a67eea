"""params.yaml: loading, profiles and validation.

``params.yaml`` holds one section per study plus ``common``. A study section's plain keys
are its *quick* profile (the embedded default); an optional ``profiles`` mapping holds
overlays: ``standard`` or ``paper`` (applied when ``common.profile`` names it) and ``smoke`` (applied
on top when a notebook runs with ``smoke=True``, as tests and CI do).

Each section is validated by a pydantic model registered in :data:`SECTIONS`. Unknown
keys, wrong types and out-of-range values fail with :class:`ParamsError`, whose message
names the key path (``lottery.profiles.paper.budget``) and what is allowed.
"""

from __future__ import annotations

import copy
import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from archlab.core import paths

OVERLAYS = ("standard", "paper", "smoke")


class ParamsError(ValueError):
    """Invalid params.yaml (the message names the key path)."""


class Section(BaseModel):
    """Base of every section model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Common(Section):
    """Settings shared by every study."""

    seed: int = Field(0, ge=0, description="root seed; every random choice derives from it")
    profile: Literal["quick", "standard", "paper"] = "quick"
    executor: Literal["local", "dask"] = "local"
    workers: int = Field(2, ge=1, le=4096, description="local processes or dask workers")
    dask_address: str | None = Field(None, description="tcp://host:port, or null for a LocalCluster")


class DemoParams(Section):
    """A minimal study section: the template for new studies and the end-to-end test."""

    n: int = Field(10, ge=1, le=1_000_000, description="number of samples")
    scale: float = Field(1.0, gt=0, description="multiplier applied to the samples")
    label: str = "demo"


# section name -> "module:Model"; a study registers its model here. A registry by name, imported
# only when that section is loaded, so `core` never imports a study (docs/architecture.md).
SECTIONS: dict[str, str] = {
    "common": "archlab.core.params:Common",
    "demo": "archlab.core.params:DemoParams",
    "dram_space": "archlab.studies.dram_space.params:DramSpaceParams",
    "accel_space": "archlab.studies.accel_space.params:AccelSpaceParams",
    "lottery": "archlab.studies.lottery.params:LotteryParams",
    "sweep": "archlab.sweep.spec:SweepSpec",  # a generic sweep (archlab sweep run --section sweep)
    "proxy": "archlab.studies.proxy.params:ProxyParams",
    "gemm": "archlab.studies.gemm.params:GemmParams",
    "odt": "archlab.studies.ondevice.params:OdtParams",
    "marl": "archlab.studies.marl.params:MarlParams",
    "dram_tables": "archlab.problems.dram.table:DramTablesParams",
}


def model_for(section: str) -> type[Section]:
    """The pydantic model validating ``section``."""
    if section not in SECTIONS:
        raise ParamsError(f"unknown params section {section!r}; allowed: {', '.join(SECTIONS)}")
    module, _, name = SECTIONS[section].partition(":")
    return getattr(importlib.import_module(module), name)


def read(path: Path | None = None) -> dict[str, Any]:
    """Raw params.yaml as a dict (no validation)."""
    path = Path(path) if path else paths.params_file()
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path}: no such params file") from None
    except yaml.YAMLError as e:
        raise ParamsError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(data, dict):
        raise ParamsError(f"{path}: top level must be a mapping of sections")
    return data


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in (nested mappings merge, everything else replaces)."""
    out = copy.deepcopy(dict(base))
    for k, v in overlay.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _validate(section: str, values: Mapping[str, Any], where: str) -> Section:
    model = model_for(section)
    try:
        return model.model_validate(dict(values))
    except ValidationError as e:
        raise ParamsError(_format(e, model, where)) from None


def _format(err: ValidationError, model: type[BaseModel], where: str) -> str:
    lines = []
    for item in err.errors():
        loc = ".".join(str(p) for p in item["loc"])
        msg = item["msg"]
        if item["type"] == "extra_forbidden":
            msg = f"unknown key; allowed: {', '.join(_allowed_keys(model, item['loc'][:-1]))}"
        elif "input" in item and item["type"] != "missing":
            msg = f"{msg} (got {item['input']!r})"
        lines.append(f"{where}.{loc}: {msg}")
    return "invalid params:\n  " + "\n  ".join(lines)


def _allowed_keys(model: type[BaseModel], loc: tuple) -> list[str]:
    """Field names of the (possibly nested) model at ``loc``."""
    for part in loc:
        if isinstance(part, int):
            continue
        ann = model.model_fields[part].annotation
        inner = [a for a in getattr(ann, "__args__", (ann,)) if isinstance(a, type)
                 and issubclass(a, BaseModel)]
        if not inner:
            break
        model = inner[0]
    return list(model.model_fields)


def _split(section: str, raw: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ParamsError(f"{section}: must be a mapping, got {type(raw).__name__}")
    base = {k: v for k, v in raw.items() if k != "profiles"}
    overlays = raw.get("profiles") or {}
    if section == "common" and "profiles" in raw:
        raise ParamsError("common.profiles: the common section takes no profiles")
    bad = sorted(set(overlays) - set(OVERLAYS))
    if bad:
        raise ParamsError(f"{section}.profiles: unknown profile(s) {bad}; allowed: {', '.join(OVERLAYS)}")
    return base, dict(overlays)


def validate_all(data: Mapping[str, Any] | None = None) -> dict[str, Section]:
    """Validate every section under every overlay; return the active values per section."""
    data = read() if data is None else data
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise ParamsError(f"unknown params section(s) {unknown}; allowed: {', '.join(SECTIONS)}")
    common = _validate("common", _split("common", data.get("common"))[0], "common")
    active = {"common": common}
    for section, raw in data.items():
        if section == "common":
            continue
        base, overlays = _split(section, raw)
        _validate(section, base, section)
        for name, overlay in overlays.items():
            _validate(section, deep_merge(base, overlay or {}), f"{section}.profiles.{name}")
        active[section] = _resolve(section, base, overlays, common.profile, smoke=False)
    return active


def _resolve(section: str, base: dict, overlays: dict, profile: str, smoke: bool) -> Section:
    values = base
    if profile in ("standard", "paper") and profile in overlays:
        values = deep_merge(values, overlays[profile] or {})
    if smoke and "smoke" in overlays:
        values = deep_merge(values, overlays["smoke"] or {})
    label = section + (".profiles.smoke" if smoke else "")
    return _validate(section, values, label)


def load_section(section: str, smoke: bool = False, data: Mapping[str, Any] | None = None) -> Any:
    """Validated values of ``section`` under the active profile (plus ``smoke`` overlay)."""
    model_for(section)  # unknown section names fail first
    data = read() if data is None else data
    validate_all(data)
    if section == "common":
        return _validate("common", _split("common", data.get("common"))[0], "common")
    if section not in data:
        raise ParamsError(f"params.yaml has no section {section!r}; present: {', '.join(data)}")
    common = load_section("common", data=data)
    base, overlays = _split(section, data[section])
    return _resolve(section, base, overlays, common.profile, smoke)


def as_dict(section_values: BaseModel) -> dict[str, Any]:
    """Plain-dict view (for printing in reports and hashing into ids)."""
    return section_values.model_dump(mode="json")
