"""What every configuration model shares: camelCase keys, unknown keys
refused, frozen values; and the name rule of Kubernetes labels."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class ConfigModel(BaseModel):
    """Every model of the file: camelCase keys, unknown keys refused, frozen."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)
