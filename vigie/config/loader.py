"""Reading config.yaml and turning validation errors into one clear line."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pydantic import ValidationError

from vigie.errors import ConfigError

if TYPE_CHECKING:
    from vigie.config import Config


class UniqueKeyLoader(yaml.SafeLoader):
    """A SafeLoader that rejects a key given twice in one mapping.

    Plain YAML keeps the last value silently, so a duplicated ``port:`` would hide
    the first one.
    """

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.setdefault(key, key_node.start_mark.line + 1)
            except TypeError:
                continue  # an unhashable key; the base class reports it
            if first != key_node.start_mark.line + 1:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first given at line {first})",
                    key_node.start_mark,
                )
        return super().construct_mapping(node, deep=deep)


# pydantic's wording for Python types, and what a YAML author calls them.
FRIENDLY_MESSAGES = (
    (r"^Input should be a valid tuple", "expected a list"),
    (
        r"^Tuple should have at least 1 item after validation, not 0",
        "expected a list with at least one entry",
    ),
    (
        r"^Input should be a valid dictionary( or instance of \w+)?",
        "expected a mapping of keys to values",
    ),
)


def load_config(path: str | os.PathLike, data_dir: str | None = None) -> Config:
    """Read and validate a config file. Raises ConfigError with file, key and reason.

    ``data_dir`` overrides the file's data_dir. A relative data_dir in the file is
    taken relative to the current folder, as a command-line path would be.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: file not found; pass an existing --config"
        ) from None
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"{path}: not UTF-8 text (invalid byte at offset {err.start});"
            " save the file as UTF-8"
        ) from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot be read: {err.strerror}") from None

    try:
        node = yaml.compose(text, Loader=UniqueKeyLoader)
        raw = yaml.load(text, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = (
            f"{path}: line {mark.line + 1}, column {mark.column + 1}" if mark else path
        )
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except ValueError as err:
        # Python refuses to convert an integer of thousands of digits.
        problem = str(err).split(";")[0]
        raise ConfigError(f"{path}: invalid YAML value: {problem}") from None

    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)

    try:
        from vigie.config import Config

        return Config.model_validate(raw)
    except ValidationError as err:
        raise ConfigError(_describe(path, err, node, raw)) from None


def _describe(path: Path, err: ValidationError, node, raw: dict) -> str:
    """Turn the first pydantic error into one line: file, key path, value, reason."""
    error = _most_specific(err.errors())
    loc = [part for part in error["loc"] if not _is_union_tag(part)]
    message = error["msg"].removeprefix("Value error, ")
    for pattern, replacement in FRIENDLY_MESSAGES:
        message = re.sub(pattern, replacement, message)
    kind = error["type"]

    # Cross-field checks name the key they are about at the start of their message.
    key_match = re.match(r"^([\w\[\].]+): (.*)$", message)
    if key_match:
        loc = loc + _parse_key_path(key_match.group(1))
        message = key_match.group(2)

    key = _format_key_path(loc) or "(top level)"
    line = _line_of(node, loc)
    where = f"{path}:{line}" if line else f"{path}"

    if kind == "extra_forbidden":
        reason = f"unknown key {loc[-1]!r}; check its spelling or remove it"
    elif kind == "missing":
        reason = "missing required key"
    elif kind == "union_tag_invalid" or kind == "union_tag_not_found":
        reason = "unknown or missing protocol; use modbus_tcp or opcua"
    else:
        value = _value_at(raw, loc)
        scalar = value is None or isinstance(value, (str, int, float, bool))
        got = ""
        if value is not _MISSING and scalar and repr(value) not in message:
            got = f" (got {value!r})"
        reason = f"{message}{got}"
    return f"{where}: {key}: {reason}"


_MISSING = object()


def _most_specific(errors: list[dict]) -> dict:
    # Unknown keys and wrong types are the usual slips; report the deepest error first.
    return max(errors, key=lambda e: len(e["loc"]))


def _is_union_tag(part) -> bool:
    return part in ("modbus_tcp", "opcua")


def _parse_key_path(text: str) -> list:
    loc: list = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", text):
        loc.append(int(index) if index else name)
    return loc


def _format_key_path(loc: list) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def _value_at(raw, loc: list):
    current = raw
    for part in loc:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return _MISSING
    return current


def _line_of(node, loc: list) -> int | None:
    """Line number (1-based) of the deepest YAML node on the key path."""
    line = None
    current = node
    for part in loc:
        if current is None:
            break
        line = current.start_mark.line + 1
        if isinstance(current, yaml.MappingNode) and isinstance(part, str):
            current = next(
                (v for k, v in current.value if getattr(k, "value", None) == part), None
            )
            if current is None:
                break
        elif isinstance(current, yaml.SequenceNode) and isinstance(part, int):
            current = current.value[part] if part < len(current.value) else None
        else:
            break
    else:
        if current is not None:
            line = current.start_mark.line + 1
    return line
