"""Ingestion: readers, normalisation, the shard pipeline and its executors."""
