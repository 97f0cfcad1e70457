"""The operators' workbench (Flask blueprints, templates, forms).

Empty in this first slice: the workbench comes with its own issue. It will depend on the
plugin's domain only, and be wired in by ``plugin.app.create_app``.
"""
