"""The near_dedup step's decide on Spark: bands → candidate pairs → verified pairs →
connected components → each shard's decision. Imported only by `NearDedup.decide_on_spark`,
so nothing else needs PySpark.

The shard tasks already computed every document's shingle set, MinHash signature and LSH
band keys (the step's `observe`, in its index folder). Here the driver never holds them:
Spark reads the files (one task per shard, as Arrow batches), shuffles by band key to find
candidate pairs, verifies each pair as the step's `verify` says (`exact`: the pairs are
joined with both documents' shingle sets and the executors intersect them; `signature`: the
same join with the signatures), joins verified pairs into clusters with the large-star /
small-star algorithm (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC
2014), picks each cluster's kept document by the step's rule, and writes each shard's
decision in the very file the step's `filter_shard` reads. Same rules, same arithmetic, same
files: the kept set is the local engine's.

Documents are numbered by their position in run order (the reference index's shards, then
this run's, in shard order), as the step numbers them, so "smallest" means "first".
"""

from __future__ import annotations

import bisect
import logging
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from mdfs.coarse.near_dedup_index import NearDedupIndex, Source
from mdfs.storage import filesystem, join, remove

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SIGNATURE_BATCH = 8192  # signature rows per Arrow batch: 4 MiB at 128 permutations
SHINGLE_BATCH = 1 << 20  # shingle hashes per Arrow batch: 4 MiB


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


class NearDedupSettings(Protocol):
    """What this decide reads of the `NearDedup` step (named here, not imported: the step
    imports this module)."""

    name: str
    num_perm: int
    threshold: float
    keep: str
    verify: str

    def sources(self, shards: list[str], folder: str) -> tuple[list[Source], int]: ...

    def index_parameters(self) -> dict[str, Any]: ...


def decide_on_spark(
    spark: SparkSession, step: NearDedupSettings, shards: list[str], location: str
) -> tuple[dict[str, Any], list[str]]:
    """`NearDedup.decide` on Spark, reading and writing the step's index at `location`.

    `location` is the step's workdir, or for a URL output the folder under the URL that
    mirrors it: executors read every shard's observations and write each shard's decision
    there, so no file goes through the driver. The Spark checkpoints of the clustering go
    there too (`spark-checkpoints`), so Hadoop must know that URL's scheme (hdfs:// and
    file:// it does; s3:// needs `fs.s3.impl`, see the README). Returns the report's figures
    and the names of the files written.

    The same rules as the step's decide, step by step: in each LSH bucket (documents sorted
    by run order) every member pairs with the bucket's first document and with the one before
    it; a pair is a near-duplicate when its Jaccard similarity (exact, or the fraction of
    equal MinHash values) reaches `threshold`; verified pairs join into clusters; in each
    cluster an indexed (reference) document stays, else the longest (with `keep: longest`),
    else the first in run order.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    started = time.perf_counter()
    context = spark.sparkContext
    checkpoints = join(location, "spark-checkpoints")
    context.setCheckpointDir(checkpoints)
    context.setJobDescription(f"mdfs {step.name}: MinHash bands → clusters")

    sources, reference_docs = step.sources(shards, location)
    total = sources[-1].offset + sources[-1].size if sources else 0
    starts = [source.offset for source in sources]

    def per_source(read: Callable[[Source], Iterator[Any]], schema: str) -> DataFrame:
        """What `read` yields for every document, one task per source."""

        def batches(frames: Iterator[Any]) -> Iterator[Any]:
            for frame in frames:
                for position in frame.column("source").to_pylist():
                    yield from read(sources[position])

        listing = context.parallelize([(i,) for i in range(len(sources))], max(1, len(sources)))
        return spark.createDataFrame(listing, "source int").mapInArrow(batches, schema)

    def for_documents(
        documents: DataFrame, read: Callable[[Source], Iterator[Any]], schema: str
    ) -> DataFrame:
        """What `read` yields for the `documents` (a column `doc`) alone: each source's task
        learns which of its documents are wanted, reads its files once and keeps only their
        rows, so no other document's data enters a shuffle."""

        def locate(frames: Iterator[Any]) -> Iterator[Any]:
            bounds = np.array(starts, dtype=np.int64)
            for frame in frames:
                docs = frame.column("doc").to_numpy()
                where = np.searchsorted(bounds, docs, side="right") - 1
                yield _arrow_batch(source=where.astype(np.int32), doc=docs)

        def batches(frames: Iterator[Any]) -> Iterator[Any]:
            import pyarrow as pa

            for frame in frames:
                for position, docs in zip(
                    frame.column("source").to_pylist(), frame.column("docs"), strict=True
                ):
                    wanted = np.sort(docs.values.to_numpy())
                    for batch in read(sources[position]):
                        keep = np.isin(batch.column("doc").to_numpy(), wanted, assume_unique=True)
                        if keep.any():
                            yield batch.filter(pa.array(keep))

        by_source = (
            documents.select("doc")
            .mapInArrow(locate, "source int, doc long")
            .groupBy("source")
            .agg(F.collect_set("doc").alias("docs"))
        )
        return by_source.mapInArrow(batches, schema)

    bands = per_source(_read_bands, "key long, doc long")
    bucket = Window.partitionBy("key")
    members = bands.select(
        "doc",
        F.min("doc").over(bucket).alias("first"),
        F.lag("doc").over(bucket.orderBy("doc")).alias("previous"),
    ).where(F.col("doc") != F.col("first"))
    pairs = (
        members.select(F.col("first").alias("i"), F.col("doc").alias("j"))
        .unionByName(
            members.where(F.col("previous") != F.col("first")).select(
                F.col("previous").alias("i"), F.col("doc").alias("j")
            )
        )
        .where(F.col("j") >= reference_docs)  # pairs inside the reference index are settled
        .checkpoint()
    )
    candidates = pairs.count()
    pairs = pairs.distinct()

    # Each pair meets both documents' sets (or signatures) in a join, and executors measure it.
    needed = pairs.select(F.col("i").alias("doc")).union(pairs.select(F.col("j").alias("doc")))
    if step.verify == "exact":
        values = for_documents(needed, _read_shingle_sets, "doc long, v array<int>")
        # |A ∩ B| / |A ∪ B| over sets of distinct hashes; the step's test, inter / union >=
        # threshold, in the same double arithmetic. Every candidate has shingles (a document
        # without any has no band keys), so the union is never empty.
        inter = F.size(F.array_intersect("vi", "vj"))
        similarity = inter / (F.size("vi") + F.size("vj") - inter)
    else:
        num_perm = step.num_perm
        values = for_documents(
            needed, lambda source: _read_signatures(source, num_perm), "doc long, v array<int>"
        )
        # the step's test, (left == right).mean() >= threshold, in the same double arithmetic
        equal = F.expr(
            "aggregate(zip_with(vi, vj, (x, y) -> cast(x = y as int)), 0, (a, v) -> a + v)"
        )
        similarity = equal / F.lit(float(num_perm))
    verified = (
        pairs.join(values.select(F.col("doc").alias("i"), F.col("v").alias("vi")), "i")
        .join(values.select(F.col("doc").alias("j"), F.col("v").alias("vj")), "j")
        .where(similarity >= F.lit(float(step.threshold)))
        .select(F.col("i").alias("x"), F.col("j").alias("y"))
        .checkpoint()
    )
    verified_pairs = verified.count()

    linked = connected_components(verified)
    nodes = linked.unionByName(
        linked.select(F.col("root").alias("node"), "root").distinct()
    )  # every clustered document with its cluster's smallest one
    lengths = for_documents(
        nodes.select(F.col("node").alias("doc")), _read_lengths, "doc long, length long"
    )
    clustered = nodes.join(lengths.withColumnRenamed("doc", "node"), "node")
    rank = -F.col("length") if step.keep == "longest" else F.lit(0)
    order = Window.partitionBy("root").orderBy(
        (F.col("node") < reference_docs).desc(), rank.asc(), F.col("node").asc()
    )
    clustered = clustered.select(
        "node",
        "root",
        F.first("node").over(order).alias("kept"),
        F.count("*").over(Window.partitionBy("root")).alias("size"),
    ).checkpoint()
    fates = clustered.where(F.col("node") >= reference_docs)
    ids = for_documents(fates.select(F.col("kept").alias("doc")), _read_ids, "doc long, id string")
    fates = fates.join(ids.select(F.col("doc").alias("kept"), F.col("id").alias("kept_id")), "kept")

    def write(groups: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, int]]:
        for position, rows in groups:
            source = sources[position]
            removed, sizes = {}, {}
            for node, kept, kept_id, size in sorted(rows):
                if node == kept:
                    sizes[str(node - source.offset)] = size
                else:
                    removed[str(node - source.offset)] = kept_id
            source.index.write_decision(source.shard, removed, sizes)
            yield position, len(removed)

    # Each shard's decision is written by an executor; only (shard, count) pairs come back.
    written = dict(
        fates.rdd.map(
            lambda r: (
                bisect.bisect_right(starts, r.node) - 1,
                (r.node, r.kept, r.kept_id, r.size),
            )
        )
        .groupByKey()
        .mapPartitions(write)
        .collect()
    )
    first_own = len(sources) - len(shards)
    own = sources[first_own:]
    for position in range(first_own, len(sources)):
        if position not in written:  # no clustered document: every one stays, alone
            sources[position].index.write_decision(sources[position].shard, {}, {})
    index = NearDedupIndex(location)
    names = [f"{source.shard}.near.json" for source in own]
    names.append(index.write_index(step.index_parameters(), shards, [s.size for s in own]))
    sizes = clustered.groupBy("root").count().agg(F.count("*"), F.max("count")).first()
    remove(*filesystem(checkpoints), recursive=True)
    figures = {
        "documents": total - reference_docs,
        "reference_documents": reference_docs,
        "candidate_pairs": candidates,
        "verified_pairs": verified_pairs,
        "clusters": int(sizes[0]),
        "largest_cluster": int(sizes[1] or 0),
        "near_duplicates": sum(written.values()),
        "decided_on": "spark",
        "seconds": round(time.perf_counter() - started, 2),
    }
    return figures, names


def _arrow_batch(**columns: Any) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


def _list_array(offsets: np.ndarray, values: np.ndarray) -> Any:
    """Arrow list<int32> of `values` cut at `offsets`: bits kept, compared only for equality."""
    import pyarrow as pa

    return pa.ListArray.from_arrays(offsets.astype(np.int32), values.view(np.int32))


# The readers run in executors; an index folder is a local path or a URL, both read by fsspec.


def _read_bands(source: Source) -> Iterator[Any]:
    keys, rows = source.index.bands(source.shard)
    # keys are compared for equality only, so their bits can travel as signed longs
    yield _arrow_batch(key=keys.view(np.int64), doc=rows.astype(np.int64) + source.offset)


def _read_signatures(source: Source, num_perm: int) -> Iterator[Any]:
    if source.size == 0:  # a shard that lost every document before this step: nothing to map
        return
    batches = source.index.signature_batches(source.shard, source.size, num_perm, SIGNATURE_BATCH)
    for lo, block in batches:
        first = source.offset + lo
        yield _arrow_batch(
            doc=np.arange(first, first + len(block), dtype=np.int64),
            v=_list_array(np.arange(0, (len(block) + 1) * num_perm, num_perm), block.ravel()),
        )


def _read_shingle_sets(source: Source) -> Iterator[Any]:
    if source.size == 0:
        return
    for ordinals, offsets, values in source.index.shingle_set_batches(source.shard, SHINGLE_BATCH):
        yield _arrow_batch(
            doc=ordinals.astype(np.int64) + source.offset, v=_list_array(offsets, values)
        )


def _read_lengths(source: Source) -> Iterator[Any]:
    lengths = source.index.lengths(source.shard)
    first = source.offset
    yield _arrow_batch(doc=np.arange(first, first + len(lengths), dtype=np.int64), length=lengths)


def _read_ids(source: Source) -> Iterator[Any]:
    import pyarrow as pa

    ids = source.index.ids(source.shard)
    first = source.offset
    yield _arrow_batch(
        doc=np.arange(first, first + len(ids), dtype=np.int64), id=pa.array(ids, pa.string())
    )
