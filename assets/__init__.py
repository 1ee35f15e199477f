"""The Dagster layer: thin assets over etl/, checks, the job, schedule and resources."""
