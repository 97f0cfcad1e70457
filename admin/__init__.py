"""The operators' workbench: server-rendered Flask pages under ``/admin``.

``admin.workbench.init_app`` is called by the app factory (the only place that wires blueprints
in). The workbench reads and commands the plugin's domain; it owns no tables of its own.
"""
