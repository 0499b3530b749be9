"""isoflow engine: the ISO procedure domain on SpiffWorkflow.

Plain Python only: this package never imports Flask (the HTTP edge lives in `api/`,
the command line in `cli/`).
"""
