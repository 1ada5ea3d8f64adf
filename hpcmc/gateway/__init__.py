"""The TCP gateway: ZeroMQ + protobuf access to a running hpcmc job.

* :class:`GatewayServer` runs on the master rank (``hpcmc serve``);
* :class:`Client` is importable by any script (``hpcmc submit`` uses it);
* :mod:`hpcmc.gateway.codec` converts protobuf ⇄ numpy and signs envelopes;
* ``hpcmc_pb2`` is generated from ``proto/hpcmc.proto`` by ``tools/gen_proto.py``.
"""
from hpcmc.gateway.client import Client
from hpcmc.gateway.codec import PROTOCOL_VERSION, GatewayError
from hpcmc.gateway.server import GatewayServer

__all__ = ["Client", "GatewayError", "GatewayServer", "PROTOCOL_VERSION"]
