"""The ``hpcmc`` command: run | serve | submit | plot | check | options | info.

Every rank of an MPI job runs the same command. Rank 0 (the master) reads and validates the
job and broadcasts its text; workers build the same problem and serve chunks until the master
releases them. Exit status: 0 success, 2 bad input (job file, arguments, existing output), 1
any other failure — on any rank, which then ends the whole job (see
:mod:`hpcmc.runtime.scheduler`); 75 (``EXIT_INTERRUPTED``) on every rank when ``run`` was
stopped by SIGTERM or SIGUSR1 on the master after writing its statepoint
(:mod:`hpcmc.runtime.stop`).

The modules imported at the top use the standard library only. The commands import the rest
inside their functions on purpose: each loads only what it runs (``hpcmc --version``, ``info``
and ``submit`` load no numba, h5py or app), and MPI starts only in
:func:`hpcmc.runtime.comm.get_world` (the allow-list of tests/test_layering.py).
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Optional

from hpcmc import __version__
from hpcmc.info import collect_info
from hpcmc.overrides import apply_overrides, format_overrides, parse_assignments
from hpcmc.runtime.comm import abort, get_world
from hpcmc.runtime.mpi_library import srun_mpi_plugin
from hpcmc.runtime.progress import Progress, is_quiet_env
from hpcmc.runtime.stop import EXIT_INTERRUPTED, Interrupted, StopRequest

__all__ = ["main", "run_job", "UsageError", "COMMAND_ENV"]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
CONNECT_TIMEOUT_S = 10.0
#: Environment variable naming the command recorded in /provenance (set by :func:`hpcmc.run` for
#: the ``mpiexec ... hpcmc run`` it launches; default: this process's command line).
COMMAND_ENV = "HPCMC_PROVENANCE_COMMAND"


class UsageError(Exception):
    """Bad input from the user: printed without a traceback, exit status 2."""


def _log_fn(quiet: bool):
    def log(message: str) -> None:
        if not quiet:
            print(message, flush=True)

    return log


def _read_key(path: str, what: str) -> Optional[bytes]:
    """The gateway's HMAC key from ``path`` ('' = no key); errors name the option."""
    if not path:
        return None
    from hpcmc.gateway.codec import load_auth_key  # lazy: ZeroMQ and protobuf only for the gateway

    try:
        return load_auth_key(path)
    except OSError as exc:
        raise UsageError(f"{what}: cannot read key file {path!r}: {exc.strerror}") from None
    except ValueError as exc:
        raise UsageError(f"{what}: {exc}") from None


# --------------------------------------------------------------------------------------
def _startup(args, comm, *, output_check: bool):
    """Rank 0 validates the job (and the output path); every rank gets the same Job.

    Returns ``(job, app, statepoint)``; raises UsageError on every rank for bad input.
    """
    from hpcmc.config import ConfigError, parse_job  # lazy: loads the app registry

    payload = None
    if comm.rank == 0:
        try:
            job = _load_job(args)
            statepoint = _check_output(args, job) if output_check else None
            payload = ("ok", job.text, statepoint)
        except (ConfigError, UsageError, FileNotFoundError, ValueError) as exc:
            payload = ("error", str(exc), None)
    payload = comm.bcast(payload, root=0)
    if payload[0] == "error":
        raise UsageError(payload[1])
    from hpcmc.apps import get_app  # lazy: the app's modules load only for the app that runs

    job = parse_job(payload[1], str(args.job))
    return job, get_app(job.app_name), payload[2]


def _load_job(args):
    """The job of ``args``: the file ``args.job`` (or the text ``args.job_text``) with the
    ``--set`` items (``args.set``) and ``args.overrides`` (dotted key → value) folded in."""
    from hpcmc.config import ConfigError, load_job, parse_job  # lazy: as in _startup

    overrides = {**parse_assignments(getattr(args, "set", None) or []), **(getattr(args, "overrides", None) or {})}
    text = getattr(args, "job_text", None)
    if text is None and not overrides:
        return load_job(args.job)
    if text is None:
        try:
            text = Path(args.job).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"{args.job}: job file not found") from None
        except OSError as exc:
            raise ConfigError(f"{args.job}: cannot read the job file: {exc.strerror}") from None
    label = f"{args.job} with {format_overrides(overrides)}" if overrides else str(args.job)
    return parse_job(apply_overrides(text, overrides, str(args.job)), label)


def _output_path(args, job) -> str:
    return args.output or job.job.output


def _check_output(args, job):
    """Refuse to overwrite results unless --force; load the statepoint for --resume."""
    from hpcmc.apps import get_app  # lazy: as in _startup
    from hpcmc.io.statepoint import read_statepoint, statepoint_path  # lazy: h5py

    out = _output_path(args, job)
    sp_path = statepoint_path(out)
    app_state = [p for p in get_app(job.app_name).state_files(job, out) if os.path.exists(p)]
    if getattr(args, "resume_if_interrupted", False) and (app_state or os.path.exists(sp_path)):
        args.resume = True  # a follow-up allocation of a batch job continues the interrupted run
    if getattr(args, "resume", False):
        if not os.path.exists(sp_path):
            if app_state:
                return None  # the app resumes from its own state; no task was in progress
            raise UsageError(f"--resume: no statepoint {sp_path} (a run writing {out} leaves one while it is unfinished)")
        sp = read_statepoint(sp_path)
        if sp.job_text != job.text:
            raise UsageError(f"--resume: {sp_path} was written by a different job text than {args.job}; "
                             "resume only with the job file the run started with")
        return sp
    if os.path.exists(out) and not getattr(args, "force", False):
        raise UsageError(f"{out} exists; choose another -o or pass --force to overwrite it")
    for leftover in [sp_path] * os.path.exists(sp_path) + app_state:
        if not getattr(args, "force", False):
            raise UsageError(f"{leftover} exists: an earlier run was interrupted. Continue it with --resume, "
                             "or pass --force to start over")
    return None


def _connect(args, app):
    """A gateway client for ``run --connect`` (checked with a status request)."""
    from hpcmc.gateway import Client  # lazy: ZeroMQ and protobuf only for the gateway

    key = _read_key(args.auth_key_file, "--auth-key-file")
    with Client(args.connect, auth_key=key, timeout_s=CONNECT_TIMEOUT_S) as probe:
        try:
            status = probe.status()
        except TimeoutError as exc:
            raise UsageError(f"--connect: {exc}") from None
    if status.get("app") != app.name:
        raise UsageError(f"--connect {args.connect} serves app {status.get('app')!r}, but the job is {app.name!r}")
    return Client(args.connect, auth_key=key)  # simulate requests may take hours: no timeout


def _fail(comm, exc: BaseException) -> int:
    """Report a failure on this rank; under MPI with several ranks, end the whole job."""
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    if comm.size > 1:
        abort(comm, f"hpcmc: rank {comm.rank} failed: {text}\n{traceback.format_exc()}")
    print(f"hpcmc: error: {text}", file=sys.stderr)
    if os.environ.get("HPCMC_DEBUG"):
        traceback.print_exc()
    return EXIT_FAILURE


def _with_comm(fn):
    """Run ``fn(args, comm)`` on every rank with hpcmc's exit-status rules."""

    def wrapped(args) -> int:
        comm = get_world()
        try:
            return fn(args, comm)
        except UsageError as exc:
            if comm.rank == 0:
                print(f"hpcmc: {exc}", file=sys.stderr)
            return EXIT_USAGE
        except Interrupted as exc:  # a stop signal on the master; every rank exits with the same status
            if comm.rank == 0:
                print(f"hpcmc: {exc}; continue with the same command and --resume (or --resume-if-interrupted)",
                      file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except KeyboardInterrupt:
            if comm.size > 1:
                abort(comm, f"hpcmc: rank {comm.rank} interrupted", 130)
            return 130
        except BaseException as exc:  # noqa: BLE001
            return _fail(comm, exc)

    return wrapped


def _make_master(job, problem, comm, *, output: str, quiet: bool, statepoint_ref: dict):
    from hpcmc.io.statepoint import statepoint_path, write_statepoint  # lazy: h5py
    from hpcmc.runtime.scheduler import Master  # lazy: numba

    sp_path = statepoint_path(output)
    stop = StopRequest().install()  # SIGTERM/SIGUSR1: statepoint at the next safe point, then exit 75

    def on_checkpoint(task, done, tallies):
        write_statepoint(sp_path, job.text, job.app_name, task, done, tallies, statepoint_ref.get("app_state"))
        if stop.requested:
            print(f"hpcmc: {signal.Signals(stop.signum).name}: wrote {sp_path} at history {done:,} of the task "
                  "in progress",
                  file=sys.stderr, flush=True)

    return Master(
        comm,
        problem,
        checkpoint_interval_s=job.job.checkpoint_interval_s,
        on_checkpoint=on_checkpoint,
        on_progress=Progress(job.app_name, quiet=quiet),
        stop=stop,
    )


@_with_comm
def cmd_run(args, comm) -> int:
    run_job(args, comm, os.environ.get(COMMAND_ENV) or " ".join(sys.argv))
    return EXIT_OK


def run_job(args, comm, command: str) -> Optional[str]:
    """``hpcmc run`` on every rank (the CLI's and :func:`hpcmc.run`'s one code path).

    Parameters
    ----------
    args : argparse.Namespace
        The ``run`` options (``job``, ``output``, ``set``, ``resume``, ``force``, ``quiet``,
        ``connect``...; ``job_text`` and ``overrides`` from :func:`hpcmc.run`).
    comm : communicator
        MPI world or :class:`~hpcmc.runtime.comm.SerialComm`.
    command : str
        What started the run, recorded in ``/provenance`` as ``command``.

    Returns
    -------
    str or None
        The results file on rank 0, ``None`` on workers. Bad input raises :class:`UsageError`.
    """
    from hpcmc.apps.base import RunContext  # lazy: numpy
    from hpcmc.config import input_files  # lazy: loads the app registry
    from hpcmc.io.results import ResultsWriter, provenance  # lazy: h5py
    from hpcmc.io.statepoint import statepoint_path
    from hpcmc.runtime.scheduler import worker_loop  # lazy: numba

    t_start = time.perf_counter()
    job, app, statepoint = _startup(args, comm, output_check=True)
    if args.connect and comm.size > 1:
        raise UsageError("--connect sends the tasks to a server: start it without mpiexec "
                         "(the server's own ranks do the transport)")
    problem = None if args.connect else app.make_problem(job)
    if comm.rank != 0:
        if problem is not None:
            worker_loop(comm, problem)
        return None
    quiet = args.quiet  # CI silences only the progress line, not the few log lines
    output = _output_path(args, job)
    state: dict = {}
    master = (_make_master(job, problem, comm, output=output, quiet=quiet or is_quiet_env(), statepoint_ref=state)
              if problem else None)

    client = _connect(args, app) if args.connect else None

    def simulate(task):
        if client is not None:
            t0 = time.perf_counter()
            result = client.simulate(task.app, **app.request_fields(task))
            writer.add_timing("simulate", time.perf_counter() - t0)
            return result
        if master is None:
            raise RuntimeError(f"app {job.app_name!r} runs no transport; it cannot simulate tasks")
        resume = None
        if statepoint is not None and statepoint.task == task:
            resume = statepoint.resume
        t0 = time.perf_counter()
        result = master.simulate(task, resume)
        writer.add_timing("simulate", time.perf_counter() - t0)
        return result

    log = _log_fn(quiet)
    prov = provenance(comm.size, job.job.seed, command, job_text=job.text, input_files=input_files(job))
    writer = ResultsWriter(output, job.text, job.app_name, prov)
    writer.add_timing("startup", time.perf_counter() - t_start)
    try:
        ctx = RunContext(job=job, simulate=simulate, results=writer, n_ranks=comm.size, log=log,
                         quiet=quiet, resume=bool(args.resume), extra=state)
        if statepoint is not None:
            log(f"hpcmc: resuming from {statepoint_path(output)} at history {statepoint.histories_done:,}")
        app.run(job, ctx)
    except BaseException:
        writer.abandon()  # keep no half-written file under the final name; the statepoint stays
        raise
    finally:
        if client is not None:
            client.close()
    if master is not None:
        master.shutdown()
    path = writer.close()
    sp = statepoint_path(output)
    if os.path.exists(sp):
        os.remove(sp)  # the task finished; its partial state is obsolete
    log(f"hpcmc: wrote {path}")
    return path


@_with_comm
def cmd_serve(args, comm) -> int:
    from hpcmc.gateway import GatewayServer  # lazy: ZeroMQ and protobuf
    from hpcmc.runtime.scheduler import Master, worker_loop  # lazy: numba

    job, app, _ = _startup(args, comm, output_check=False)
    problem = app.make_problem(job)
    if problem is None:
        raise UsageError(f"app {job.app_name!r} runs no transport; there is nothing to serve")
    if comm.rank != 0:
        worker_loop(comm, problem)
        return EXIT_OK
    quiet = args.quiet
    master = Master(comm, problem)

    def dispatch(member: str, fields: dict):
        # The one dispatch path: the same Master.simulate the app's own driver calls. A
        # ValueError becomes an INVALID_ARGUMENT reply; a failing rank aborts the whole job.
        return master.simulate(app.task_from_request(job, fields))

    def status_info() -> dict:
        return {"n_ranks": comm.size, "job": str(args.job)}

    bind = args.bind or job.gateway.bind
    key = _read_key(args.auth_key_file or job.gateway.auth_key_file, "gateway.auth_key_file")
    try:
        server = GatewayServer(bind=bind, app_name=job.app_name, dispatch=dispatch, status_info=status_info,
                               auth_key=key, max_message_bytes=job.gateway.max_message_bytes)
    except (ValueError, OSError) as exc:
        master.shutdown()
        raise UsageError(str(exc)) from None
    _log_fn(quiet)(f"hpcmc: serving {job.app_name} on {server.endpoint} with {comm.size} rank(s); "
                   f"stop with `hpcmc submit {server.endpoint} shutdown`")
    try:
        server.serve_forever()
    finally:
        server.close()
        master.shutdown()
    return EXIT_OK


def cmd_submit(args) -> int:
    from hpcmc.gateway import Client, GatewayError  # lazy: ZeroMQ and protobuf

    key = _read_key(args.auth_key_file, "--auth-key-file")
    if "://" not in args.url:
        raise UsageError(f"URL must be a ZeroMQ endpoint such as tcp://127.0.0.1:5555, got {args.url!r}")
    if args.action != "simulate" and (args.field or args.app or args.output):
        raise UsageError(f"{args.action} takes no --app, --field or -o (those are for simulate)")
    fields = dict(_parse_field(item) for item in args.field or [])
    with Client(args.url, auth_key=key, timeout_s=args.timeout_s) as client:
        try:
            if args.action == "status":
                for k, v in client.status().items():
                    print(f"{k}: {v}")
            elif args.action == "shutdown":
                client.shutdown()
                print(f"hpcmc: {args.url} is shutting down")
            else:
                if not args.app:
                    raise UsageError("simulate needs --app (the app the server runs)")
                result = client.simulate(args.app, **fields)
                for name, t in result.tallies.items():
                    print(f"{name} [{t.unit}]: n={t.n:,}  mean={_short(t.mean)}  std={_short(t.std)}")
                print(f"wall time {result.wall_time_s:.3f} s on {result.n_ranks} rank(s)")
                if args.output:
                    _write_submit_result(args.output, result)
                    print(f"hpcmc: wrote {args.output}")
        except GatewayError as exc:
            print(f"hpcmc: server replied {exc}", file=sys.stderr)
            return EXIT_FAILURE
        except TimeoutError as exc:
            print(f"hpcmc: {exc}", file=sys.stderr)
            return EXIT_FAILURE
        except ValueError as exc:  # the client refused the request before sending it
            raise UsageError(str(exc)) from None
    return EXIT_OK


def _parse_field(item: str) -> tuple[str, object]:
    """``NAME=VALUE`` of ``submit --field``: an integer where the value is one (``1e4`` too, as in
    job files), else a float; anything else is a usage error naming the field and the value."""
    name, eq, text = item.partition("=")
    name, text = name.strip(), text.strip()
    if not eq or not name or not text:
        raise UsageError(f"--field must be NAME=VALUE, got {item!r}")
    try:
        return name, int(text.replace("_", ""))
    except ValueError:
        pass
    try:
        value = float(text.replace("_", ""))
    except ValueError:
        raise UsageError(f"--field {name}: the value must be a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise UsageError(f"--field {name}: the value must be a finite number, got {text!r}")
    if value.is_integer() and abs(value) < 2**53:
        return name, int(value)  # 1e4 is an integer, as in job files (integer fields refuse floats)
    return name, value


def _short(a) -> str:
    import numpy as np  # lazy: `hpcmc --version` and `info` need no numpy

    a = np.asarray(a).ravel()
    body = np.array2string(a[:6], precision=4, separator=", ")
    return body if a.size <= 6 else body[:-1] + f", … ({a.size} values)]"


def _write_submit_result(path: str, result) -> None:
    from hpcmc.io.results import ResultsWriter, provenance  # lazy: h5py

    with ResultsWriter(path, "", result.task.app, provenance(result.n_ranks, result.task.seed, " ".join(sys.argv))) as w:
        w.write_result(result)


def _app_plot(app_name: str, results_path: str, outdir: str) -> list[str]:
    """The figures of the registered app ``app_name`` (none for an app hpcmc does not know)."""
    from hpcmc.apps import get_app, known_apps  # lazy: numpy and the app's modules

    return get_app(app_name).plot(results_path, outdir) if app_name in known_apps() else []


def cmd_plot(args) -> int:
    from hpcmc.io.plots import plot_results  # lazy: h5py
    from hpcmc.io.results import FileFormatError, open_results

    try:
        open_results(args.results).close()  # bad input (exit 2) before any plotting
    except (FileNotFoundError, FileFormatError) as exc:
        raise UsageError(str(exc)) from None

    paths = plot_results(args.results, args.outdir, app_plot=_app_plot)
    for p in paths:
        print(p)
    return EXIT_OK


def cmd_check(args) -> int:
    """Validate a job, print it resolved (defaults marked), its histories and optionally a time estimate."""
    from hpcmc.apps import get_app  # lazy: the app's modules
    from hpcmc.config import ConfigError, load_job, resolved_lines  # lazy: loads the app registry

    try:
        job = load_job(args.job, args.set or ())
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    app = get_app(job.app_name)
    print(f"# {args.job}: a valid {job.app_name} job; every option, '# default' where the file does not set it")
    for line in resolved_lines(job):
        print(line)
    planned = app.planned_histories(job)
    print("")
    if planned is None:
        print(f"# total histories: not known in advance (app {job.app_name!r} does not say)")
    elif planned == 0:
        print(f"# total histories: 0 (app {job.app_name!r} runs no transport)")
    else:
        print(f"# total histories: {planned:,} over all tasks (an upper bound where an optimizer may stop early)")
    if args.time:
        _print_time_estimate(args, job, app, planned)
    return EXIT_OK


def _print_time_estimate(args, job, app, planned) -> None:
    """``check --time``: time a short serial sample and extrapolate to the job."""
    from hpcmc.runtime.estimate import time_per_history  # lazy: numba

    warmup = 10
    tasks = app.timing_tasks(job, args.time_histories) if planned else []
    if not tasks:
        print(f"# estimated run time: cannot be estimated for app {job.app_name!r}")
        return
    problem = app.make_problem(job)
    if problem is None:
        print(f"# estimated run time: app {job.app_name!r} runs no transport")
        return
    t0 = time.perf_counter()
    per_history_s = 0.0
    for task, weight in tasks:  # each task's first `warmup` histories compile and are not timed
        task = dataclasses.replace(task, n_histories=task.n_histories + warmup)
        per_history_s += weight * time_per_history(problem, task, warmup_histories=warmup)
    core_s = per_history_s * planned
    workers = max(args.ranks - 1, 1)  # the master runs histories only when it is alone
    n_timed = sum(task.n_histories for task, _ in tasks)
    print(f"# estimated run time: {_duration(core_s)} on one core ({per_history_s * 1e3:.3g} ms per history, "
          f"timed over {n_timed} histories of {len(tasks)} task(s) after {warmup} each to compile; "
          f"setup and timing took {time.perf_counter() - t0:.1f} s)")
    launch = "serially" if args.ranks <= 1 else f"with mpiexec -n {args.ranks} ({workers} workers)"
    print(f"#   {launch}: about {_duration(core_s / workers)} (rough: history costs differ between tasks; "
          "--ranks N for another launch)")


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.3g} s"
    if seconds < 7200:
        return f"{seconds / 60:.3g} min"
    return f"{seconds / 3600:.3g} h"


def cmd_options(args) -> int:
    """Every option of ``[job]``, ``[gateway]`` and the app's table: type, default, unit, range, doc."""
    from hpcmc.apps import get_app, known_apps  # lazy: the app's modules
    from hpcmc.config import GatewaySection, JobSection, describe  # lazy: loads the app registry
    from hpcmc.schema import did_you_mean

    if args.app not in known_apps():
        raise UsageError(f"unknown app {args.app!r}{did_you_mean(args.app, known_apps())}; "
                         f"known apps: {', '.join(known_apps())}")
    app = get_app(args.app)
    print("# KEY (TYPE) = DEFAULT [UNIT] {RANGE}: DOC   (set in the job file's tables or with --set KEY=VALUE)")
    tables = [("job", JobSection), ("gateway", GatewaySection)]
    if app.config_class is not None:
        tables.append((args.app, app.config_class))
    for name, cls in tables:
        note = ""
        if name == args.app:
            note = ("  # may be left out: the defaults are a job" if app.defaults_are_a_job
                    else "  # required in a job file, even if empty")
        print(f"\n[{name}]{note}")
        for line in describe(cls, prefix=f"{name}."):
            print(line)
    return EXIT_OK


def cmd_info(args) -> int:
    if args.srun_mpi:  # only mpi4py is imported: this runs in every SLURM job script
        print(srun_mpi_plugin())
        return EXIT_OK
    for k, v in collect_info().items():
        print(f"{k:22s} {v}")
    return EXIT_OK


# --------------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="hpcmc", description="MPI-parallel Monte Carlo transport driven by Python optimizers.")
    p.add_argument("--version", action="version", version=f"hpcmc {__version__}")
    _add_logging_options(p, None)
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("run", help="run a job file (under mpiexec for several ranks)")
    r.add_argument("job", help="job file (TOML)")
    r.add_argument("-o", "--output", help="results file (HDF5); default: [job] output")
    r.add_argument("--resume", action="store_true", help="continue an interrupted run from its statepoint")
    r.add_argument("--resume-if-interrupted", action="store_true",
                   help="--resume when the run writing the results file left a statepoint (or app state), "
                        "else start; for batch scripts that are resubmitted after a time limit")
    r.add_argument("--force", action="store_true", help="overwrite an existing results file / discard a statepoint")
    r.add_argument("--quiet", action="store_true", help="no progress output")
    r.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override a job key, e.g. --set job.n_histories=1e5 --set selftest.n_bins=10 "
                        "(TOML values; repeatable; the results file's /config holds the job that ran)")
    r.add_argument("--connect", metavar="URL", help="send the driver's tasks to a running `hpcmc serve` at URL")
    r.add_argument("--auth-key-file", default="", help="shared HMAC key file for --connect")
    r.set_defaults(func=cmd_run)

    s = sub.add_parser("serve", help="serve simulate requests over TCP (ZeroMQ + protobuf)")
    s.add_argument("job", help="job file (TOML) whose app is served")
    s.add_argument("--bind", help="ZeroMQ endpoint, default [gateway] bind (tcp://127.0.0.1:5555)")
    s.add_argument("--auth-key-file", default="", help="shared HMAC key file (required off loopback)")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_serve)

    c = sub.add_parser("submit", help="talk to a running `hpcmc serve`")
    c.add_argument("url", help="server endpoint, e.g. tcp://127.0.0.1:5555")
    c.add_argument("action", choices=["status", "simulate", "shutdown"])
    c.add_argument("--app", help="app of a simulate request (selftest, gnp, ...)")
    c.add_argument("--field", action="append", metavar="NAME=VALUE",
                   help="request field, e.g. --field n_primaries=100000 --field b_lower_nm=0")
    c.add_argument("-o", "--output", help="write the reply's tallies to this results file")
    c.add_argument("--auth-key-file", default="", help="shared HMAC key file")
    c.add_argument("--timeout-s", type=float, default=None, help="give up after this many seconds")
    c.set_defaults(func=lambda a: _plain(cmd_submit, a))

    pl = sub.add_parser("plot", help="plot a results file")
    pl.add_argument("results", help="results file (HDF5)")
    pl.add_argument("-o", "--outdir", default=None, help="directory for the PNGs (default: beside the file)")
    pl.set_defaults(func=lambda a: _plain(cmd_plot, a))

    k = sub.add_parser("check", help="validate a job: print it resolved, its histories, optionally a time estimate")
    k.add_argument("job", help="job file (TOML)")
    k.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="override an option, e.g. --set job.n_histories=1e5 --set gnp.optimizer.sampler=tpe")
    k.add_argument("--time", action="store_true",
                   help="estimate the run time from a short timed sample of the job's histories (serial)")
    k.add_argument("--time-histories", type=_positive_int, default=300, metavar="N",
                   help="histories timed by --time (default 300)")
    k.add_argument("--ranks", type=_positive_int, default=1, metavar="N",
                   help="ranks of the planned mpiexec -n N for the --time estimate (default 1)")
    k.set_defaults(func=lambda a: _plain(cmd_check, a))

    o = sub.add_parser("options", help="every option of an app's job file: type, default, unit, range, doc")
    o.add_argument("app", help="app name (gnp, lem, selftest)")
    o.set_defaults(func=lambda a: _plain(cmd_options, a))

    i = sub.add_parser("info", help="versions, MPI library, numba threading layer")
    i.add_argument("--srun-mpi", action="store_true",
                   help="print only the srun --mpi plugin for the MPI library mpi4py is linked to "
                        "(pmi2 for MPICH and Intel MPI, pmix for Open MPI; HPCMC_SRUN_MPI overrides)")
    i.set_defaults(func=lambda a: _plain(cmd_info, a))
    for sp in sub.choices.values():  # `hpcmc serve JOB -v` works as well as `hpcmc -v serve JOB`
        _add_logging_options(sp, argparse.SUPPRESS)
    return p


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _add_logging_options(parser: argparse.ArgumentParser, default) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=0 if default is None else default,
                        help="log more of hpcmc's messages on stderr (-v: INFO, e.g. one line per gateway "
                             "request; -vv: DEBUG)")
    parser.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, metavar="LEVEL",
                        default=None if default is None else default,
                        help=f"level of hpcmc's log messages on stderr ({', '.join(LOG_LEVELS)}; default WARNING; "
                             "overrides -v)")


def configure_logging(verbose: int = 0, level: Optional[str] = None) -> None:
    """Send the ``hpcmc.*`` loggers to stderr at ``level`` (or INFO/DEBUG for ``verbose`` 1/2+).

    Only hpcmc's loggers are configured: the root logger and other libraries' (Optuna's) are left
    alone. Without ``verbose`` or ``level`` the ``hpcmc`` logger keeps the root logger's level
    (WARNING unless a program embedding hpcmc set another). Calling it again replaces the
    handler it installed.
    """
    name = level or ("DEBUG" if verbose >= 2 else "INFO" if verbose == 1 else "NOTSET")
    logger = logging.getLogger("hpcmc")
    for h in [h for h in logger.handlers if getattr(h, "_hpcmc_cli", False)]:
        logger.removeHandler(h)
    handler = logging.StreamHandler(sys.stderr)
    handler._hpcmc_cli = True  # type: ignore[attr-defined]
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s: %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(getattr(logging, name))


def _plain(fn, args) -> int:
    """Commands that run in one process: usage errors exit 2, others 1, no traceback."""
    try:
        return fn(args)
    except UsageError as exc:
        print(f"hpcmc: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (FileNotFoundError, ValueError, TimeoutError, ConnectionError) as exc:
        print(f"hpcmc: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE


def main(argv: Optional[list[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(args.verbose, args.log_level)
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
