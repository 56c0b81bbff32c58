"""``render`` and ``health``: what a chart renders to, and how objects are judged."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import typer

from agent.cli.base import ConfigOption, err, fail, load, with_declared
from agent.errors import AgentError

_Explain = Annotated[Path, typer.Option("--explain", help="A YAML file of objects to judge.")]
_Json = Annotated[bool, typer.Option("--json", help="One JSON list.")]


# long: typer makes each option a parameter, one declaration each
def render_cmd(  # noqa: PLR0913, PLR0917 - typer makes each option a parameter
    target: Annotated[str, typer.Argument(help="An app of the configuration, or a chart / YAML folder.")],
    config: ConfigOption = Path("agent.yaml"),
    values: Annotated[
        list[str] | None, typer.Option("--values", "-f", help="Values file, over the chart's and the app's.")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="key.path=value (Helm syntax), over everything.")
    ] = None,
    set_string: Annotated[
        list[str] | None, typer.Option("--set-string", help="key.path=value, the value kept a string.")
    ] = None,
    namespace: Annotated[
        str | None, typer.Option("--namespace", "-n", help="Default: the app's, or default.")
    ] = None,
    release: Annotated[
        str | None, typer.Option("--release", help="Default: the app's name, or the folder's.")
    ] = None,
    revision: Annotated[
        str | None, typer.Option("--revision", help="App mode: render this branch, tag or commit.")
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", min=0.1, help="Seconds the render may take before it is stopped (30)."),
    ] = None,
    kube_version: Annotated[
        str | None, typer.Option("--kube-version", help="Kubernetes version for capabilities (default 1.33).")
    ] = None,
    api_versions: Annotated[
        list[str] | None,
        typer.Option("--api-versions", "-a", help="Extra API versions for capabilities (group/version)."),
    ] = None,
    validate: Annotated[
        bool | None,
        typer.Option("--validate/--no-validate", help="Check objects against the Kubernetes schemas."),
    ] = None,
) -> None:
    """Print the manifests an app or a folder renders to (like helm template).

    The manifests go to standard output; the chart's NOTES.txt, if any, to
    standard error."""
    from agent.render import Capabilities, load_values_file, parse_set, render
    from agent.render.manifests import to_yaml_stream
    from agent.sync.render import target_request

    try:
        overrides = [load_values_file(Path(v), v) for v in values or ()]
        overrides += [parse_set(set_ or []), parse_set(set_string or [], as_string=True)]
        capabilities = Capabilities.of(kube_version, api_versions or ())
        configured = lambda: with_declared(load(config), target)  # noqa: E731 - an app agent.yaml or Git declares
        req = target_request(
            target, configured, revision, release=release, namespace=namespace, validate=validate
        )
        limits = req.limits if timeout is None else replace(req.limits, max_seconds=timeout)
        result = render(replace(req, overrides=overrides, capabilities=capabilities, limits=limits))
    except AgentError as e:
        fail(str(e))
        return
    sys.stdout.write(to_yaml_stream(result.manifests))
    sys.stdout.flush()
    if result.notes:
        err.print(f"NOTES:\n{result.notes}", markup=False)


def health(explain: _Explain, config: ConfigOption = Path("agent.yaml"), as_json: _Json = False) -> None:
    """Each object's health, the rule that decided it and why (the config's rules first)."""
    from agent.report.explain import health_command

    health_command(explain, config, as_json)
