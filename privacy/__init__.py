"""Personal data: detection (Presidio, tiered), keyed hashes, the scan stage, lookups and redaction."""
