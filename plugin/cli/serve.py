"""``fenxiao serve``: the production web server, gunicorn with threaded (gthread) workers.

gunicorn is the Flask ecosystem's standard WSGI server: a master process that keeps
``--workers`` processes alive (restarting one that dies) and ``--threads`` threads in each, so
a burst of webhooks is acknowledged by every core. Each worker builds its own app (and its
own database pool) after the fork. ``gunicorn.conf.py`` at the project's root holds the same
settings for running ``gunicorn -c gunicorn.conf.py`` directly.
"""

from __future__ import annotations

import click
from gunicorn.app.base import BaseApplication

from plugin.cli.support import check_port_free, log_serving
from plugin.config import Config


class FenxiaoServer(BaseApplication):
    """gunicorn running ``create_app(config)`` in every worker."""

    def __init__(self, config: Config, options: dict):
        self.fenxiao_config = config
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from plugin.app import create_app

        return create_app(self.fenxiao_config)


def options(host: str, port: int, workers: int, threads: int) -> dict:
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "proc_name": "fenxiao-web",
    }


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(1, 65535), default=8000, show_default=True)
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True, help="processes")
@click.option("--threads", type=click.IntRange(1, 256), default=8, show_default=True, help="per process")
def serve(host, port, workers, threads):
    """Serve the web app with gunicorn (gthread workers) — production."""
    check_port_free(host, port)
    log_serving()
    FenxiaoServer(Config.from_env(), options(host, port, workers, threads)).run()
