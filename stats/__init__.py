"""Statistics: DuckDB tables over the shards, disclosure control, the public view, the EU AI Act summary."""
