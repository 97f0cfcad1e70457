"""gunicorn settings for fenxiao's web process: ``gunicorn -c gunicorn.conf.py``.

The same settings ``fenxiao serve`` uses (plugin/cli/serve.py): threaded workers, each building
its own app from the environment (DATABASE_URL, REDIS_URL, FENXIAO_*) after the fork.
"""

import os

wsgi_app = "plugin.app:create_app()"
bind = os.environ.get("FENXIAO_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("FENXIAO_THREADS", "8"))
worker_class = "gthread"
timeout = 30
graceful_timeout = 20
keepalive = 5
proc_name = "fenxiao-web"
