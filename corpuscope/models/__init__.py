"""The data model that flows through every stage.

The document model is the Arrow schema `DOCUMENT_SCHEMA` (`documents.py`): readers yield
`SourceRecord` (or `Quarantined`), normalisation turns a shard's records into an Arrow table
of that schema column by column, and every later stage (scan, index, statistics) reads the
Parquet shards through it (a document has no Python class of its own); `PiiSpan` is the
typed row of a PII sidecar.
`work.py` holds the units of work and manifest entries (`Shard`, `SourceTask`, `ScanTask`,
`PiiShard`, `ShardResult`), `runs.py` the run summaries the jobs return, `answers.py` the
requests and answers of the questions (pydantic, so they are the API's schema too).
"""
