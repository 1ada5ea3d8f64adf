#!/usr/bin/env python
"""Regenerate the gateway's protobuf code from ``proto/hpcmc.proto``.

Usage::

    python tools/gen_proto.py            # rewrite hpcmc/gateway/hpcmc_pb2.py
    python tools/gen_proto.py --check    # exit 1 if the committed file is out of date

The code is generated with ``grpc_tools.protoc`` (Python messages only, no gRPC stubs), so
the protoc version is the one bundled with ``grpcio-tools`` (a dev/test dependency, not an
install requirement). That version sets the oldest ``protobuf`` runtime the generated module
works with, hence hpcmc's ``protobuf`` floor: it is pinned to :data:`GRPCIO_TOOLS_VERSION`
(1.62.x bundles protoc 25.x, whose code runs on ``protobuf>=4.25``; protoc 26 and later add an
import-time check that requires a runtime at least as new as that protoc). Writing with
another version is refused, so the floor cannot rise by accident; in a fresh environment::

    python -m venv /tmp/gt && /tmp/gt/bin/pip install grpcio-tools==1.62.3 && /tmp/gt/bin/python tools/gen_proto.py

``--check`` compares the whole file when the pinned version is installed, and otherwise the
serialized descriptor of ``proto/hpcmc.proto`` (the wire format), which does not depend on the
protoc version.
"""
from __future__ import annotations

import argparse
import ast
import importlib.metadata
import re
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PROTO_FILE = REPO_ROOT / "proto" / "hpcmc.proto"
COMMITTED_FILE = REPO_ROOT / "hpcmc" / "gateway" / "hpcmc_pb2.py"
#: grpcio-tools whose protoc generates the committed module (as in setup.cfg's ``test`` extra).
GRPCIO_TOOLS_VERSION = "1.62.3"
_DESCRIPTOR = re.compile(rb"AddSerializedFile\((b'.*?')\)\n", re.S)


def installed_grpcio_tools() -> str:
    """Version of the installed grpcio-tools ('' if none)."""
    try:
        return importlib.metadata.version("grpcio-tools")
    except importlib.metadata.PackageNotFoundError:
        return ""


def serialized_descriptor(module_text: bytes) -> bytes:
    """The serialized FileDescriptorProto a generated ``*_pb2.py`` registers."""
    match = _DESCRIPTOR.search(module_text)
    if match is None:
        raise ValueError("no AddSerializedFile(...) call in the generated module")
    return ast.literal_eval(match.group(1).decode("ascii"))


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
    """Compare a fresh generation with ``committed``; return an error text or ``""``.

    With the pinned grpcio-tools the files must be identical; with another version only the
    serialized descriptors (the wire format) are compared.
    """
    with tempfile.TemporaryDirectory() as tmp:
        fresh = generate(tmp, proto_file).read_bytes()
    committed = Path(committed)
    if not committed.exists():
        return f"{committed} does not exist; run `python tools/gen_proto.py`"
    pinned = installed_grpcio_tools() == GRPCIO_TOOLS_VERSION
    text = committed.read_bytes()
    same = text == fresh if pinned else serialized_descriptor(text) == serialized_descriptor(fresh)
    if not same:
        return (
            f"{committed} is out of date with {proto_file} (or was made by another protoc); "
            f"run `python tools/gen_proto.py` with grpcio-tools=={GRPCIO_TOOLS_VERSION} and commit the result"
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
    found = installed_grpcio_tools()
    if found != GRPCIO_TOOLS_VERSION:
        print(f"gen_proto: grpcio-tools {found or '(none)'} is installed, but hpcmc_pb2.py is generated with "
              f"grpcio-tools=={GRPCIO_TOOLS_VERSION} (its protoc sets the protobuf floor in setup.cfg); "
              f"pip install grpcio-tools=={GRPCIO_TOOLS_VERSION} in a separate environment", file=sys.stderr)
        return 1
    path = generate(COMMITTED_FILE.parent)
    print(f"gen_proto: wrote {path.relative_to(REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
