#!/usr/bin/env python
"""Regenerate the gateway's protobuf code from ``proto/hpcmc.proto``.

Usage::

    python tools/gen_proto.py            # rewrite hpcmc/gateway/hpcmc_pb2.py
    python tools/gen_proto.py --check    # exit 1 if the committed file is out of date

The code is generated with ``grpc_tools.protoc`` (Python messages only, no gRPC stubs), so
the protoc version is the one bundled with the pinned ``grpcio-tools`` (a dev/test
dependency, not an install requirement). The generated module checks at import time that the
installed ``protobuf`` runtime is not older than the protoc that generated it.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_FILE = REPO_ROOT / "proto" / "hpcmc.proto"
COMMITTED_FILE = REPO_ROOT / "hpcmc" / "gateway" / "hpcmc_pb2.py"


def generate(out_dir, proto_file=PROTO_FILE) -> Path:
    """Run protoc on ``proto_file`` and write ``<stem>_pb2.py`` into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Directory that receives the generated module (created if missing).
    proto_file : path-like
        The ``.proto`` file; its directory is the include path, so the module registers the
        file as ``hpcmc.proto`` and imports nothing but ``google.protobuf``.

    Returns
    -------
    Path
        Path of the generated module.

    Raises
    ------
    ImportError
        If ``grpc_tools`` is not installed (``pip install grpcio-tools``).
    RuntimeError
        If protoc reports an error.
    """
    from grpc_tools import protoc  # dev dependency: imported only when generating

    proto_file = Path(proto_file).resolve()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={proto_file.parent}",
        f"--python_out={out_dir}",
        str(proto_file),
    ]
    status = protoc.main(args)
    if status != 0:
        raise RuntimeError(f"protoc failed with status {status} on {proto_file}")
    return out_dir / f"{proto_file.stem}_pb2.py"


def check(committed=COMMITTED_FILE, proto_file=PROTO_FILE) -> str:
    """Compare a fresh generation with ``committed``; return an error text or ``""``."""
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp, proto_file).read_bytes()
    committed = Path(committed)
    if not committed.exists():
        return f"{committed} does not exist; run `python tools/gen_proto.py`"
    if committed.read_bytes() != fresh:
        return (
            f"{committed} is out of date with {proto_file} (or was made by another protoc); "
            "run `python tools/gen_proto.py` and commit the result"
        )
    return ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="do not write; exit 1 if the committed generated file differs from a fresh one",
    )
    args = parser.parse_args(argv)
    if args.check:
        problem = check()
        if problem:
            print(f"gen_proto: {problem}", file=sys.stderr)
            return 1
        print(f"gen_proto: {COMMITTED_FILE.relative_to(REPO_ROOT)} is current")
        return 0
    path = generate(COMMITTED_FILE.parent)
    print(f"gen_proto: wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
