"""The long-running agent: scheduler, webhook and status HTTP app.

Everything here drives the same engine as the one-shot commands
(:mod:`agent.sync.engine`); nothing below ``agent.daemon`` imports it.
"""
