"""Layered settings, shared by the app's Settings and the deploy's DeploySettings:
flag > environment > TOML file > default, each value converted to its field's type with
an error that names the setting (never its value when the field is secret)."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from ragstream.errors import ConfigError

T = TypeVar("T")
TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")
_SCALARS: dict[Any, type] = {
    Path: Path,
    int: int,
    float: float,
    int | None: int,
    float | None: float,
}


def read_table(path: Path, table: str, what: str = "settings file") -> dict[str, Any]:
    """The `[table]` of a TOML file (or the whole file when it has no such table)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None
    return dict(data.get(table, data))


def build(cls: type[T], *layers: Mapping[str, Any], where: str = "") -> T:
    """An instance of the dataclass `cls` from layers, later ones winning; None values
    (a flag not given) are skipped. `where` prefixes an unknown-setting error."""
    values: dict[str, Any] = {}
    for layer in layers:
        values.update({k: v for k, v in layer.items() if v is not None})
    hints = get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        prefix = f"{where}: " if where else ""
        noun = "setting" if len(unknown) == 1 else "settings"
        raise ConfigError(
            f"{prefix}unknown {noun} {', '.join(repr(u) for u in unknown)}; "
            f"known: {', '.join(sorted(known))}"
        )
    return cls(**{k: convert(k, v, hints[k]) for k, v in values.items()})


def convert(name: str, raw: Any, hint: Any) -> Any:
    """Turn a value from a file, env or flag into the field's type; name the setting if bad."""
    if hint == tuple[str, ...]:
        items = raw.split(",") if isinstance(raw, str) else raw
        return tuple(str(item).strip() for item in items if str(item).strip())
    if hint is bool and isinstance(raw, str):
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        raise ConfigError(f"setting {name}={raw!r} is not a boolean (true/false)")
    if hint == (str | None) and isinstance(raw, str):
        return raw or None
    target = _SCALARS.get(hint)
    if target is None or (isinstance(raw, target) and not isinstance(raw, bool)):
        return raw
    try:
        return target(raw)
    except (TypeError, ValueError):
        kind = "whole number" if target is int else f"valid {target.__name__}"
        raise ConfigError(f"setting {name}={raw!r} is not a {kind}") from None
