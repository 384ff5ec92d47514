"""Data-subject requests: cases with deadlines, evidence, access reports, erasure and opt-out
rules that reach every artifact, exports that honour them, and a hash-chained audit log."""
