#!/usr/bin/env python
"""Call a running hpcmc gateway (``hpcmc serve JOB``) from a script.

Examples::

    python tools/gateway_client_example.py tcp://127.0.0.1:5555 status
    python tools/gateway_client_example.py tcp://127.0.0.1:5555 gnp 100000 50 63.0957 --seed 1
    python tools/gateway_client_example.py tcp://node17:5555 --key-file ~/.hpcmc/key selftest 1000

A server bound to a non-loopback address requires the HMAC key it was started with
(``--key-file``: a file holding at least 16 bytes, e.g. ``secrets.token_hex(32)``).
"""
from __future__ import annotations

import argparse
import sys

import numpy as np

from hpcmc.gateway import Client, GatewayError
from hpcmc.gateway.codec import load_auth_key


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Example client of an hpcmc gateway.")
    parser.add_argument("url", help="gateway endpoint, e.g. tcp://127.0.0.1:5555")
    parser.add_argument("--key-file", help="file holding the shared HMAC key")
    parser.add_argument("--timeout-s", type=float, default=None, help="longest wait for a reply [s]")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="print the server status")
    gnp = commands.add_parser("gnp", help="simulate one source annulus of the gnp app")
    gnp.add_argument("n_primaries", type=int, help="number of primary photons")
    gnp.add_argument("b_lower_nm", type=float, help="inner annulus radius [nm]")
    gnp.add_argument("b_upper_nm", type=float, help="outer annulus radius [nm]")
    gnp.add_argument("--seed", type=int, default=1)
    selftest = commands.add_parser("selftest", help="run the self-test problem")
    selftest.add_argument("n_histories", type=int)
    selftest.add_argument("--seed", type=int, default=1)
    return parser


def _print_result(result) -> None:
    print(f"task: {result.task.to_json()}")
    print(f"wall time {result.wall_time_s:.3f} s on {result.n_ranks} rank(s)")
    for tally in result.tallies.values():
        mean = np.asarray(tally.mean)
        print(f"tally {tally.name} [{tally.unit}] shape {mean.shape}, n = {tally.n}, "
              f"axes {list(tally.edges)}")
        print(f"  mean: {np.array2string(mean.ravel()[:8], precision=4)}{' ...' if mean.size > 8 else ''}")


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    key = load_auth_key(args.key_file) if args.key_file else None
    with Client(args.url, auth_key=key, timeout_s=args.timeout_s) as client:
        try:
            if args.command == "status":
                for name, value in client.status().items():
                    print(f"{name}: {value}")
            elif args.command == "gnp":
                result = client.simulate_gnp(args.n_primaries, args.b_lower_nm, args.b_upper_nm,
                                             args.seed)
                _print_result(result)
            else:
                _print_result(client.simulate_selftest(args.n_histories, args.seed))
        except (GatewayError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
