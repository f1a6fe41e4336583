"""Near-duplicate clustering on Spark (placeholder until the near_dedup step lands)."""
