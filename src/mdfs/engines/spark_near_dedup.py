"""Near-duplicate clustering on Spark: bands → candidate pairs → connected components.

The shard tasks already computed every document's MinHash band hashes (the near_dedup step's
`observe`). Here the driver never holds them: Spark reads them, shuffles by (band, hash) to
find candidate pairs, joins the pairs into clusters with the large-star / small-star
algorithm (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC 2014), and
writes each shard's decision in the very files the step's `filter_shard` reads, so the kept
set is the local engine's.

Documents are numbered `shard_index << 32 | ordinal`, so the smallest number in a cluster is
the first document in run order, the one that stays, as on the local engine.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import DataFrame

log = logging.getLogger(__name__)

ORDINAL_BITS = 32


def connected_components(edges: DataFrame, max_iterations: int = 64) -> DataFrame:
    """(x, y) undirected edges → (node, root) for every node that is not its cluster's root;
    root is the smallest node of the cluster. Nodes in no edge are roots and left out.

    Each round is a large-star (every node links its larger neighbours to the smallest node
    it sees) then a small-star (every node links itself and its smaller neighbours to the
    smallest of them); when a round changes nothing, every node points at its root. The
    number of rounds grows with the log of the largest cluster's size. Every round is
    checkpointed (to the context's checkpoint folder) so that lineage stays short and a lost
    executor costs one round, not the whole computation.
    """
    from pyspark.sql import functions as F

    def large_star(pairs: DataFrame) -> DataFrame:
        both = pairs.unionByName(pairs.select(F.col("y").alias("x"), F.col("x").alias("y")))
        smallest = both.groupBy("x").agg(F.least(F.min("y"), F.col("x")).alias("m"))
        return (
            both.join(smallest, "x")
            .where(F.col("y") > F.col("x"))
            .select(F.col("y").alias("x"), F.col("m").alias("y"))
            .distinct()
        )

    def small_star(pairs: DataFrame) -> DataFrame:
        down = pairs.select(F.greatest("x", "y").alias("x"), F.least("x", "y").alias("y")).where(
            F.col("x") != F.col("y")
        )
        smallest = down.groupBy("x").agg(F.least(F.min("y"), F.col("x")).alias("m"))
        members = down.join(smallest, "x").select(F.col("y").alias("x"), "m")
        return (
            members.unionByName(smallest.select("x", "m"))
            .where(F.col("x") != F.col("m"))
            .select("x", F.col("m").alias("y"))
            .distinct()
        )

    current = edges.select(F.col("x").cast("long"), F.col("y").cast("long"))
    current = current.where(F.col("x") != F.col("y")).distinct().checkpoint()
    for iteration in range(1, max_iterations + 1):
        after = small_star(large_star(current)).checkpoint()
        # Converged when a whole round changes nothing. (Comparing the small-star's output
        # with the large-star's of the same round, as some implementations do, stops early
        # on long paths with nodes not yet on their root.)
        changed = (
            after.exceptAll(current).limit(1).count() or current.exceptAll(after).limit(1).count()
        )
        current = after
        if not changed:
            log.info("connected components: converged after %d rounds", iteration)
            return current.select(F.col("x").alias("node"), F.col("y").alias("root"))
    raise RuntimeError(f"connected components did not converge in {max_iterations} rounds")
