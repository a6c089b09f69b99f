"""Pure wire formats, below every store and log: parse bytes into values, never touch I/O (docs/architecture.md)."""
