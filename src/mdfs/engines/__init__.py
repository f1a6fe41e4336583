"""Engines decide where shards run; the steps and the accounting are the same on every engine."""
