"""The Flask extensions the workbench uses, created once and bound by ``admin.init_app``."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
# No default limits: only the login form is throttled (see admin.views.auth).
limiter = Limiter(key_func=get_remote_address)
