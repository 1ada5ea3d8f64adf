"""The gateway client: call a running ``hpcmc serve`` job from any Python script.

Example
-------
>>> from hpcmc.gateway import Client
>>> with Client("tcp://127.0.0.1:5555", timeout_s=600) as client:   # doctest: +SKIP
...     result = client.simulate_gnp(n_primaries=10**6, b_lower_nm=50.0,
...                                  b_upper_nm=63.0957, seed=1)
...     dose = result.tallies["f4_dose"].mean

The client uses a REQ socket. On a timeout it closes the socket and opens a fresh one on the
next call ("lazy pirate"), so a client object survives a dead or restarted server.
"""
from __future__ import annotations

import os
import time
from typing import Any, Optional

import zmq

from hpcmc.gateway import codec
from hpcmc.gateway import hpcmc_pb2 as pb
from hpcmc.gateway.codec import GatewayError
from hpcmc.runtime.task import TaskResult

__all__ = ["Client", "GatewayError"]

_WAIT_SLICE_MS = 1000


class Client:
    """Client of an hpcmc gateway.

    Parameters
    ----------
    url : str
        ZeroMQ endpoint of the server, e.g. ``"tcp://node17:5555"``.
    auth_key : bytes or None
        Shared HMAC-SHA256 key (≥ 16 bytes), required by a server bound to a non-loopback
        address. With a key, replies must carry a valid tag answering this request.
    timeout_s : float or None
        Longest wait for one reply [s]; ``None`` waits indefinitely (a simulation can take
        hours). On expiry :class:`TimeoutError` is raised and the socket is reset.
    """

    def __init__(self, url: str = "tcp://127.0.0.1:5555", auth_key: Optional[bytes] = None,
                 timeout_s: Optional[float] = None):
        if timeout_s is not None and not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0 or None, got {timeout_s}")
        self.url = url
        self.timeout_s = timeout_s
        self._key = codec.check_auth_key(auth_key)
        self._context = zmq.Context()
        self._socket: Optional[zmq.Socket] = None

    # ------------------------------------------------------------------ public calls

    def simulate_gnp(self, n_primaries: int, b_lower_nm: float, b_upper_nm: float, seed: int) -> TaskResult:
        """Simulate photons from one source annulus of the ``gnp`` app.

        Parameters
        ----------
        n_primaries : int
            Number of primary photons [1].
        b_lower_nm, b_upper_nm : float
            Inner and outer radius of the impact-parameter annulus [nm].
        seed : int
            Seed of the per-history random streams, ``0 <= seed < 2**63``.

        Returns
        -------
        TaskResult
            The reduced tallies (e.g. the F4 cluster dose per shell), wall time [s], ranks.

        Raises
        ------
        GatewayError
            Error reply, e.g. ``INVALID_ARGUMENT`` for an empty annulus, ``UNKNOWN_APP`` if the
            server runs another app.
        TimeoutError
            No reply within ``timeout_s``.
        """
        return self.simulate("gnp", n_primaries=n_primaries, b_lower_nm=b_lower_nm,
                             b_upper_nm=b_upper_nm, seed=seed)

    def simulate_selftest(self, n_histories: int, seed: int) -> TaskResult:
        """Run the runtime's self-test problem.

        Parameters
        ----------
        n_histories : int
            Number of histories [1].
        seed : int
            Seed of the per-history random streams, ``0 <= seed < 2**63``.

        Returns
        -------
        TaskResult
        """
        return self.simulate("selftest", n_histories=n_histories, seed=seed)

    def simulate(self, app: str, **fields: Any) -> TaskResult:
        """Simulate with the request member ``app``; every field of the member must be given.

        Parameters
        ----------
        app : str
            ``"gnp"``, ``"selftest"``, ... (a member of ``SimulateRequest.app``).
        **fields
            The member's fields, units as in ``proto/hpcmc.proto`` (e.g. ``b_lower_nm`` [nm]).

        Returns
        -------
        TaskResult

        Raises
        ------
        ValueError
            Unknown app or field, missing field, or a value the field cannot hold (checked
            before sending).
        GatewayError, TimeoutError
            As for :meth:`simulate_gnp`.
        """
        reply = self._call(codec.simulate_request(app, fields), "simulate")
        try:
            return codec.decode_task_result(reply.simulate)
        except codec.CodecError as exc:
            raise GatewayError(exc.code, f"from {self.url}: {exc.message}") from None

    def status(self) -> dict[str, Any]:
        """Server status.

        Returns
        -------
        dict
            ``protocol_version``, ``hpcmc_version``, ``app``, ``n_ranks``, ``uptime_s`` [s],
            ``requests_served``, ``simulations_served``, ``host``, ``authenticated``,
            ``extra`` (dict of str).
        """
        return codec.status_to_dict(self._call(codec.status_request(), "status").status)

    def shutdown(self) -> None:
        """Ask the server to stop serving; returns once it acknowledged."""
        self._call(codec.shutdown_request(), "shutdown")

    def close(self) -> None:
        """Close the socket (pending messages are dropped). Idempotent."""
        self._reset()
        if not self._context.closed:
            self._context.term()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _connect(self) -> zmq.Socket:
        if self._socket is None:
            if self._context.closed:
                raise RuntimeError(f"client of {self.url} is closed")
            sock = self._context.socket(zmq.REQ)
            sock.setsockopt(zmq.LINGER, 0)
            if "://[" in self.url:
                sock.setsockopt(zmq.IPV6, 1)
            try:
                sock.connect(self.url)
            except zmq.ZMQError as exc:  # an unclosed socket would block close() forever
                sock.close(linger=0)
                raise ValueError(f"gateway URL {self.url!r} is not a ZeroMQ endpoint ({exc}); "
                                 "e.g. tcp://127.0.0.1:5555") from None
            self._socket = sock
        return self._socket

    def _reset(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def _timeout_error(self) -> TimeoutError:
        return TimeoutError(f"no reply from gateway {self.url} within {self.timeout_s} s "
                            "(server down, busy with a long simulation, or wrong URL)")

    def _wait(self, sock: zmq.Socket) -> None:
        """Block until a reply is readable or the timeout expires."""
        deadline = None if self.timeout_s is None else time.monotonic() + self.timeout_s
        while True:
            if deadline is None:
                wait_ms = _WAIT_SLICE_MS
            else:
                wait_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
            if sock.poll(min(wait_ms, _WAIT_SLICE_MS), zmq.POLLIN):
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise self._timeout_error()

    def _exchange(self, data: bytes) -> bytes:
        sock = self._connect()
        try:
            sock.send(data)
            self._wait(sock)
            return sock.recv()
        except BaseException:  # timeout, Ctrl-C, ZMQ error: the REQ state is unknown, start over
            self._reset()
            raise

    def _call(self, request: pb.Request, expected_kind: str) -> pb.Reply:
        nonce = os.urandom(codec.NONCE_BYTES)
        data = codec.encode_envelope(request.SerializeToString(), self._key, nonce=nonce)
        reply = self._open_reply(self._exchange(data), nonce)
        kind = reply.WhichOneof("kind")
        if kind == "error":
            raise GatewayError(pb.Error.Code.Name(reply.error.code), reply.error.message)
        if kind != expected_kind:
            raise GatewayError("MALFORMED", f"{self.url} answered a {expected_kind} request with {kind}")
        return reply

    def _open_reply(self, data: bytes, nonce: bytes) -> pb.Reply:
        try:
            envelope = codec.decode_envelope(data, self._key, what="reply")
            reply = codec.parse_reply(envelope.payload)
        except codec.CodecError as exc:
            hint = _reply_auth_hint(exc.message) if exc.code == "UNAUTHENTICATED" else ""
            raise GatewayError(exc.code, f"reply from {self.url}: {exc.message}{hint}") from None
        if envelope.nonce != nonce and not (reply.WhichOneof("kind") == "error" and not envelope.nonce):
            raise GatewayError("UNAUTHENTICATED", f"reply from {self.url} does not answer this request "
                               "(nonce mismatch)")
        return reply


def _reply_auth_hint(message: str) -> str:
    if "no HMAC tag" in message:
        return "; the server seems to run without a key"
    return "; is this client's auth_key the server's key?"
