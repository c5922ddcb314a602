"""Reading input files safely: regular files only, a size cap, bounded nesting, no surprises.

Every input (Phase 1/2 files, pin, constraints and resources files, saved configs, uploads) is
read once as bytes by :func:`read_bytes`, hashed, and decoded by :func:`decode`: JSON, or YAML
for ``.yaml`` / ``.yml`` names. What this refuses, each as one :class:`InputError`:

- a path that is not a regular file (a FIFO would block forever, ``/dev/zero`` never ends);
- a file larger than the cap: ``MPQ_MAX_INPUT_MB`` megabytes (default 256);
- text nested deeper than 200 levels, integers of more than 300 digits, YAML aliases
  (which can expand a small file into gigabytes) and duplicate keys;
- YAML keys that are lists or mappings, and YAML values its own types cannot hold (a date
  ``2020-13-45``, ``!!int abc``): the message gives the line.

A YAML key is the text written, as a JSON key is: ``1: [...]`` names a layer ``"1"`` and
``4: 0.3`` a width ``"4"`` (YAML would make them numbers, dates or booleans).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

DEFAULT_MAX_INPUT_MB = 256
MAX_DEPTH = 200
MAX_INT_DIGITS = 300


@dataclass(frozen=True)
class InputFile:
    """An input given as bytes (an upload) rather than a path; ``name`` labels it in messages."""

    name: str
    content: bytes = field(repr=False)


@dataclass(frozen=True)
class HugeNumber:
    """An integer literal too long to be a sensible number (kept only to name it)."""

    digits: int

    def __repr__(self) -> str:  # how messages show it
        return f"a {self.digits}-digit number"


def max_input_bytes() -> int:
    """The size cap in bytes (``MPQ_MAX_INPUT_MB``, default 256 MB)."""
    raw = os.environ.get("MPQ_MAX_INPUT_MB", "")
    try:
        megabytes = float(raw) if raw.strip() else DEFAULT_MAX_INPUT_MB
    except ValueError:
        megabytes = DEFAULT_MAX_INPUT_MB
    return int(max(megabytes, 0.001) * 1_000_000)


def read_bytes(source: str | Path | InputFile) -> tuple[str, bytes]:
    """(label, content) of a path or an upload, within the size cap."""
    cap = max_input_bytes()
    if isinstance(source, InputFile):
        if len(source.content) > cap:
            raise InputError(source.name, _too_large(len(source.content), cap))
        return source.name, source.content
    label = str(source)
    path = Path(source)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputError(label, "file not found") from None
    except OSError as exc:
        raise InputError(label, f"cannot read file ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputError(label, "is a directory, not a file")
    if not stat.S_ISREG(info.st_mode):
        raise InputError(label, "is not a regular file (a pipe, device or socket); give a file")
    if info.st_size > cap:
        raise InputError(label, _too_large(info.st_size, cap))
    try:
        with path.open("rb") as handle:
            content = handle.read(cap + 1)
    except OSError as exc:
        raise InputError(label, f"cannot read file ({exc.strerror or exc})") from None
    if len(content) > cap:
        raise InputError(label, _too_large(len(content), cap))
    return label, content


def read_data(source: str | Path | InputFile) -> tuple[str, str, Any]:
    """Read once; return (label, sha256 of the bytes, decoded JSON or YAML)."""
    label, content = read_bytes(source)
    return label, hashlib.sha256(content).hexdigest(), decode(content, label)


def decode(content: bytes, label: str) -> Any:
    """JSON, or YAML when the label ends in .yaml / .yml."""
    if label.lower().endswith((".yaml", ".yml")):
        return _decode_yaml(content, label)
    return _decode_json(content, label)


def _text(content: bytes, label: str, kind: str) -> str:
    """The file's UTF-8 text (a BOM dropped), its nesting checked."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(label, f"not {kind}: not UTF-8 text ({exc.reason})") from None
    _check_depth(text, label)
    return text


def _decode_json(content: bytes, label: str) -> Any:
    text = _text(content, label, "JSON")
    try:
        return json.loads(text, object_pairs_hook=_no_duplicates, parse_int=_parse_int)
    except _DuplicateKey as dup:
        raise InputError(label, "duplicate name in the file", layer=dup.key) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            label, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise InputError(label, f"not usable: nested deeper than {MAX_DEPTH} levels") from None


def _decode_yaml(content: bytes, label: str) -> Any:
    import yaml  # only YAML inputs need it

    text = _text(content, label, "YAML")
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                raise InputError(label, "YAML aliases (*name) are not accepted")
        data = yaml.load(text, Loader=_unique_key_loader())
    except _DuplicateKey as dup:
        raise InputError(label, "duplicate name in the file", layer=dup.key) from None
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        at = f" at line {where.line + 1} column {where.column + 1}" if where else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise InputError(label, f"not YAML: {problem}{at}") from None
    except RecursionError:
        raise InputError(label, f"not usable: nested deeper than {MAX_DEPTH} levels") from None
    return _huge_ints(data)


def _check_depth(text: str, label: str) -> None:
    """Refuse text that opens more than MAX_DEPTH brackets at once (outside strings)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                raise InputError(label, f"not usable: nested deeper than {MAX_DEPTH} levels")
        elif char in "]}":
            depth -= 1


def _parse_int(text: str) -> int | HugeNumber:
    digits = len(text.lstrip("-"))
    return HugeNumber(digits) if digits > MAX_INT_DIGITS else int(text)


def _huge_ints(data: Any) -> Any:
    if isinstance(data, bool):
        return data
    if isinstance(data, int):
        return HugeNumber(len(str(abs(data)))) if data.bit_length() > 1000 else data
    if isinstance(data, dict):
        return {k: _huge_ints(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_huge_ints(v) for v in data]
    return data


class _DuplicateKey(Exception):
    def __init__(self, key: str):
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return out


_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
# what YAML's own constructors raise on a value they cannot hold (!!int abc, a 13th month)
_UNREADABLE = (ValueError, TypeError, OverflowError, IndexError, KeyError, AttributeError)


@functools.cache
def _unique_key_loader() -> type:
    """A YAML SafeLoader whose keys are the text written (as JSON's are), that refuses
    duplicate keys, keeps long integers as :class:`HugeNumber` and reports a value its types
    cannot hold as a YAML error with its line (built on first use: yaml is imported only
    when a YAML file is read)."""
    import yaml

    class UniqueKeyLoader(yaml.SafeLoader):
        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise yaml.constructor.ConstructorError(
                        None, None, "a key must be a name, not a list or mapping",
                        key_node.start_mark,
                    )  # fmt: skip
                if key_node.tag != _MERGE_TAG:
                    key_node.tag = _STR_TAG
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise _DuplicateKey(str(key))
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

        def construct_object(self, node, deep=False):
            try:
                return super().construct_object(node, deep=deep)
            except _UNREADABLE as exc:
                raise yaml.constructor.ConstructorError(
                    None, None, f"unreadable value {str(node.value)[:40]!r} ({exc})",
                    node.start_mark,
                ) from None  # fmt: skip

        def construct_huge_int(self, node):
            text = str(node.value).replace("_", "").lstrip("+-")
            if len(text) > MAX_INT_DIGITS:
                return HugeNumber(len(text))
            return self.construct_yaml_int(node)

    UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", UniqueKeyLoader.construct_huge_int)
    return UniqueKeyLoader


def _too_large(size: int, cap: int) -> str:
    return (
        f"is {size / 1e6:,.1f} MB, over the {cap / 1e6:,.0f} MB limit for inputs "
        "(raise it with the environment variable MPQ_MAX_INPUT_MB)"
    )
