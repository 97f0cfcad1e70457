"""A shop's own Flask app with fenxiao mounted in it under /fenxiao.

    flask --app examples/flask_host/app.py fenxiao db upgrade
    flask --app examples/flask_host/app.py fenxiao shop add --platform shopify --name "My shop" \
        --base-url http://127.0.0.1:5000
    flask --app examples/flask_host/app.py run

fenxiao keeps its tables in ``DATABASE_URL`` (default: the SQLite file ``fenxiao.sqlite3`` in
the working directory) and runs its jobs on a thread of this process (``FENXIAO_JOBS``).
"""

from __future__ import annotations

from flask import Flask, render_template_string

from plugin.extension import Fenxiao

PAGE = """<!doctype html>
<title>{{ title }}</title>
<h1>{{ title }}</h1>
<p>{{ text }}</p>
<p><a href="{{ url_for('home') }}">Home</a> · <a href="{{ url_for('products') }}">Products</a>
 · <a href="{{ url_for('admin_dashboard.index') }}">Referral workbench</a></p>
"""


def create_app() -> Flask:
    app = Flask(__name__)
    app.config.from_prefixed_env()  # FLASK_SECRET_KEY=… signs this app's sessions (and fenxiao's)

    @app.get("/")
    def home():
        return render_template_string(PAGE, title="My shop", text="The shop's own front page.")

    @app.get("/products")
    def products():
        return render_template_string(PAGE, title="Products", text="Tea, 29.80 a box.")

    Fenxiao(app, url_prefix="/fenxiao")
    return app
