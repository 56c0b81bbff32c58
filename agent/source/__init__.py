"""The source stage: Git only.  See :mod:`agent.source.git`."""

from agent.backoff import Backoff
from agent.source.credentials import Credential, SecretSource
from agent.source.git import Checkout, GitSource
from agent.source.settings import SourceSettings, signature_policy
from agent.source.signatures import SignaturePolicy
from agent.source.urls import UrlPolicy, check_url, normalize_url

__all__ = [
    "Backoff",
    "Checkout",
    "Credential",
    "GitSource",
    "SecretSource",
    "SignaturePolicy",
    "SourceSettings",
    "UrlPolicy",
    "check_url",
    "normalize_url",
    "signature_policy",
]
