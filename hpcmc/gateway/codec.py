"""Protobuf ⇄ Python for the gateway: envelopes with HMAC, requests, task results.

The wire format is ``proto/hpcmc.proto`` (generated module :mod:`hpcmc.gateway.hpcmc_pb2`).
Every ZeroMQ message body is one serialized :class:`Envelope` whose ``payload`` is a
serialized ``Request`` (client → server) or ``Reply`` (server → client).

Authentication
--------------
With a shared key, the envelope's ``hmac_sha256`` is HMAC-SHA256 over the canonical bytes
(:func:`signing_bytes`)::

    b"hpcmc-gateway-v1\\0" || u32be(protocol_version) || i64be(unix_time_ms)
                          || u32be(len(nonce)) || nonce || payload

Tags are compared with :func:`hmac.compare_digest`. A keyed server additionally runs every
authenticated envelope through a :class:`ReplayGuard`: the timestamp must lie within
``±window_s`` of the server clock and the nonce must not have been accepted within the window.
A captured request therefore cannot be replayed, neither inside the window (nonce already seen)
nor after it (stale timestamp). Replies are signed with the request's nonce echoed, so a keyed
client can check a reply's origin and that it answers its own request.

Errors
------
Decoding problems raise :class:`CodecError` (a ``ValueError``) carrying the name of the
``Error.Code`` the server answers with; error *replies* surface in the client as
:class:`GatewayError` (a ``RuntimeError``).
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import json
import math
import os
import struct
import time
from pathlib import Path
from typing import Any, Mapping, Optional

import numpy as np
from google.protobuf.message import Message
from google.protobuf.unknown_fields import UnknownFieldSet

from hpcmc.gateway import hpcmc_pb2 as pb
from hpcmc.runtime.task import Task, TallyResult, TaskResult
from hpcmc.runtime.text import clean_text

__all__ = [
    "PROTOCOL_VERSION",
    "NONCE_BYTES",
    "MIN_KEY_BYTES",
    "RESERVED_APP_MEMBERS",
    "CodecError",
    "GatewayError",
    "ReplayGuard",
    "check_auth_key",
    "load_auth_key",
    "signing_bytes",
    "hmac_tag",
    "encode_envelope",
    "decode_envelope",
    "simulate_app_names",
    "simulate_request",
    "status_request",
    "shutdown_request",
    "parse_request",
    "request_fields",
    "encode_task_result",
    "decode_task_result",
    "error_reply",
    "parse_reply",
    "status_to_dict",
]

#: Protocol version spoken by this module (the ``Protocol.PROTOCOL_VERSION`` enum value).
PROTOCOL_VERSION: int = pb.PROTOCOL_VERSION
#: Length of the nonces this module makes [bytes]; a keyed server accepts 16..64.
NONCE_BYTES = 16
MAX_NONCE_BYTES = 64
#: Shortest accepted HMAC key [bytes].
MIN_KEY_BYTES = 16
#: ``SimulateRequest`` field numbers reserved for later apps (mirrors ``reserved`` in the proto).
RESERVED_APP_MEMBERS = {3: "minibeam", 4: "imrt"}
_DOMAIN = b"hpcmc-gateway-v1\0"
_TAG_BYTES = hashlib.sha256().digest_size


class CodecError(ValueError):
    """A message that cannot be accepted; ``code`` names the ``Error.Code`` to answer with.

    Parameters
    ----------
    code : str
        ``"MALFORMED"``, ``"VERSION_MISMATCH"``, ``"UNKNOWN_APP"``, ``"UNAUTHENTICATED"``, ...
    message : str
        Human-readable cause.
    """

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


class GatewayError(RuntimeError):
    """An error reply from a gateway server (or a reply the client cannot accept).

    Parameters
    ----------
    code_name : str
        Name of the ``Error.Code``, e.g. ``"INVALID_ARGUMENT"``.
    message : str
        The server's message.
    """

    def __init__(self, code_name: str, message: str):
        super().__init__(f"{code_name}: {message}")
        self.code_name = code_name
        self.message = message


# ----------------------------------------------------------------------------- keys, HMAC


def check_auth_key(key: Optional[bytes]) -> Optional[bytes]:
    """Validate an HMAC key: ``None`` (no authentication) or at least 16 bytes.

    Raises
    ------
    TypeError, ValueError
        For a non-bytes or too short key.
    """
    if key is None:
        return None
    if not isinstance(key, (bytes, bytearray)):
        raise TypeError(f"auth_key must be bytes or None, got {type(key).__name__}")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(
            f"auth_key must be at least {MIN_KEY_BYTES} bytes (e.g. secrets.token_bytes(32)), "
            f"got {len(key)}"
        )
    return bytes(key)


def load_auth_key(path) -> bytes:
    """Read an HMAC key from a file (surrounding whitespace stripped).

    Make one with ``python -c "import secrets; print(secrets.token_hex(32))" > key``
    and keep it readable by its owner only (``chmod 600``).

    Parameters
    ----------
    path : path-like
        Key file.

    Returns
    -------
    bytes
        The key (at least 16 bytes).
    """
    key = Path(path).read_bytes().strip()
    try:
        return check_auth_key(key)
    except ValueError as exc:
        raise ValueError(f"{path}: {exc}") from None


def signing_bytes(protocol_version: int, unix_time_ms: int, nonce: bytes, payload: bytes) -> bytes:
    """The canonical bytes an envelope's HMAC covers (independent of protobuf encoding)."""
    return b"".join(
        (
            _DOMAIN,
            struct.pack(">Iq", protocol_version, unix_time_ms),
            struct.pack(">I", len(nonce)),
            nonce,
            payload,
        )
    )


def hmac_tag(key: bytes, protocol_version: int, unix_time_ms: int, nonce: bytes, payload: bytes) -> bytes:
    """HMAC-SHA256 tag [32 bytes] of an envelope's fields under ``key``."""
    data = signing_bytes(protocol_version, unix_time_ms, nonce, payload)
    return hmac.new(key, data, hashlib.sha256).digest()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


# ----------------------------------------------------------------------------- envelopes


def encode_envelope(
    payload: bytes,
    auth_key: Optional[bytes] = None,
    *,
    nonce: Optional[bytes] = None,
    unix_time_ms: Optional[int] = None,
    protocol_version: int = PROTOCOL_VERSION,
) -> bytes:
    """Wrap a serialized request or reply into a (signed) envelope.

    Parameters
    ----------
    payload : bytes
        Serialized ``Request`` or ``Reply``.
    auth_key : bytes or None
        HMAC key; ``None`` leaves the tag empty.
    nonce : bytes, optional
        Default: 16 fresh random bytes. A reply passes the request's nonce.
    unix_time_ms : int, optional
        Send time [ms since the Unix epoch]; default: now.
    protocol_version : int
        Only tests pass anything but :data:`PROTOCOL_VERSION`.

    Returns
    -------
    bytes
        The serialized envelope (one ZeroMQ frame).
    """
    nonce = os.urandom(NONCE_BYTES) if nonce is None else bytes(nonce)
    unix_time_ms = _now_ms() if unix_time_ms is None else int(unix_time_ms)
    envelope = pb.Envelope(
        protocol_version=protocol_version, payload=payload, unix_time_ms=unix_time_ms, nonce=nonce
    )
    if auth_key is not None:
        envelope.hmac_sha256 = hmac_tag(auth_key, protocol_version, unix_time_ms, nonce, payload)
    return envelope.SerializeToString()


def _parse(message_class, data: bytes, what: str) -> Message:
    try:
        return message_class.FromString(data)
    except Exception as exc:  # DecodeError and anything else the parser raises on junk
        name = message_class.__name__
        raise CodecError("MALFORMED", f"{what} is not a valid hpcmc.v1.{name} ({exc})") from None


def _unknown_field_numbers(message: Message) -> list[int]:
    return sorted({field.field_number for field in UnknownFieldSet(message)})


def _reject_unknown_fields(message: Message, what: str) -> None:
    unknown = _unknown_field_numbers(message)
    if unknown:
        raise CodecError(
            "MALFORMED",
            f"{what} carries field number(s) {unknown} unknown to protocol version {PROTOCOL_VERSION}",
        )


def _check_version(version: int, what: str) -> None:
    if version != PROTOCOL_VERSION:
        raise CodecError(
            "VERSION_MISMATCH",
            f"{what} has protocol_version {version}; this peer speaks {PROTOCOL_VERSION}",
        )


def _check_tag(envelope: pb.Envelope, auth_key: bytes) -> None:
    if not envelope.hmac_sha256:
        raise CodecError("UNAUTHENTICATED", "envelope carries no HMAC tag; this peer requires a key")
    expected = hmac_tag(
        auth_key, envelope.protocol_version, envelope.unix_time_ms, envelope.nonce, envelope.payload
    )
    if not hmac.compare_digest(expected, envelope.hmac_sha256):
        raise CodecError("UNAUTHENTICATED", "HMAC tag does not match (wrong key or altered message)")


def decode_envelope(data: bytes, auth_key: Optional[bytes] = None, what: str = "request") -> pb.Envelope:
    """Parse an envelope and check its version and, with a key, its HMAC tag.

    Replay protection is stateful and separate: see :class:`ReplayGuard`.

    Parameters
    ----------
    data : bytes
        One ZeroMQ frame.
    auth_key : bytes or None
        Key to verify the tag with; ``None`` skips the check.
    what : str
        ``"request"`` or ``"reply"``, for messages.

    Raises
    ------
    CodecError
        ``MALFORMED``, ``VERSION_MISMATCH`` or ``UNAUTHENTICATED``.
    """
    envelope = _parse(pb.Envelope, data, f"{what} frame")
    _check_version(envelope.protocol_version, f"{what} envelope")
    _reject_unknown_fields(envelope, f"{what} envelope")
    if auth_key is not None:
        _check_tag(envelope, auth_key)
    return envelope


class ReplayGuard:
    """Refuse stale timestamps and reused nonces of authenticated envelopes.

    An envelope is accepted if its nonce has 16..64 bytes and was not accepted before, and
    ``|unix_time_ms - now| <= window_s``. Nonces are remembered for as long as their timestamp
    can pass the window check, at most ``max_nonces`` of them; when that many are held, the
    oldest is forgotten and every timestamp up to its timestamp is refused from then on, so no
    replay slips through.

    Parameters
    ----------
    window_s : float
        Accepted clock difference between client and server [s].
    max_nonces : int
        Bound on the remembered nonces (memory).
    clock_ms : callable
        ``clock_ms() -> int``, the server clock [ms since the Unix epoch] (tests inject one).
    """

    def __init__(self, window_s: float = 60.0, max_nonces: int = 100_000, clock_ms=_now_ms):
        if not window_s > 0:
            raise ValueError(f"replay window_s must be > 0, got {window_s}")
        self.window_ms = int(window_s * 1000)
        self.max_nonces = int(max_nonces)
        self._clock_ms = clock_ms
        self._heap: list[tuple[int, bytes]] = []
        self._seen: set[bytes] = set()
        self._floor_ms = -(2**63)

    def check(self, envelope: pb.Envelope) -> None:
        """Accept ``envelope`` (remember its nonce) or raise ``CodecError(UNAUTHENTICATED)``."""
        if not NONCE_BYTES <= len(envelope.nonce) <= MAX_NONCE_BYTES:
            raise CodecError(
                "UNAUTHENTICATED",
                f"nonce must be {NONCE_BYTES}..{MAX_NONCE_BYTES} bytes, got {len(envelope.nonce)}",
            )
        now_ms = self._clock_ms()
        stamp_ms = envelope.unix_time_ms
        skew_s = (stamp_ms - now_ms) / 1000.0
        if abs(stamp_ms - now_ms) > self.window_ms:
            raise CodecError(
                "UNAUTHENTICATED",
                f"request timestamp is {skew_s:+.1f} s from the server clock (window "
                f"±{self.window_ms / 1000:g} s): expired/replayed request or unsynchronised clocks",
            )
        if stamp_ms <= self._floor_ms or envelope.nonce in self._seen:
            raise CodecError("UNAUTHENTICATED", "replayed request (nonce already used)")
        self._remember(envelope.nonce, stamp_ms, now_ms)

    def _remember(self, nonce: bytes, stamp_ms: int, now_ms: int) -> None:
        heapq.heappush(self._heap, (stamp_ms, nonce))
        self._seen.add(nonce)
        while self._heap and self._heap[0][0] < now_ms - self.window_ms:
            self._seen.discard(heapq.heappop(self._heap)[1])
        while len(self._heap) > self.max_nonces:
            oldest_ms, oldest = heapq.heappop(self._heap)
            self._seen.discard(oldest)
            self._floor_ms = max(self._floor_ms, oldest_ms)

    def __len__(self) -> int:
        return len(self._heap)


# ----------------------------------------------------------------------------- requests


def simulate_app_names() -> list[str]:
    """Names of the ``SimulateRequest.app`` members of this protocol version."""
    return [field.name for field in pb.SimulateRequest.DESCRIPTOR.oneofs_by_name["app"].fields]


def _new_request() -> pb.Request:
    return pb.Request(protocol_version=PROTOCOL_VERSION)


def simulate_request(app: str, fields: Mapping[str, Any]) -> pb.Request:
    """A simulate request for ``app``; every field of the member must be given.

    Parameters
    ----------
    app : str
        Member of ``SimulateRequest.app`` (``"gnp"``, ``"selftest"``).
    fields : mapping
        Field name → value, e.g. ``{"n_primaries": 10**6, "b_lower_nm": 50.0, ...}``.

    Raises
    ------
    ValueError
        Unknown app, unknown or missing field, or a value the field cannot hold.
    """
    names = simulate_app_names()
    if app not in names:
        raise ValueError(f"unknown app {app!r}: protocol version {PROTOCOL_VERSION} knows {names}")
    request = _new_request()
    member = getattr(request.simulate, app)
    member.SetInParent()
    known = list(member.DESCRIPTOR.fields_by_name)
    unknown = sorted(set(fields) - set(known))
    missing = [name for name in known if name not in fields]
    if unknown or missing:
        raise ValueError(f"{app} request fields are {known}; unknown {unknown}, missing {missing}")
    for name, value in fields.items():
        try:
            setattr(member, name, value)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{app}.{name} = {value!r} cannot be sent: {exc}") from None
    return request


def status_request() -> pb.Request:
    """A status request."""
    request = _new_request()
    request.status.SetInParent()
    return request


def shutdown_request() -> pb.Request:
    """A shutdown request."""
    request = _new_request()
    request.shutdown.SetInParent()
    return request


def parse_request(payload: bytes) -> pb.Request:
    """Parse and check a request payload (version, known fields, a kind set).

    Raises
    ------
    CodecError
        ``MALFORMED`` or ``VERSION_MISMATCH``.
    """
    request = _parse(pb.Request, payload, "envelope payload")
    _check_version(request.protocol_version, "request")
    _reject_unknown_fields(request, "request")
    if request.WhichOneof("kind") is None:
        raise CodecError("MALFORMED", "request sets none of simulate, status, shutdown")
    return request


def _is_repeated(field) -> bool:
    """protobuf >= 6 has ``FieldDescriptor.is_repeated`` (and deprecates ``label``); 4.25 and 5.x
    only ``label`` — both are within hpcmc's protobuf range."""
    flag = getattr(field, "is_repeated", None)
    return bool(flag) if flag is not None else field.label == field.LABEL_REPEATED


def _field_value(field, value):
    if _is_repeated(field):
        return [_fields_dict(item) if isinstance(item, Message) else item for item in value]
    if isinstance(value, Message):
        return _fields_dict(value)
    return value


def _fields_dict(message: Message) -> dict[str, Any]:
    return {
        field.name: _field_value(field, getattr(message, field.name))
        for field in message.DESCRIPTOR.fields
    }


def _reserved_app_name(number: int) -> str:
    name = RESERVED_APP_MEMBERS.get(number)
    return f"{name!r} (field {number}, reserved)" if name else f"field {number}"


def request_fields(simulate: pb.SimulateRequest) -> tuple[str, dict[str, Any]]:
    """The set app member of a simulate request and ALL its fields (defaults included).

    Parameters
    ----------
    simulate : hpcmc_pb2.SimulateRequest

    Returns
    -------
    member : str
        ``"gnp"``, ``"selftest"``, ...
    fields : dict
        Field name → Python value (``int`` for integer fields, ``float`` for doubles), in
        declaration order, e.g. ``{"n_primaries": 1000, "b_lower_nm": 0.0, ...}``.

    Raises
    ------
    CodecError
        ``UNKNOWN_APP`` for a member unknown to this version (e.g. a reserved one),
        ``MALFORMED`` when no member is set or unknown fields are present.
    """
    member = simulate.WhichOneof("app")
    unknown = _unknown_field_numbers(simulate)
    if member is None and unknown:
        names = [_reserved_app_name(number) for number in unknown]
        raise CodecError(
            "UNKNOWN_APP",
            f"simulate member {', '.join(names)} is not part of protocol version "
            f"{PROTOCOL_VERSION} (known: {simulate_app_names()})",
        )
    if member is None:
        raise CodecError("MALFORMED", f"simulate request sets no app member (one of {simulate_app_names()})")
    _reject_unknown_fields(simulate, "simulate request")
    message = getattr(simulate, member)
    _reject_unknown_fields(message, f"simulate.{member}")
    return member, _fields_dict(message)


# ----------------------------------------------------------------------------- task results


def _task_info(task: Task) -> pb.TaskInfo:
    return pb.TaskInfo(
        app=task.app,
        params_json=json.dumps(dict(task.params), sort_keys=True),
        n_histories=int(task.n_histories),
        seed=int(task.seed),
        first_history=int(task.first_history),
        chunk_size=int(task.chunk_size),
    )


def _flat_float64(values, shape: tuple, what: str) -> list:
    array = np.asarray(values, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"tally {what} has shape {array.shape}, mean has {shape}")
    return array.ravel().tolist()


def _encode_tally(tally: TallyResult) -> pb.Tally:
    shape = np.shape(tally.mean)
    message = pb.Tally(name=tally.name, unit=tally.unit, shape=[int(s) for s in shape], n=int(tally.n))
    message.mean.extend(_flat_float64(tally.mean, shape, f"{tally.name!r} mean"))
    message.std.extend(_flat_float64(tally.std, shape, f"{tally.name!r} std"))
    message.sum.extend(_flat_float64(tally.sum, shape, f"{tally.name!r} sum"))
    message.sum_sq.extend(_flat_float64(tally.sum_sq, shape, f"{tally.name!r} sum_sq"))
    for axis, values in tally.edges.items():
        edges = np.asarray(values, dtype=np.float64).ravel().tolist()
        message.edges.append(pb.Axis(name=axis, values=edges))
    return message


def encode_task_result(result: TaskResult) -> pb.SimulateReply:
    """A ``SimulateReply`` holding ``result``'s task, reduced tallies, timing and rank count."""
    reply = pb.SimulateReply(
        task=_task_info(result.task),
        wall_time_s=float(result.wall_time_s),
        n_ranks=int(result.n_ranks),
        master_cpu_fraction=float(result.master_cpu_fraction),
    )
    reply.tallies.extend(_encode_tally(tally) for tally in result.tallies.values())
    return reply


def _array(values, shape: tuple, what: str) -> np.ndarray:
    array = np.array(values, dtype=np.float64)
    if array.size != math.prod(shape):
        raise CodecError("MALFORMED", f"{what} has {array.size} values for shape {shape}")
    return array.reshape(shape)


def _decode_tally(message: pb.Tally) -> TallyResult:
    shape = tuple(int(s) for s in message.shape)
    what = f"tally {message.name!r}"
    return TallyResult(
        name=message.name,
        unit=message.unit,
        mean=_array(message.mean, shape, f"{what} mean"),
        std=_array(message.std, shape, f"{what} std"),
        n=int(message.n),
        edges={axis.name: np.array(axis.values, dtype=np.float64) for axis in message.edges},
        sum=_array(message.sum, shape, f"{what} sum"),
        sum_sq=_array(message.sum_sq, shape, f"{what} sum_sq"),
    )


def _decode_task(info: pb.TaskInfo) -> Task:
    try:
        params = json.loads(info.params_json) if info.params_json else {}
        return Task(
            app=info.app,
            params=params,
            n_histories=int(info.n_histories),
            seed=int(info.seed),
            first_history=int(info.first_history),
            chunk_size=int(info.chunk_size),
        )
    except (TypeError, ValueError) as exc:
        raise CodecError("MALFORMED", f"reply task is invalid: {exc}") from None


def decode_task_result(reply: pb.SimulateReply) -> TaskResult:
    """A :class:`~hpcmc.runtime.task.TaskResult` from a ``SimulateReply``.

    Arrays are float64, reshaped to each tally's shape.

    Raises
    ------
    CodecError
        ``MALFORMED`` if array lengths do not match the shape or the task is invalid.
    """
    tallies = {}
    for message in reply.tallies:
        tallies[message.name] = _decode_tally(message)
    return TaskResult(
        task=_decode_task(reply.task),
        tallies=tallies,
        wall_time_s=float(reply.wall_time_s),
        n_ranks=int(reply.n_ranks),
        master_cpu_fraction=float(reply.master_cpu_fraction),
    )


# ----------------------------------------------------------------------------- replies


def error_reply(code: str, message: str) -> pb.Reply:
    """A ``Reply`` carrying ``Error{code, message}`` (``code`` is an ``Error.Code`` name)."""
    reply = pb.Reply(protocol_version=PROTOCOL_VERSION)
    reply.error.code = pb.Error.Code.Value(code)
    reply.error.message = clean_text(message)
    return reply


def parse_reply(payload: bytes) -> pb.Reply:
    """Parse and check a reply payload (version, a kind set).

    Raises
    ------
    CodecError
        ``MALFORMED`` or ``VERSION_MISMATCH``.
    """
    reply = _parse(pb.Reply, payload, "reply payload")
    _check_version(reply.protocol_version, "reply")
    if reply.WhichOneof("kind") is None:
        raise CodecError("MALFORMED", "reply sets none of simulate, status, shutdown, error")
    return reply


def status_to_dict(status: pb.StatusReply) -> dict[str, Any]:
    """A ``StatusReply`` as a plain dict (``extra`` as a dict of strings)."""
    fields = _fields_dict(status)
    fields["extra"] = dict(status.extra)
    return fields
