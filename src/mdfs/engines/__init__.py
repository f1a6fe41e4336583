"""Engines decide where shard tasks run; nothing else.

The run loop (`mdfs.run.run_phases`) is the same for every engine: it plans the phases,
skips the shards whose completion marker exists, hands the engine the rest, gathers the
failures, lets each global step decide, and cleans up. An engine (`mdfs.tasks.Engine`)
answers three calls:

- `run_tasks(job, tasks)`: call `mdfs.tasks.run_task(job, task)` for every task, anywhere
  (a process, a Spark executor, a Ray or Dask worker), and yield each `TaskOutcome`, in any
  order. `run_task` never raises for a step's bug (it is the outcome's `failure`), writes
  the shard's files by the commit protocol, and returns a finished shard's stats without
  running it again, so a task may run twice, at once or after a crash, at no risk. A task
  whose worker died is the engine's to retry, or to raise on: the loop then stops, and the
  same command resumes. A task without an outcome is reported as failed.
- `running(job)` (optional): a context around the whole run, to start workers and ship them
  the job once. `run_task` keeps one set-up copy of the job per worker process and run
  (`worker_job`), so models load once per worker however the job travels.
- `decide(step, shards, location)` (optional): offer a global step this engine's workers
  for its decide; return None (the default) and the driver runs `step.decide`.

Workers on other hosts need the output at the same path or URL as the driver. A Ray engine,
for example, is this much:

```python
import contextlib
import ray
from mdfs.tasks import Engine, run_task

class RayEngine(Engine):
    def __init__(self, address: str | None = None) -> None:
        self.address = address

    @contextlib.contextmanager
    def running(self, job):
        ray.init(address=self.address)
        self.job = ray.put(job)  # shipped once to the object store
        try:
            yield
        finally:
            ray.shutdown()

    def run_tasks(self, job, tasks):
        remote = ray.remote(max_retries=3)(run_task)  # a dead worker's task runs again
        pending = [remote.remote(self.job, task) for task in tasks]
        while pending:
            done, pending = ray.wait(pending)
            yield from ray.get(done)
```

Then `run_pipeline(inputs, output, recipe, RayEngine())`. `local.py` (processes on this
machine) and `spark.py` (Spark tasks; near-dedup's decide on Spark) are the engines shipped.
"""
