"""The audit log: every read and write of a patient's record, append-only (issue 7)."""
