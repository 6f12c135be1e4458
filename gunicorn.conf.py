"""gunicorn settings for the Dockerfile and the tests that run the app as production does.

gthread: the app mostly waits on DynamoDB and the sign-in provider. Every worker must share one
SECRET_KEY (production insists on it; set it in development too when workers > 1). The bind
address and worker count can be overridden with GUNICORN_CMD_ARGS or command-line flags.
"""

bind = "0.0.0.0:8000"
worker_class = "gthread"
workers = 2
threads = 4
accesslog = None  # the app writes its own, redacted: dashboard/web/request_log.py
control_socket_disable = True
# Seconds an idle keep-alive connection stays open. Above the load balancer's idle timeout (AWS
# ALB: 60 s by default), so the balancer always closes first and never sends a request on a
# connection gunicorn is closing (which it would answer with a 502).
keepalive = 65
