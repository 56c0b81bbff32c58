"""Benchmark the cold 1,000-object sync (the objects of ``bench/sync.py``)
against a real kube-apiserver with etcd (``tests/apiserver``, built once into
the test cache) and against the emulated cluster served over HTTPS, side by
side with ``kubectl apply --server-side`` against the same real server.

Each measurement gets a fresh server. Times: the sync as the agent reports
it (``durationSeconds``: fetch to record) and the whole ``gitops-agent sync``
command; kubectl is compared with the whole command. The syncs do not wait
for health (no controller-manager runs beside the real API server, so a
Deployment never becomes available there); both servers are measured alike.

Prints figures; the last line is one JSON object.

    python bench/real_cluster.py [--objects 1000] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support, beside bench/

from sync import GIT_ENV, Served, manifests, run

from tests.support import apiserver


def repo_with(folder: Path, objects: list[dict[str, Any]]) -> Path:
    repo = folder / "repo"
    (repo / "app").mkdir(parents=True)
    (repo / "app" / "all.yaml").write_text(yaml.safe_dump_all(objects))
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-qm", "bench"]):
        subprocess.run(["git", *args], cwd=repo, env=env, check=True)
    return repo


def sync(folder: Path, repo: Path, kubeconfig: Path) -> tuple[float, float, Any]:
    """(the sync as reported, the whole command, its summary) of a cold sync."""
    config = folder / "agent.yaml"
    config.write_text(
        textwrap.dedent(f"""
        cluster:
          kubeconfig: {{path: {kubeconfig}}}
        source: {{allowedSchemes: [file]}}
        apps:
          - name: bench
            repo: {repo}
            path: app
            namespace: bench
            syncPolicy: {{createNamespace: true, parallelism: 16, waitForHealth: false}}
        """)
    )
    took, done = run([sys.executable, "-m", "agent", "sync", "-c", str(config), "-o", "json"])
    if done.returncode != 0:
        raise SystemExit(f"agent sync failed: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    app = json.loads(done.stdout)["apps"][0]
    return float(app["durationSeconds"]), took, app["summary"]


def real_sync(binary: Path, folder: Path, repo: Path) -> tuple[float, float, Any]:
    server = apiserver.start(binary, folder / "server")
    try:
        return sync(folder, repo, server.kubeconfig)
    finally:
        apiserver.stop(server.process)


def emulator_sync(folder: Path, repo: Path) -> tuple[float, float, Any]:
    served = Served(folder, "emulator")
    try:
        return sync(folder, repo, served.kubeconfig)
    finally:
        served.close()


def kubectl_real(binary: Path, folder: Path, objects: list[dict[str, Any]]) -> float | None:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    folder.mkdir(parents=True)
    manifest = folder / "kubectl.yaml"
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
    manifest.write_text(yaml.safe_dump_all([namespace, *objects]))
    server = apiserver.start(binary, folder / "server")
    try:
        took, done = run(
            [kubectl, "--kubeconfig", str(server.kubeconfig), "apply", "--server-side", "-f", str(manifest)]
        )
    finally:
        apiserver.stop(server.process)
    if done.returncode != 0:
        raise SystemExit(f"kubectl failed: {(done.stderr or done.stdout)[-1000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each sync; the best counts")
    args = parser.parse_args()
    binary = apiserver.build(sys.stderr)
    objects = manifests(args.objects, "bench")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        repo = repo_with(folder / "source", objects)
        reals, emulated = [], []
        for i in range(max(1, args.repeat)):
            reals.append(real_sync(binary, folder / f"real-{i}", repo))
            emulated.append(emulator_sync(folder / f"emulator-{i}", repo))
        kubectl_s = kubectl_real(binary, folder / "kubectl", objects)
    real_s, real_cmd, real_summary = min(reals, key=lambda r: r[0])
    emu_s, emu_cmd, emu_summary = min(emulated, key=lambda r: r[0])
    figures: dict[str, Any] = {
        "objects": args.objects,
        "real_server": apiserver.KUBERNETES_VERSION,
        "real_sync_s": round(real_s, 3),
        "real_command_s": round(real_cmd, 3),
        "real_summary": real_summary,
        "emulator_sync_s": round(emu_s, 3),
        "emulator_command_s": round(emu_cmd, 3),
        "emulator_summary": emu_summary,
        "kubectl_apply_real_s": round(kubectl_s, 3) if kubectl_s else None,
    }
    if kubectl_s:
        figures["ratio_agent_command_to_kubectl_real"] = round(real_cmd / kubectl_s, 3)
    print(f"cold sync of {args.objects} objects (5 kinds), sync as reported / whole command:")
    print(f"  real kube-apiserver {apiserver.KUBERNETES_VERSION} + etcd: {real_s:.2f} s / {real_cmd:.2f} s")
    print(f"  emulated cluster over HTTPS:        {emu_s:.2f} s / {emu_cmd:.2f} s")
    print(
        f"  kubectl apply --server-side, real:  {kubectl_s:.2f} s"
        if kubectl_s
        else "  kubectl: not installed"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
