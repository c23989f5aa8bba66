"""Data: where pieces come from (sources), how they become token caches (prepare), how batches are drawn (dataset)."""
