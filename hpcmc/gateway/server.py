"""The gateway server: a ZeroMQ ROUTER socket on the master answering protobuf requests.

One request is handled at a time, in the thread that calls :meth:`GatewayServer.serve_forever`
(on the master rank). A simulate request becomes ``dispatch(member_name, fields)`` — the
master's one dispatch path (``app.task_from_request`` then ``Master.simulate``) — and its
:class:`~hpcmc.runtime.task.TaskResult` is sent back. While a simulation runs, further
requests (status included) wait in the socket's queue.

Why ROUTER and not REP
----------------------
A REP socket silently discards a message that lacks the empty delimiter frame (e.g. from a
raw DEALER), so its sender waits forever, and a REP socket wedges if the application ever
fails to send exactly one reply per received message. With ROUTER every message is
independent: the server splits off the routing frames itself and answers *every* ZeroMQ
message — including multi-frame and garbage ones — with exactly one reply:

* ``[identity, b"", body...]`` (a REQ client): the reply is ``[identity, b"", reply]``;
* ``[identity, body...]`` (a DEALER client): the reply is ``[identity, reply]``.

``body`` must be exactly one frame holding an ``Envelope`` (see :mod:`hpcmc.gateway.codec`).

Order of checks (each failure is an ``Error`` reply; the server keeps serving)
------------------------------------------------------------------------------
1. total body size > ``max_message_bytes`` → ``TOO_LARGE`` (before any parsing);
2. not exactly one body frame → ``MALFORMED``;
3. envelope unparsable / unknown fields → ``MALFORMED``; wrong version → ``VERSION_MISMATCH``;
4. with a key: missing/wrong tag, stale timestamp or reused nonce → ``UNAUTHENTICATED``;
5. request unparsable, no kind → ``MALFORMED``; wrong version → ``VERSION_MISMATCH``;
6. simulate member not the served app → ``UNKNOWN_APP``;
7. ``dispatch`` raising ``ValueError`` → ``INVALID_ARGUMENT``; anything else → ``INTERNAL``.

Frames larger than ``max(4 * max_message_bytes, 1 MiB)`` are not answered: ZeroMQ drops
the connection of a peer sending one (``ZMQ_MAXMSGSIZE``), which bounds the memory a
misbehaving peer can make the master allocate.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import socket as _socket
import threading
import time
from typing import Any, Callable, Optional

import zmq

import hpcmc
from hpcmc.gateway import codec
from hpcmc.gateway import hpcmc_pb2 as pb
from hpcmc.runtime.task import TaskResult
from hpcmc.runtime.text import clean_text

__all__ = ["GatewayServer", "is_loopback_endpoint", "DEFAULT_BIND"]

logger = logging.getLogger("hpcmc.gateway")

#: Default bind address of ``hpcmc serve``.
DEFAULT_BIND = "tcp://127.0.0.1:5555"
_HARD_LIMIT_MIN_BYTES = 1 << 20
_LINGER_MS = 2000


def is_loopback_endpoint(endpoint: str) -> bool:
    """True if ``endpoint`` is reachable from this host only.

    Loopback means ``ipc://``, ``inproc://`` or ``tcp://`` on ``127.x.x.x``, ``localhost``
    or ``[::1]``. Anything else (``tcp://*``, ``tcp://0.0.0.0``, an interface name, a host
    name, other transports) is not.
    """
    scheme, separator, rest = endpoint.partition("://")
    if not separator:
        return False
    if scheme in ("ipc", "inproc"):
        return True
    if scheme != "tcp":
        return False
    host, colon, _port = rest.rpartition(":")
    if not colon:
        return False
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_bind(bind: str, auth_key: Optional[bytes]) -> None:
    if auth_key is None and not is_loopback_endpoint(bind):
        raise ValueError(
            f"refusing to bind the gateway to {bind!r} without an auth key: only loopback "
            "endpoints (tcp://127.x.x.x, tcp://localhost, tcp://[::1], ipc://, inproc://) may "
            "run unauthenticated. Give a shared HMAC key of at least 16 random bytes "
            "(GatewayServer(..., auth_key=key), e.g. key = hpcmc.gateway.codec.load_auth_key("
            "path) of a file made by `python -c \"import secrets; print(secrets.token_hex(32))\"`)"
            " and the same key to the clients, or bind a loopback address"
        )


def _default_hpcmc_version() -> str:
    try:
        version = getattr(hpcmc, "__version__", None)
        if version:
            return str(version)
        from importlib.metadata import version as dist_version  # stdlib; only without hpcmc.__version__

        return dist_version("hpcmc")
    except Exception:  # not installed (running from a source tree)
        return "unknown"


@dataclasses.dataclass
class _Outcome:
    """What one request produced: the reply and how to log it."""

    reply: pb.Reply
    what: str = "frame"
    nonce: bytes = b""
    stop: bool = False
    simulated: bool = False
    exc_info: Any = None


def _split_route(frames: list) -> tuple[list, list]:
    """Routing frames (identity, optional empty delimiter) and body frames of a ROUTER message."""
    if len(frames) >= 2 and len(frames[1]) == 0:
        return list(frames[:2]), list(frames[2:])
    return list(frames[:1]), list(frames[1:])


def _describe_simulate(member: str, fields: dict) -> str:
    arguments = ", ".join(f"{key}={value!r}" for key, value in fields.items())
    return f"simulate {member}({arguments})"


def _error(code: str, message: str, what: str, nonce: bytes = b"", exc_info: Any = None) -> _Outcome:
    return _Outcome(codec.error_reply(code, message), what=what, nonce=nonce, exc_info=exc_info)


class GatewayServer:
    """Serve simulate/status/shutdown requests on a ZeroMQ ROUTER socket.

    Parameters
    ----------
    bind : str
        ZeroMQ endpoint, e.g. ``"tcp://127.0.0.1:5555"``; a ``*`` port binds a free one
        (see :attr:`endpoint`). A non-loopback endpoint requires ``auth_key``.
    app_name : str
        The app the job runs; the only simulate member accepted.
    dispatch : callable
        ``dispatch(member_name, fields) -> TaskResult``: the master's simulate path. Raise
        ``ValueError`` (naming field and value) for out-of-range fields.
    status_info : callable
        ``status_info() -> dict`` with optional keys ``hpcmc_version`` (str), ``n_ranks``
        (int), ``host`` (str); other keys are sent as ``extra`` strings.
    auth_key : bytes or None
        Shared HMAC-SHA256 key (≥ 16 bytes). With a key every request must be signed, fresh
        (within ``replay_window_s``) and not replayed; replies are signed.
    max_message_bytes : int
        Largest accepted request frame [bytes]; larger ones get ``TOO_LARGE``.
    replay_window_s : float
        Accepted difference between a signed request's timestamp and the server clock [s].
    poll_interval_s : float
        How often an idle loop wakes to check :meth:`stop` [s] (idle CPU ~0).

    Raises
    ------
    ValueError
        Non-loopback ``bind`` without ``auth_key``, or a bad key / limit.
    OSError
        If the endpoint cannot be bound (e.g. address in use).
    """

    def __init__(
        self,
        bind: str,
        app_name: str,
        dispatch: Callable[[str, dict], TaskResult],
        status_info: Callable[[], dict],
        auth_key: Optional[bytes] = None,
        max_message_bytes: int = 65536,
        *,
        replay_window_s: float = 60.0,
        poll_interval_s: float = 0.25,
    ):
        self._key = codec.check_auth_key(auth_key)
        _check_bind(bind, self._key)
        if max_message_bytes < 1:
            raise ValueError(f"max_message_bytes must be >= 1, got {max_message_bytes}")
        self.bind = bind
        self.app_name = app_name
        self.max_message_bytes = int(max_message_bytes)
        self._dispatch = dispatch
        self._status_info = status_info
        self._replay = codec.ReplayGuard(replay_window_s) if self._key is not None else None
        self._poll_ms = max(1, int(poll_interval_s * 1000))
        self._stop = threading.Event()
        self._loop_lock = threading.Lock()
        self._closed = False
        self._started = time.monotonic()
        self.requests_served = 0
        self.simulations_served = 0
        self._context = zmq.Context()
        self._socket = self._bind_socket(bind)
        self.endpoint: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)

    def _bind_socket(self, bind: str) -> zmq.Socket:
        sock = self._context.socket(zmq.ROUTER)
        sock.setsockopt(zmq.LINGER, _LINGER_MS)
        sock.setsockopt(zmq.MAXMSGSIZE, max(4 * self.max_message_bytes, _HARD_LIMIT_MIN_BYTES))
        if "://[" in bind:
            sock.setsockopt(zmq.IPV6, 1)
        try:
            sock.bind(bind)
        except zmq.ZMQError as exc:
            sock.close(linger=0)
            self._context.term()
            raise OSError(f"cannot bind the gateway to {bind!r}: {exc}") from exc
        return sock

    # ------------------------------------------------------------------ loop

    def serve_forever(self) -> None:
        """Answer requests until a valid shutdown request (answered first) or :meth:`stop`."""
        with self._loop_lock:
            if self._closed:
                raise RuntimeError("serve_forever() on a closed GatewayServer")
            logger.info("gateway serving app %r on %s%s", self.app_name, self.endpoint,
                        " (HMAC)" if self._key else "")
            poller = zmq.Poller()
            poller.register(self._socket, zmq.POLLIN)
            while not self._stop.is_set():
                if not poller.poll(self._poll_ms):
                    continue
                if self._serve_one():
                    return

    def _serve_one(self) -> bool:
        """Receive one message (if any), answer it; True if it was a shutdown request."""
        try:
            frames = self._socket.recv_multipart(flags=zmq.NOBLOCK, copy=False)
        except zmq.Again:
            return False
        reply_frames, stop = self.handle_message(frames)
        self._socket.send_multipart(reply_frames)
        return stop

    def handle_message(self, frames: list) -> tuple[list, bool]:
        """Answer one ROUTER message.

        Parameters
        ----------
        frames : list of zmq.Frame or bytes
            The received message, identity frame first.

        Returns
        -------
        reply_frames : list
            Routing frames followed by the serialized reply envelope.
        stop : bool
            True after a valid shutdown request.
        """
        start = time.perf_counter()
        route, body = _split_route(frames)
        size = sum(len(frame) for frame in body)
        outcome = self._outcome(body, size)
        data = codec.encode_envelope(outcome.reply.SerializeToString(), self._key, nonce=outcome.nonce)
        self.requests_served += 1
        self.simulations_served += int(outcome.simulated)
        self._log(frames, outcome, size, time.perf_counter() - start)
        return route + [data], outcome.stop

    def _outcome(self, body: list, size: int) -> _Outcome:
        what = f"frame({size} B)"
        nonce = b""
        try:
            envelope = self._open(body, size)
            nonce = envelope.nonce
            request = codec.parse_request(envelope.payload)
            return self._execute(request, nonce)
        except codec.CodecError as exc:
            return _error(exc.code, exc.message, what, nonce)
        except Exception as exc:  # a bug in the gateway itself: answer, log, keep serving
            return _error("INTERNAL", f"gateway failure: {type(exc).__name__}: {exc}", what, nonce,
                          exc_info=exc)

    def _open(self, body: list, size: int) -> pb.Envelope:
        """Size, frame count, envelope, tag and replay checks; the accepted envelope."""
        if size > self.max_message_bytes:
            raise codec.CodecError(
                "TOO_LARGE", f"request is {size} bytes; this server accepts at most {self.max_message_bytes}"
            )
        if len(body) != 1:
            raise codec.CodecError(
                "MALFORMED", f"expected exactly one frame holding an Envelope, got {len(body)} frames"
            )
        data = body[0].bytes if isinstance(body[0], zmq.Frame) else bytes(body[0])
        envelope = codec.decode_envelope(data, self._key)
        if self._replay is not None:
            self._replay.check(envelope)
        return envelope

    def _execute(self, request: pb.Request, nonce: bytes) -> _Outcome:
        kind = request.WhichOneof("kind")
        if kind == "status":
            return self._status(nonce)
        if kind == "shutdown":
            reply = pb.Reply(protocol_version=codec.PROTOCOL_VERSION)
            reply.shutdown.requests_served = self.requests_served + 1
            return _Outcome(reply, what="shutdown", nonce=nonce, stop=True)
        member, fields = codec.request_fields(request.simulate)
        what = _describe_simulate(member, fields)
        if member != self.app_name:
            return _error("UNKNOWN_APP", f"this server simulates app {self.app_name!r}; the request "
                          f"is for app {member!r}", what, nonce)
        return self._simulate(member, fields, what, nonce)

    def _simulate(self, member: str, fields: dict, what: str, nonce: bytes) -> _Outcome:
        try:
            result = self._dispatch(member, fields)
        except ValueError as exc:
            return _error("INVALID_ARGUMENT", str(exc), what, nonce)
        except Exception as exc:
            return _error("INTERNAL", f"{type(exc).__name__}: {exc}", what, nonce, exc_info=exc)
        if not isinstance(result, TaskResult):
            return _error("INTERNAL", f"dispatch returned {type(result).__name__}, not TaskResult",
                          what, nonce)
        reply = pb.Reply(protocol_version=codec.PROTOCOL_VERSION)
        reply.simulate.CopyFrom(codec.encode_task_result(result))
        return _Outcome(reply, what=what, nonce=nonce, simulated=True)

    def _status(self, nonce: bytes) -> _Outcome:
        try:
            info = dict(self._status_info() or {})
        except Exception as exc:
            return _error("INTERNAL", f"status_info failed: {type(exc).__name__}: {exc}", "status",
                          nonce, exc_info=exc)
        reply = pb.Reply(protocol_version=codec.PROTOCOL_VERSION)
        status = reply.status
        status.protocol_version = codec.PROTOCOL_VERSION
        status.hpcmc_version = clean_text(info.pop("hpcmc_version", None) or _default_hpcmc_version(), 255)
        status.app = self.app_name
        status.n_ranks = int(info.pop("n_ranks", 1))
        status.uptime_s = time.monotonic() - self._started
        status.requests_served = self.requests_served
        status.simulations_served = self.simulations_served
        status.host = clean_text(info.pop("host", None) or _socket.gethostname(), 255)
        status.authenticated = self._key is not None
        for key, value in info.items():
            status.extra[clean_text(key, 255)] = clean_text(value)
        return _Outcome(reply, what="status", nonce=nonce)

    def _log(self, frames: list, outcome: _Outcome, size: int, elapsed_s: float) -> None:
        kind = outcome.reply.WhichOneof("kind")
        if kind == "error":
            result = f"{pb.Error.Code.Name(outcome.reply.error.code)}: {outcome.reply.error.message}"
        else:
            result = "ok"
        level = logging.ERROR if outcome.exc_info is not None else logging.INFO
        if logger.isEnabledFor(level):
            logger.log(level, "%s %s -> %s (%d B, %.1f ms)", _peer(frames), outcome.what, result,
                       size, 1000.0 * elapsed_s, exc_info=outcome.exc_info)

    # ------------------------------------------------------------------ lifetime

    @property
    def serving(self) -> bool:
        """True while :meth:`serve_forever` runs."""
        return self._loop_lock.locked()

    def stop(self) -> None:
        """Ask a running :meth:`serve_forever` (in another thread) to return (thread-safe)."""
        self._stop.set()

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop serving, flush pending replies (up to 2 s) and release the socket. Idempotent."""
        if self._closed:
            return
        self._stop.set()
        if not self._loop_lock.acquire(timeout=timeout_s):
            raise RuntimeError(f"gateway loop did not stop within {timeout_s} s")
        try:
            self._socket.close(linger=_LINGER_MS)
            self._context.term()
            self._closed = True
        finally:
            self._loop_lock.release()

    def __enter__(self) -> "GatewayServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _peer(frames: list) -> str:
    frame = frames[-1] if frames else None
    if isinstance(frame, zmq.Frame):
        try:
            return frame.get("Peer-Address") or "?"
        except (zmq.ZMQError, TypeError, ValueError):
            return "local"
    return "?"
