"""Flask extensions, created here and bound to the app in ``create_app`` (one per process)."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
login_manager = LoginManager()
