"""A Ray cluster of several nodes on this machine: a head and worker raylets started with `ray start`.

    with LocalRayCluster(workers=1, cpus_per_node=1) as cluster:
        subprocess.run([...], env=cluster.env())   # corpus.ray_address: cluster.address

Used by tests/corpus/test_ray_cluster.py and benchmarks/corpus_scale.py. Each node is its own raylet
with its own resources (`{"head": 1}`, `{"worker": 1}`), so Ray schedules across them as across
machines; only the network is loopback.

Why it is written this way:
- `ray stop` stops every Ray process of the user on the machine, other people's clusters included,
  so it is never called. The cluster's processes are found instead by a marker variable that every
  process started here inherits (`LONTAR_RAY_CLUSTER=<random id>`), by the temp dir in their command
  line, and as descendants of those (the raylets' worker processes rename themselves, which can hide
  their environment), and only those processes are stopped.
- Every port is free at start (GCS, Ray client server, dashboard): the defaults (6379, 10001, 8265)
  clash with any other cluster on the machine.
- Ray >= 2.5x turns token authentication on when `~/.ray/auth_token` exists. The cluster gets its
  own random token through `RAY_AUTH_MODE=token` and `RAY_AUTH_TOKEN`; a driver needs `env()` to join.
- The temp dir is short (`/tmp/lontar-ray-*`): Ray puts Unix sockets under it, and a socket path has
  at most 107 bytes.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

MARKER = "LONTAR_RAY_CLUSTER"


def free_ports(n: int) -> list[int]:
    """n distinct free ports: every socket stays bound until all are chosen, so the OS cannot hand the
    same port out twice (one at a time, the head's GCS and client-server ports once came out equal)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def ray_cli() -> str:
    """The `ray` command of this interpreter's environment (the same Ray as the driver's)."""
    exe = Path(sys.executable).with_name("ray")
    return str(exe) if exe.exists() else (shutil.which("ray") or "ray")


class LocalRayCluster:
    """A head and `workers` worker raylets, `cpus_per_node` CPUs each; `stop()` stops only these."""

    def __init__(self, workers: int = 1, cpus_per_node: int = 1, object_store_bytes: int = 200 * 1024**2,
                 start_timeout: float = 120.0) -> None:
        self.workers = workers
        self.cpus_per_node = cpus_per_node
        self.object_store_bytes = object_store_bytes
        self.start_timeout = start_timeout
        self.cluster_id = secrets.token_hex(8)
        self._token = secrets.token_hex(32)
        self.temp_dir = Path(tempfile.mkdtemp(prefix="lontar-ray-", dir="/tmp"))
        self.port, self._dashboard_port, self._client_port = free_ports(3)
        self.address = f"127.0.0.1:{self.port}"
        self.log: list[str] = []

    def env(self) -> dict[str, str]:
        """The environment of a process that joins this cluster (the build's driver)."""
        env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS",)}
        env.update({MARKER: self.cluster_id, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self._token,
                    "RAY_USAGE_STATS_ENABLED": "0"})
        return env

    def _ray_start(self, args: list[str]) -> None:
        cmd = [ray_cli(), "start", "--disable-usage-stats", "--node-ip-address=127.0.0.1",
               f"--num-cpus={self.cpus_per_node}", f"--object-store-memory={self.object_store_bytes}", *args]
        done = subprocess.run(cmd, env=self.env(), capture_output=True, text=True, timeout=self.start_timeout)
        self.log.append(done.stdout[-2000:] + done.stderr[-2000:])
        if done.returncode != 0:
            raise RuntimeError(f"`{' '.join(cmd[:3])} ...` failed ({done.returncode}): {done.stderr[-1500:]}")

    def start(self) -> "LocalRayCluster":
        try:
            self._ray_start(["--head", f"--port={self.port}", f"--temp-dir={self.temp_dir}",
                             "--include-dashboard=false", f"--dashboard-port={self._dashboard_port}",
                             f"--ray-client-server-port={self._client_port}", "--resources={\"head\": 1}"])
            for _ in range(self.workers):
                self._ray_start([f"--address={self.address}", "--resources={\"worker\": 1}"])
            self.wait_for_nodes(1 + self.workers)
        except BaseException:
            self.stop()
            raise
        return self

    def alive_nodes(self) -> list[dict[str, Any]]:
        """The alive nodes as the cluster itself reports them (`ray.nodes()`, asked from a fresh driver)."""
        code = ("import json, ray; ray.init(address=%r, log_to_driver=False, configure_logging=False); "
                "print(json.dumps([{'id': n['NodeID'], 'resources': n['Resources']} for n in ray.nodes() if n['Alive']]))"
                % self.address)
        done = subprocess.run([sys.executable, "-c", code], env=self.env(), capture_output=True, text=True,
                              timeout=self.start_timeout)
        if done.returncode != 0:
            raise RuntimeError(f"cannot reach the Ray cluster at {self.address}: {done.stderr[-1500:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    def wait_for_nodes(self, n: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.start_timeout
        while True:
            nodes = self.alive_nodes()
            if len(nodes) >= n or time.monotonic() > deadline:
                return nodes
            time.sleep(1.0)

    def processes(self) -> list[psutil.Process]:
        """Every live process of this cluster: marked ones, ones naming its temp dir, and their descendants."""
        me = os.getpid()
        roots: list[psutil.Process] = []
        tag = str(self.temp_dir)
        for p in psutil.process_iter(["pid", "cmdline"]):
            cmd = p.info["cmdline"] or []
            if p.pid == me or not any("ray" in a for a in cmd):  # only Ray's processes are looked into
                continue
            try:
                if any(tag in a for a in cmd) or p.environ().get(MARKER) == self.cluster_id:
                    roots.append(p)
            except (psutil.Error, OSError):
                continue
        found = {p.pid: p for p in roots}
        for p in roots:
            try:
                found.update({c.pid: c for c in p.children(recursive=True)})
            except psutil.Error:
                pass
        # A driver started with env() carries the marker too and is stopped with the cluster; the caller
        # and its parents are never touched.
        ancestors = {a.pid for a in psutil.Process(me).parents()} | {me}
        return [p for pid, p in found.items() if pid not in ancestors]

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM to this cluster's processes, SIGKILL to what is left after `grace`."""
        procs = self.processes()
        for p in procs:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(procs, timeout=grace)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)

    def __enter__(self) -> "LocalRayCluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

