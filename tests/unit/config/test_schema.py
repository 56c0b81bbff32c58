"""The JSON Schema of agent.yaml: generated from the models, checked in for
editors (kept fresh), and true to what the agent accepts."""

from __future__ import annotations

import json
import re

import jsonschema
import yaml

from agent.config.schema import json_schema, schema_text
from tests.support.repos import EXAMPLES, PROJECT

CHECKED_IN = PROJECT / "templates" / "agent.schema.json"


def test_the_checked_in_schema_is_what_the_models_give() -> None:
    assert CHECKED_IN.read_text() == schema_text(), (
        "templates/agent.schema.json is stale: run `gitops-agent config schema > templates/agent.schema.json`"
    )


def test_the_example_and_the_readme_configuration_pass_and_typos_do_not() -> None:
    validator = jsonschema.Draft202012Validator(json_schema())
    validator.check_schema(json_schema())
    example = yaml.safe_load((EXAMPLES / "agent.yaml").read_text())
    assert list(validator.iter_errors(example)) == []
    readme = (PROJECT / "README.md").read_text()
    block = re.search(r"## Configuration \(`agent.yaml`\)\n\n```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    assert list(validator.iter_errors(yaml.safe_load(block[1]))) == []
    typo = {**example, "apps": [{**example["apps"][0], "syncPolicy": {"prunee": True}}]}
    errors = [e.message for e in validator.iter_errors(typo)]
    assert any("prunee" in m for m in errors), errors
    assert "baseDir" not in json.dumps(json_schema()["properties"])
