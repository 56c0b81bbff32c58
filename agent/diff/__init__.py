"""The diff stage (pure): desired against live, drift classification, masking."""

from agent.diff.compare import ABSENT, diff_object, normalize_desired
from agent.diff.mask import mask_secret_values, mask_token

__all__ = ["ABSENT", "diff_object", "mask_secret_values", "mask_token", "normalize_desired"]
