"""What ``--help`` shows: examples under every command, and metavars people
read (``--revision REV``, ``APPS...``) instead of Python types.

Applied to the finished Click command tree (:func:`tidy`), so every command
gets it, the emulator's group included, without each option spelling it.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any

# Command path -> example lines (``# comment`` after two spaces is kept as written).
EXAMPLES: dict[str, tuple[str, ...]] = {
    "": (
        "gitops-agent sync                                  # every app of ./agent.yaml",
        "gitops-agent diff hello -o markdown                # drift, for a pull-request comment",
        "gitops-agent --context prod status                 # another cluster, as kubectl",
        "source <(gitops-agent completion bash)",
    ),
    "sync": (
        "gitops-agent sync                                  # every app of ./agent.yaml",
        "gitops-agent sync hello --dry-run                  # checked by the server, nothing changed",
        "gitops-agent sync shop --revision v1.4.0 -o json > report.json",
        "gitops-agent --context prod sync shop --timeout 600",
        "gitops-agent sync -l team=shop                     # the apps labelled team=shop",
    ),
    "diff": (
        "gitops-agent diff                                  # exit 1 when the cluster differs from Git",
        "gitops-agent diff shop --revision feature-x        # what merging feature-x would change",
        "gitops-agent diff shop --from 3 --to 5             # two recorded revisions, no cluster diff",
        "gitops-agent diff shop --from v1.3.0 --to main     # two commits, rendered",
    ),
    "status": (
        "gitops-agent status",
        "gitops-agent status shop -o wide",
        "gitops-agent status -o json | jq '.apps[] | select(.syncStatus != \"Synced\")'",
    ),
    "apps": (
        "gitops-agent apps                                  # every app, and where each comes from",
        "gitops-agent apps -l team=shop -o json",
    ),
    "history": (
        "gitops-agent history shop",
        "gitops-agent history shop -o html > history.html   # with each revision's manifests and diff",
        "gitops-agent history shop -o name                  # revision numbers only",
    ),
    "manifests": (
        "gitops-agent manifests shop                        # the last recorded revision",
        "gitops-agent manifests shop --revision 3 | kubectl diff -f -",
    ),
    "suspend": (
        "gitops-agent suspend shop                          # the daemon leaves it alone until resumed",
        "gitops-agent sync shop --ignore-suspend            # one sync by hand all the same",
    ),
    "resume": ("gitops-agent resume shop                           # the daemon's next poll syncs it",),
    "rollback": (
        "gitops-agent rollback shop                         # to the last healthy revision",
        "gitops-agent rollback shop --to 3",
    ),
    "render": (
        "gitops-agent render shop                           # an app of ./agent.yaml",
        "gitops-agent render charts/web -f prod.yaml --set image.tag=2.1 -n web",
    ),
    "health": ("gitops-agent health --explain objects.yaml --config agent.yaml",),
    "run": (
        "gitops-agent run                                   # http://127.0.0.1:8080/",
        "GITOPS_AGENT_CONFIG=/etc/gitops-agent/agent.yaml gitops-agent run --log-format json",
    ),
    "init": (
        "gitops-agent init my-deploys && cd my-deploys && gitops-agent sync",
        "gitops-agent init . --app shop",
    ),
    "version": ("gitops-agent version", "gitops-agent version --client -o json"),
    "completion": (
        "source <(gitops-agent completion bash)             # this shell",
        "gitops-agent completion bash > /etc/bash_completion.d/gitops-agent",
        'gitops-agent completion zsh > "${fpath[1]}/_gitops-agent"',
        "gitops-agent completion fish > ~/.config/fish/completions/gitops-agent.fish",
    ),
    "config": ("gitops-agent config validate agent.yaml", "gitops-agent config schema > agent.schema.json"),
    "config schema": ("gitops-agent config schema > agent.schema.json",),
    "config validate": ("gitops-agent config validate agent.yaml   # exit 3 and one line per error",),
    "emulator": (
        "gitops-agent emulator get deployments -n hello",
        "gitops-agent emulator serve --db examples-repo/.gitops-agent/cluster.db",
    ),
    "emulator get": ("gitops-agent emulator get deployment hello -n hello -o yaml",),
    "emulator patch": (
        'gitops-agent emulator patch deployment hello -n hello -p \'{"spec":{"replicas":4}}\'',
    ),
    "emulator serve": (
        "gitops-agent emulator serve --db examples-repo/.gitops-agent/cluster.db --port 6443",
        "gitops-agent emulator serve --faults faults.yaml --no-auth",
    ),
    "emulator kubeconfig": ("gitops-agent emulator kubeconfig > kubeconfig",),
}


def _metavar(param: Any) -> str:
    """A name people read: the choices, FILE for paths, else the option's name."""
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return "|".join(str(m.value) for m in annotation)
    if annotation is Path or "Path" in str(annotation):
        return "FILE"
    return str(param.name).upper().replace("_", "-")


def _argument(param: Any) -> None:
    """``APPS...`` and ``[NAME]`` in the usage line, no type after the name."""
    name = str(param.metavar or param.name).upper()
    param.metavar = name
    piece = name + ("..." if param.nargs == -1 else "")
    piece = piece if param.required else f"[{piece}]"
    param.get_usage_pieces = lambda ctx: [piece]
    param.display_type_rich = lambda ctx: None


def tidy(command: Any, path: str = "") -> Any:
    """Examples as each command's epilog and readable metavars, through the tree."""
    examples = EXAMPLES.get(path)
    if examples and not command.epilog:
        # \b keeps Click from re-wrapping the lines
        command.epilog = "Examples:\n\n\b\n" + "\n".join(f"  {line}" for line in examples)
    for param in command.params:
        if param.param_type_name == "argument":
            _argument(param)
        elif not getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = _metavar(param)
    for name, sub in getattr(command, "commands", {}).items():
        tidy(sub, f"{path} {name}".strip())
    return command


GLOBAL_VALUED = ("--kubeconfig", "--context", "--cluster")
GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet")


def hoist_global_options(args: list[str]) -> list[str]:
    """The global options given after the command's name moved before it, as
    kubectl takes its global flags anywhere (``gitops-agent sync --context
    prod``).  The emulator's commands keep their own ``--kubeconfig``
    (``emulator serve --kubeconfig`` is where to write one), and nothing
    after ``--`` moves."""
    first, i = None, 0
    while i < len(args) and first is None:  # the command's name: past the global options and their values
        if not args[i].startswith("-"):
            first = i
        i += 2 if args[i] in GLOBAL_VALUED else 1
    if first is None:
        return args
    own = (
        ("--kubeconfig",) if args[first] == "emulator" else ()
    )  # emulator serve --kubeconfig: where to write
    front, rest, i = list(args[:first]), [], first
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg in GLOBAL_FLAGS or (arg.split("=", 1)[0] in GLOBAL_VALUED and arg.split("=", 1)[0] not in own):
            front.append(arg)
            if arg in GLOBAL_VALUED and i + 1 < len(args):
                front.append(args[i + 1])
                i += 1
        else:
            rest.append(arg)
        i += 1
    return front + rest
