"""WSGI entry point: `gunicorn -k api.gunicorn_worker.IsoflowWorker api.wsgi:app`.

Settings come from ISOFLOW_* environment variables (docs/deployment.md), among them
ISOFLOW_SECURE_COOKIES=1 to send the session cookie over HTTPS only."""
from api import create_app
from engine.config import secure_cookies_from_env

app = create_app({"SESSION_COOKIE_SECURE": secure_cookies_from_env()})
