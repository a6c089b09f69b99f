"""Results to text: pure functions from result values to ``str`` (JSON, plain text). No I/O."""
