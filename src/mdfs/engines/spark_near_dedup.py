"""The near_dedup step's decide on Spark: bands → candidate pairs → verified pairs →
connected components → each shard's decision.

The shard tasks already computed every document's MinHash signature and LSH band keys (the
step's `observe`, in the workdir). Here the driver never holds them: Spark reads the files
(one task per shard, as Arrow batches), shuffles by band key to find candidate pairs,
verifies them on the signatures, joins verified pairs into clusters with the large-star /
small-star algorithm (Kiveris et al., "Connected Components in MapReduce and Beyond", SoCC
2014), picks each cluster's kept document by the step's rule, and writes each shard's
decision in the very file the step's `filter_shard` reads. Same rules, same files: the kept
set is the local engine's.

Documents are numbered by their position in run order (the reference index's shards, then
this run's, in shard order), as the step numbers them, so "smallest" means "first".
"""

from __future__ import annotations

import bisect
import functools
import logging
import time
from collections.abc import Callable, Iterator
from typing import IO, TYPE_CHECKING, Any

import fsspec
import numpy as np
import orjson

from mdfs.storage import filesystem, join, remove, write_atomic_bytes

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SIGNATURE_BATCH = 8192  # signature rows per Arrow batch: 4 MiB at 128 permutations


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


# -- the near_dedup step (mdfs.coarse.near_dedup) -----------------------------------------


def decide_near_dedup(
    spark: SparkSession, step: Any, shards: list[str], location: str
) -> tuple[dict[str, Any], list[str]]:
    """`NearDedup.decide` on Spark, reading and writing the step's files at `location`.

    `location` is the step's workdir, or for a URL output the folder under the URL that
    mirrors it: executors read every shard's observations and write each shard's decision
    (`<shard>.near.json`) there, so no file goes through the driver. The Spark checkpoints
    of the clustering go there too (`spark-checkpoints`), so Hadoop must know that URL's
    scheme (hdfs:// and file:// it does; s3:// needs `fs.s3.impl`, see the README). Returns
    the report's figures and the names of the decision files.

    The same rules as the step's decide, step by step: in each LSH bucket (documents sorted
    by run order) every member pairs with the bucket's first document and with the one before
    it; a pair is a near-duplicate when the fraction of equal MinHash values reaches
    `threshold`; verified pairs join into clusters; in each cluster an indexed (reference)
    document stays, else the longest (with `keep: longest`), else the first in run order.
    """
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    started = time.perf_counter()
    context = spark.sparkContext
    checkpoints = join(location, "spark-checkpoints")
    context.setCheckpointDir(checkpoints)
    context.setJobDescription(f"mdfs {step.name}: MinHash bands → clusters")

    # Every source of documents: a reference index's shards first, then this run's.
    sources: list[tuple[str, str, int, int]] = []  # (folder, shard, offset, size)
    for source in step._reference_sources():
        sources.append((str(source.folder), source.shard, source.offset, source.size))
    reference_docs = sum(size for *_, size in sources)
    offset = reference_docs
    for shard in shards:
        meta = orjson.loads(_read_bytes(location, f"{shard}.meta.json"))
        sources.append((location, shard, offset, int(meta["documents"])))
        offset += int(meta["documents"])
    total = offset
    num_perm = step.num_perm
    starts = [start for _, _, start, _ in sources]

    def per_source(read: Callable[[str, str, int, int], Iterator[Any]], schema: str) -> DataFrame:
        def batches(frames: Iterator[Any]) -> Iterator[Any]:
            for frame in frames:
                for index in frame.column("source").to_pylist():
                    yield from read(*sources[index])

        listing = context.parallelize([(i,) for i in range(len(sources))], max(1, len(sources)))
        return spark.createDataFrame(listing, "source int").mapInArrow(batches, schema)

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

    signatures = per_source(
        functools.partial(_read_signatures, num_perm=num_perm), "doc long, sig array<int>"
    )
    needed = pairs.select(F.col("i").alias("doc")).union(pairs.select(F.col("j").alias("doc")))
    signatures = signatures.join(needed.distinct(), "doc", "left_semi")
    equal = "aggregate(zip_with(si, sj, (x, y) -> cast(x = y as int)), 0, (a, v) -> a + v)"
    verified = (
        pairs.join(signatures.select(F.col("doc").alias("i"), F.col("sig").alias("si")), "i")
        .join(signatures.select(F.col("doc").alias("j"), F.col("sig").alias("sj")), "j")
        # the step's test, (left == right).mean() >= threshold, in the same double arithmetic
        .where(F.expr(equal) / F.lit(float(num_perm)) >= F.lit(float(step.threshold)))
        .select(F.col("i").alias("x"), F.col("j").alias("y"))
        .checkpoint()
    )
    verified_pairs = verified.count()

    linked = connected_components(verified)
    nodes = linked.unionByName(
        linked.select(F.col("root").alias("node"), "root").distinct()
    )  # every clustered document with its cluster's smallest one
    lengths = per_source(_read_lengths, "doc long, length long")
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
    ids = per_source(_read_ids, "doc long, id string")
    fates = clustered.where(F.col("node") >= reference_docs).join(
        ids.select(F.col("doc").alias("kept"), F.col("id").alias("kept_id")), "kept"
    )

    def write(groups: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, int]]:
        for index, rows in groups:
            folder, shard, start, _ = sources[index]
            removed, sizes = {}, {}
            for node, kept, kept_id, size in sorted(rows):
                if node == kept:
                    sizes[str(node - start)] = size
                else:
                    removed[str(node - start)] = kept_id
            decision = {"removed": removed, "cluster_size": sizes}
            write_atomic_bytes(join(folder, f"{shard}.near.json"), orjson.dumps(decision))
            yield index, len(removed)

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
    own = range(len(sources) - len(shards), len(sources))
    for index in own:
        if index not in written:
            folder, shard, _, _ = sources[index]
            empty = {"removed": {}, "cluster_size": {}}
            write_atomic_bytes(join(folder, f"{shard}.near.json"), orjson.dumps(empty))
    step._write_index(shards, [sources[i][3] for i in own])
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
    return figures, [f"{sources[i][1]}.near.json" for i in own]


def _arrow_batch(**columns: Any) -> Any:
    import pyarrow as pa

    return pa.RecordBatch.from_arrays(list(columns.values()), names=list(columns))


# The readers run in executors; `folder` is a local path or a URL, both opened by fsspec.


def _open(folder: str, name: str) -> IO[bytes]:
    return fsspec.open(join(folder, name), "rb").open()


def _read_bytes(folder: str, name: str) -> bytes:
    with _open(folder, name) as handle:
        return handle.read()


def _load(folder: str, name: str) -> np.ndarray:
    with _open(folder, name) as handle:
        return np.load(handle)


def _read_bands(folder: str, shard: str, offset: int, size: int) -> Iterator[Any]:
    keys = _load(folder, f"{shard}.lsh.keys.npy")
    rows = _load(folder, f"{shard}.lsh.rows.npy")
    # keys are compared for equality only, so their bits can travel as signed longs
    yield _arrow_batch(key=keys.view(np.int64), doc=rows.astype(np.int64) + offset)


def _read_signatures(
    folder: str, shard: str, offset: int, size: int, num_perm: int
) -> Iterator[Any]:
    import pyarrow as pa

    if size == 0:  # a shard that lost every document before this step: nothing to map
        return
    row_bytes = num_perm * 4  # uint32 values, row-major: read a batch of rows at a time
    with _open(folder, f"{shard}.sig.bin") as table:
        for lo in range(0, size, SIGNATURE_BATCH):
            rows = min(SIGNATURE_BATCH, size - lo)
            data = table.read(rows * row_bytes)
            if len(data) != rows * row_bytes:
                raise ValueError(f"{shard}.sig.bin in {folder} is shorter than {size} rows")
            block = np.frombuffer(data, dtype=np.int32).reshape(rows, num_perm)
            bounds = np.arange(0, (rows + 1) * num_perm, num_perm, dtype=np.int32)
            yield _arrow_batch(
                doc=np.arange(offset + lo, offset + lo + rows, dtype=np.int64),
                sig=pa.ListArray.from_arrays(bounds, block.ravel()),
            )


def _read_lengths(folder: str, shard: str, offset: int, size: int) -> Iterator[Any]:
    lengths = _load(folder, f"{shard}.lengths.npy").astype(np.int64)
    yield _arrow_batch(doc=np.arange(offset, offset + len(lengths), dtype=np.int64), length=lengths)


def _read_ids(folder: str, shard: str, offset: int, size: int) -> Iterator[Any]:
    import pyarrow as pa

    ids = orjson.loads(_read_bytes(folder, f"{shard}.ids.json"))
    yield _arrow_batch(
        doc=np.arange(offset, offset + len(ids), dtype=np.int64), id=pa.array(ids, pa.string())
    )
