"""``init [DIR]``: a GitOps repository to start from, ready to ``sync``.

What ``helm create`` and ``flux bootstrap`` give a new user, without a
cluster: one plain-YAML app (a Namespace, a ConfigMap, a Deployment and a
Service), an ``agent.yaml`` that syncs it into the embedded emulated
cluster, and the first commit (the agent syncs what Git has).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.base import fail, out

AGENT_YAML = """\
# gitops-agent configuration: see the README's "Configuration" section.
# Relative paths are resolved against this file's folder.  The app reads this
# very repository (repo: .) at its committed HEAD: edit, commit, then sync.
cluster:
  emulated: {path: .gitops-agent/cluster.db}   # the embedded emulated cluster;
                                               # a real one: kubeconfig: {path: ~/.kube/config, context: NAME}
stateDir: .gitops-agent
source:
  allowedSchemes: [https, ssh, git, file]      # file: this repository is a local path
apps:
  - name: NAME
    repo: .
    revision: HEAD
    path: apps/NAME
    namespace: NAME
    syncPolicy: {automated: true, prune: true, selfHeal: true}
"""

APP_YAML = """\
# A plain-YAML app: every .yaml file of this folder is applied as written.
apiVersion: v1
kind: Namespace
metadata:
  name: NAME
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: NAME
  namespace: NAME
data:
  index.html: |
    <h1>Hello from Git</h1>
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: NAME
  namespace: NAME
  labels: {app.kubernetes.io/name: NAME}
spec:
  replicas: 1
  selector:
    matchLabels: {app.kubernetes.io/name: NAME}
  template:
    metadata:
      labels: {app.kubernetes.io/name: NAME}
    spec:
      containers:
        - name: web
          image: nginx:1.27
          ports: [{containerPort: 80, name: http}]
          volumeMounts: [{name: content, mountPath: /usr/share/nginx/html}]
      volumes: [{name: content, configMap: {name: NAME}}]
---
apiVersion: v1
kind: Service
metadata:
  name: NAME
  namespace: NAME
spec:
  selector: {app.kubernetes.io/name: NAME}
  ports: [{name: http, port: 80, targetPort: http}]
"""

GITIGNORE = ".gitops-agent/\n"


def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where (default: here).")] = Path(),
    app_name: Annotated[str, typer.Option("--app", help="The app's name (a DNS label).")] = "hello",
) -> None:
    """Create a repository with one app and an agent.yaml, ready to sync.

    Files that exist are never overwritten.  A folder outside any Git
    repository becomes one, with a first commit.
    """
    import re

    if not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", app_name):
        fail(f"--app {app_name!r}: must be a DNS label (lowercase letters, digits, '-')", 2)
    files = {
        directory / "agent.yaml": AGENT_YAML.replace("NAME", app_name),
        directory / "apps" / app_name / "app.yaml": APP_YAML.replace("NAME", app_name),
        directory / ".gitignore": GITIGNORE,
    }
    there = [str(p) for p in files if p.exists()]
    if there:
        fail(f"init: {', '.join(there)} already exist(s); nothing was written")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        out.print(f"created {path}", markup=False)
    out.print(_commit(directory), markup=False)


def _commit(directory: Path) -> str:
    """The first commit of a new repository, or what to do instead."""
    from agent.source.command import GitFailed, run_git

    where = ["-C", str(directory)]
    inside = True
    try:
        run_git([*where, "rev-parse", "--is-inside-work-tree"], timeout=30)
    except GitFailed:
        inside = False
    then = f"then: gitops-agent sync --config {directory / 'agent.yaml'}"
    if inside:
        return f"commit the new files (the agent syncs what Git has), {then}"
    try:
        run_git([*where, "init", "-q"], timeout=30)
        run_git([*where, "add", "-A"], timeout=30)
        run_git([*where, "commit", "-q", "-m", "gitops-agent init"], timeout=30)
    except GitFailed as e:
        return f"a Git repository was made, but the first commit failed ({e.reason}): commit, {then}"
    return f"a Git repository with a first commit; {then}"
