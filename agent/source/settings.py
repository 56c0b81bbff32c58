"""The source stage's settings, read from the agent's configuration:
relative files (keyrings, secrets) resolve against the config's folder."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.source.credentials import Credential, SecretSource
from agent.source.signatures import SignaturePolicy
from agent.source.urls import UrlPolicy

if TYPE_CHECKING:
    from agent.config import AgentConfig, Application, SecretRef


@dataclass(frozen=True)
class SourceSettings:
    policy: UrlPolicy = field(default_factory=UrlPolicy)
    credentials: tuple[Credential, ...] = ()
    timeout: float = 60.0  # seconds, for every git command
    checkout_ttl: float = 3600.0  # a checkout unused this long is removed


def source_settings(config: AgentConfig) -> SourceSettings:
    src = config.source

    def secret(ref: SecretRef | None) -> SecretSource | None:
        if ref is None:
            return None
        return SecretSource(env=ref.env, file=config.resolve(ref.file) if ref.file is not None else None)

    return SourceSettings(
        policy=UrlPolicy(tuple(src.allowed_schemes)),
        credentials=tuple(
            Credential(
                prefix=c.url,
                username=c.username,
                password=secret(c.password),
                ssh_key=secret(c.ssh_key),
                known_hosts=secret(c.known_hosts),
            )
            for c in src.credentials
        ),
        timeout=src.timeout_seconds,
        checkout_ttl=src.checkout_ttl_seconds,
    )


def signature_policy(config: AgentConfig, app: Application) -> SignaturePolicy | None:
    """What the app trusts, or None when it does not verify signatures."""
    if app.verify is None:
        return None
    v = app.verify
    return SignaturePolicy(
        keyring=config.resolve(v.keyring) if v.keyring is not None else None,
        allowed_signers=config.resolve(v.allowed_signers) if v.allowed_signers is not None else None,
    )
