"""The source stage: Git only (GitPython)."""

from agent.source.git import Checkout, GitSource, check_url, normalize_url

__all__ = ["Checkout", "GitSource", "check_url", "normalize_url"]
