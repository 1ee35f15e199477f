"""The credit-control core: pure functions over the canonical frames. No Dagster, no ERP."""
