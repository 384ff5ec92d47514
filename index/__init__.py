"""The full-text index (tantivy over the shards and their PII spans) and the questions it answers."""
