"""The Dagster layer: thin assets over etl/, checks, the job, schedule and resources."""

import pandas as pd

# pandas' copy-on-write (the default from pandas 3): a selection, a reset index or a validated
# frame shares its columns with the frame it came from until one of them is written, instead
# of copying them. Set here, where every run's process (Dagster's code location, the CLI)
# starts: it halves what validating an extract holds in memory (docs/performance.md).
pd.options.mode.copy_on_write = True
