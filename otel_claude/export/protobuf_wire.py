"""Protobuf's wire format, the few pieces OTLP span encoding writes by hand (export/otlp_spans.py), and the SDK's
rules for an attribute value that is not a plain scalar, which go through upb as the SDK's encoder sends them."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList

__all__ = [
    "FIXED32",
    "FIXED64",
    "LENGTH",
    "SMALL_VARINTS",
    "VARINT",
    "any_value",
    "key_value",
    "length_delimited",
    "tag",
    "varint",
]

_log = logging.getLogger(__name__)

VARINT, FIXED64, LENGTH, FIXED32 = 0, 1, 2, 5


def any_value(value: Any) -> AnyValue:
    """The SDK's `_encode_value`, case for case and in the same order (a str is a Sequence, a bool an int)."""
    if value is None:
        return AnyValue()
    if isinstance(value, bool):
        return AnyValue(bool_value=value)
    if isinstance(value, str):
        return AnyValue(string_value=value)
    if isinstance(value, int):
        return AnyValue(int_value=value)
    if isinstance(value, float):
        return AnyValue(double_value=value)
    if isinstance(value, bytes):
        return AnyValue(bytes_value=value)
    if isinstance(value, Sequence):
        return AnyValue(array_value=ArrayValue(values=[any_value(item) for item in value]))
    if isinstance(value, Mapping):
        pairs = [KeyValue(key=str(key), value=any_value(item)) for key, item in value.items()]
        return AnyValue(kvlist_value=KeyValueList(values=pairs))
    raise TypeError(f"Invalid type {type(value)} of value {value}")


def key_value(key: str, value: Any) -> KeyValue | None:
    try:
        return KeyValue(key=key, value=any_value(value))
    except Exception as error:  # the SDK logs and drops an attribute it cannot encode; so does this
        _log.exception("Failed to encode key %s: %s", key, error)
        return None


def tag(message: Any, name: str, wire_type: int) -> bytes:
    """A field's key on the wire, from the message's own descriptor (no field number written here by hand)."""
    return varint(message.DESCRIPTOR.fields_by_name[name].number << 3 | wire_type)


def varint(value: int) -> bytes:
    if value < 0x80:
        return SMALL_VARINTS[value]
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


SMALL_VARINTS = [bytes([value]) for value in range(0x80)]  # most lengths, tags and flags: one byte, made once


def length_delimited(key: bytes, payload: bytes) -> bytes:
    """A length-delimited field: its key (`tag`), the payload's length, the payload."""
    return key + varint(len(payload)) + payload
