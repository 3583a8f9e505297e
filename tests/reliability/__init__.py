"""Reliability and security suite (issue 7): fuzzing, faults, concurrency, load, hostile input."""
