"""WSGI entry point: `gunicorn api.wsgi:app` (settings from ISOFLOW_* environment variables)."""
from api import create_app

app = create_app()
