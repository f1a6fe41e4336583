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
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

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


@runtime_checkable
class BandedGlobalStep(Protocol):
    """The hook a near-duplicate GlobalStep exposes to be decided on Spark.

    Its local `decide` must mean the same: documents sharing a band hash in the same band are
    one cluster (transitively), the first document of a cluster in run order (shard order,
    then order in the shard) stays, every other one is a duplicate of it.
    """

    def band_hashes(self, shard: str) -> np.ndarray:
        """(documents, bands) unsigned 64-bit band hashes of the shard, in document order,
        as `observe` recorded them in the workdir."""
        ...

    def write_duplicates(self, shard: str, duplicates: dict[int, tuple[str, int]]) -> None:
        """Write the shard's decision for `filter_shard`: {ordinal: (shard, ordinal) of the
        document it duplicates}; an empty dict for a shard without duplicates."""
        ...


def decide_near_duplicates(
    spark: SparkSession, step: BandedGlobalStep, shards: list[str]
) -> dict[str, Any]:
    """The step's decide, on Spark: its decision files are written, its figures returned."""
    from pyspark.sql import functions as F

    context = spark.sparkContext
    checkpoints = step.workdir / "spark-checkpoints"  # type: ignore[attr-defined]
    context.setCheckpointDir(str(checkpoints))
    context.setJobDescription(f"mdfs {step.name}: bands → clusters")  # type: ignore[attr-defined]

    def rows(items: Iterator[tuple[int, str]]) -> Iterator[tuple[int, int, int]]:
        for index, shard in items:
            hashes = step.band_hashes(shard).astype(np.uint64).view(np.int64)
            for ordinal, document in enumerate(hashes.tolist()):
                node = index << ORDINAL_BITS | ordinal
                for band, value in enumerate(document):
                    yield node, band, value

    indexed = list(enumerate(shards))
    bands = spark.createDataFrame(
        context.parallelize(indexed, max(1, len(indexed))).mapPartitions(rows),
        "node long, band int, hash long",
    ).checkpoint()  # read the shards' files once
    # Joining each document to its bucket's first document gives the same clusters as every
    # pair in the bucket, with one edge per document instead of a quadratic number.
    first = bands.groupBy("band", "hash").agg(F.min("node").alias("first"))
    edges = (
        bands.join(first, ["band", "hash"])
        .where(F.col("node") != F.col("first"))
        .select(F.col("node").alias("x"), F.col("first").alias("y"))
    )
    roots = connected_components(edges)
    low = (1 << ORDINAL_BITS) - 1
    decisions = roots.select(
        F.shiftright("node", ORDINAL_BITS).cast("int").alias("shard"),
        (F.col("node").bitwiseAND(low)).cast("int").alias("ordinal"),
        F.shiftright("root", ORDINAL_BITS).cast("int").alias("root_shard"),
        (F.col("root").bitwiseAND(low)).cast("int").alias("root_ordinal"),
    )

    def write(items: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, int]]:
        for index, found in items:
            duplicates = {o: (shards[s], ro) for o, s, ro in sorted(found)}
            step.write_duplicates(shards[index], duplicates)
            yield index, len(duplicates)

    # Each shard's decision file is written by an executor, so no list of all duplicates
    # passes through the driver; only (shard, count) pairs come back.
    written = dict(
        decisions.rdd.map(lambda r: (r.shard, (r.ordinal, r.root_shard, r.root_ordinal)))
        .groupByKey()
        .mapPartitions(write)
        .collect()
    )
    for index, shard in indexed:
        if index not in written:
            step.write_duplicates(shard, {})
    clusters = roots.select("root").distinct().count()
    documents = bands.where(F.col("band") == 0).count()
    shutil.rmtree(checkpoints, ignore_errors=True)
    figures = {"documents": documents, "duplicates": sum(written.values()), "clusters": clusters}
    summarize = getattr(step, "spark_figures", None)  # a step may name its figures its own way
    return summarize(figures) if summarize else figures
