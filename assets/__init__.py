"""The Dagster layer: thin assets over etl/, checks, the job, schedule and resources."""

import pandas as pd

# pandas' copy-on-write (the default from pandas 3): a selection, a reset index or a validated
# frame shares its columns with the frame it came from until one of them is written, instead
# of copying them. Set here, where every run's process (Dagster's code location, the CLI)
# starts: it halves what validating an extract holds in memory (docs/performance.md).
pd.options.mode.copy_on_write = True

import pyarrow as pa  # noqa: E402

# Arrow's default allocator (mimalloc) keeps what it freed for itself; the extract's Arrow
# buffers (COPY reads, compact text columns) come and go, and with the system allocator the
# freed memory goes back where pandas and numpy reuse it (100k customers: validation peak
# 1,744 -> 1,515 MB, positions 1,907 -> 1,371 MB).
pa.set_memory_pool(pa.system_memory_pool())
