"""Presets: ready-made mappings for the standard deal exports of common CRMs.

Each preset is a mapping YAML in ``salesnb/presets/`` (``salesforce.yaml``, ...) holding the
CRM's standard export headers, its default stages (written as the dataset's playbook) and
its date and probability conventions. ``docs/importing.md`` says which export produces
the file each preset expects.
"""

from __future__ import annotations

from pathlib import Path

from salesnb.data.importing.errors import MappingError
from salesnb.data.importing.mapping import Mapping, load_mapping, mapping_from_text

PRESETS_DIR = Path(__file__).resolve().parents[1] / "presets"


def preset_names() -> list[str]:
    return sorted(path.stem for path in PRESETS_DIR.glob("*.yaml") if "." not in path.stem)


def preset_path(name: str) -> Path:
    path = PRESETS_DIR / f"{str(name).strip().lower()}.yaml"
    if not path.is_file() or "." in path.stem:
        raise MappingError(f"Unknown preset '{name}'; the presets are {', '.join(preset_names())}. "
                           "For another export layout write a mapping file (docs/importing.md) and pass --mapping.")
    return path


def load_preset(name: str) -> Mapping:
    path = preset_path(name)
    mapping = mapping_from_text(path.read_text(encoding="utf-8"), label=f"Preset '{path.stem}'")
    mapping.is_preset = True
    return mapping


def resolve_mapping(mapping=None, preset: str | None = None) -> Mapping:
    """The mapping to import with: a file (``--mapping``) or a preset name (``--preset``), not both."""
    if isinstance(mapping, Mapping):
        return mapping
    if mapping is not None and preset is not None:
        raise MappingError("Give either --mapping or --preset, not both.")
    if mapping is not None:
        return load_mapping(mapping)
    if preset is not None:
        return load_preset(preset)
    raise MappingError(f"Say how to read the export: --preset {'|'.join(preset_names())}, or --mapping FILE "
                       "(see docs/importing.md).")
