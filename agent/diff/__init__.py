"""The diff stage (pure): desired against live, drift classification, masking."""

from agent.diff.compare import ABSENT, DiffOptions, diff_object
from agent.diff.ignore import Ignored, IgnoreRule, ignored_for, keep_live_values, managed_fields
from agent.diff.mask import mask_secret_values, mask_token
from agent.diff.normalize import normalize_desired

__all__ = [
    "ABSENT",
    "DiffOptions",
    "IgnoreRule",
    "Ignored",
    "diff_object",
    "ignored_for",
    "keep_live_values",
    "managed_fields",
    "mask_secret_values",
    "mask_token",
    "normalize_desired",
]
