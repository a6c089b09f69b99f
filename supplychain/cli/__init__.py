"""The command line: click commands, rendering and exit codes. The only layer that prints."""
