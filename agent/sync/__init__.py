"""Sync: plan (pure), apply, prune, revision records."""
