"""A private one-node SLURM on localhost for the scheduler tests.

Starts ``munged``, ``slurmctld`` and ``slurmd`` (Debian's ``munge`` and ``slurm-wlm``) from a
generated ``slurm.conf`` in a directory of its own: its own munge key and socket, free TCP
ports, its own spool and state directories, so it disturbs no SLURM or munge already on the
machine. Clients find it through ``SLURM_CONF`` (:meth:`LocalSlurm.env`). The node declares
4 CPUs (``SlurmdParameters=config_overrides``) so a 3-rank job fits on a 2-core machine.
:meth:`LocalSlurm.stop` cancels the jobs still in the queue, then ends exactly the daemons it
started.

Job ids start at a random ``FirstJobId``: a fresh ``slurmctld`` would otherwise number its jobs
1, 2, 3... again, and MPI libraries key their shared-memory segments by the PMI job id
(``PMI_JOBID=<job>.<step>``), so a rank of a new job could attach to a segment that a
cancelled job of an earlier test cluster left in ``/dev/shm`` and wait in ``MPI_Init`` forever
(seen with the MPICH wheel under ``srun --mpi=pmi2``). On a real cluster job ids do not repeat.
"""
from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["LocalSlurm", "missing_programs"]

PROGRAMS = ("munged", "slurmctld", "slurmd", "sbatch", "srun", "squeue", "scancel", "sinfo")
SBIN = ("/usr/sbin", "/usr/bin", "/usr/local/sbin")


def _which(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in SBIN:
        if os.access(os.path.join(d, name), os.X_OK):
            return os.path.join(d, name)
    return None


def missing_programs() -> list[str]:
    """The SLURM and munge programs this machine lacks."""
    return [p for p in PROGRAMS if _which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalSlurm:
    """A one-node SLURM cluster in ``root`` (a fresh, private directory)."""

    def __init__(self, root: Path, cpus: int = 4):
        self.root = Path(root)
        self.cpus = cpus
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"
        self._procs: dict[str, subprocess.Popen] = {}

    def env(self, **extra: str) -> dict[str, str]:
        """The environment of a SLURM client (sbatch, squeue...) talking to this cluster."""
        env = dict(os.environ)
        env["SLURM_CONF"] = str(self.conf)
        env.update(extra)
        return env

    def _write_config(self) -> None:
        for sub in ("munge", "spool", "state", "log"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        self.conf.write_text(f"""\
ClusterName=hpcmctest
FirstJobId={random.randrange(1_000_000, 60_000_000)}
SlurmctldHost={self.host}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.munge_socket}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
StateSaveLocation={self.root / "state"}
SlurmdSpoolDir={self.root / "spool"}
SlurmctldPidFile={self.root / "slurmctld.pid"}
SlurmdPidFile={self.root / "slurmd.pid"}
SlurmctldLogFile={self.root / "log" / "slurmctld.log"}
SlurmdLogFile={self.root / "log" / "slurmd.log"}
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
ReturnToService=2
KillWait=5
MinJobAge=300
InactiveLimit=0
NodeName={self.host} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory=4000 State=UNKNOWN
PartitionName=test Nodes={self.host} Default=YES MaxTime=60 State=UP
""")

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self._procs[name] = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env(),
                                             start_new_session=True)

    def start(self, timeout_s: float = 60.0) -> "LocalSlurm":
        """Write the configuration, start the three daemons, wait for the node to be idle."""
        self._write_config()
        m = self.root / "munge"
        self._start("munged", [_which("munged"), "--foreground", "--force", f"--socket={self.munge_socket}",
                               f"--key-file={m / 'munge.key'}", f"--pid-file={m / 'munged.pid'}",
                               f"--log-file={m / 'munged.log'}", f"--seed-file={m / 'munged.seed'}"])
        self._wait(lambda: self.munge_socket.exists(), timeout_s, "munged did not create its socket")
        self._start("slurmctld", [_which("slurmctld"), "-D", "-f", str(self.conf)])
        time.sleep(1.0)
        self._start("slurmd", [_which("slurmd"), "-D", "-f", str(self.conf), "-N", self.host])
        self._wait(lambda: self.node_state() == "idle", timeout_s, "the node did not become idle")
        return self

    def node_state(self) -> str:
        proc = subprocess.run([_which("sinfo"), "-h", "-N", "-o", "%T"], capture_output=True, text=True,
                              env=self.env(), timeout=30)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    def _wait(self, ready, timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [n for n, p in self._procs.items() if p.poll() is not None]
            if dead:
                break
            time.sleep(0.25)
        raise RuntimeError(f"local SLURM: {what}\n{self.logs()}")

    def logs(self) -> str:
        """The daemons' logs (for failure messages)."""
        parts = []
        for path in sorted((self.root / "log").glob("*")) + [self.root / "munge" / "munged.log"]:
            if path.exists():
                parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(parts)

    def sbatch(self, args: list[str], env: dict[str, str], timeout_s: float = 600) -> subprocess.CompletedProcess:
        """``sbatch --wait --parsable ARGS``: returns when the job has ended."""
        return subprocess.run([_which("sbatch"), "--wait", "--parsable", *map(str, args)], capture_output=True,
                              text=True, env=self.env(**env), timeout=timeout_s)

    def submit(self, args: list[str], env: dict[str, str]) -> str:
        """``sbatch --parsable ARGS``: the job id, without waiting."""
        proc = subprocess.run([_which("sbatch"), "--parsable", *map(str, args)], capture_output=True, text=True,
                              env=self.env(**env), timeout=60, check=True)
        return proc.stdout.strip().split(";")[0]

    def scancel(self, job_id: str) -> None:
        subprocess.run([_which("scancel"), job_id], env=self.env(), timeout=60, check=True)

    def job_running(self, job_id: str) -> bool:
        proc = subprocess.run([_which("squeue"), "-h", "-j", job_id, "-o", "%T"], capture_output=True, text=True,
                              env=self.env(), timeout=30)
        return proc.stdout.strip() not in ("", "COMPLETED", "CANCELLED", "FAILED", "TIMEOUT")

    def cancel_all(self, timeout_s: float = 60.0) -> None:
        """Cancel every job of this cluster and wait until the queue is empty."""
        if self._procs.get("slurmctld") is None or self._procs["slurmctld"].poll() is not None:
            return
        subprocess.run([_which("scancel"), "--user", str(os.getuid())], env=self.env(), timeout=60)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            proc = subprocess.run([_which("squeue"), "-h", "-o", "%i"], capture_output=True, text=True,
                                  env=self.env(), timeout=30)
            if proc.returncode != 0 or not proc.stdout.strip():
                return
            time.sleep(0.5)

    def stop(self) -> None:
        """Cancel the cluster's jobs, then end the daemons this object started, nothing else."""
        try:
            self.cancel_all()
        except (OSError, subprocess.SubprocessError):
            pass
        for name in ("slurmd", "slurmctld", "munged"):
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=20)
