"""The `isoflow` command line: an edge adapter like `api/`, translating arguments to
engine calls and engine errors to messages and exit codes."""
