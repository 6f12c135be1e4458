# Payment Dashboard: the app under gunicorn. Runtime dependencies only (requirements.txt).
# Settings come from the environment (see .env.example); tables are created separately with
# `flask --app app init-db`. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group app
WORKDIR /app

COPY requirements.txt ./
RUN pip install -r requirements.txt

COPY app.py ./
COPY dashboard ./dashboard
COPY templates ./templates
COPY static ./static

USER app
EXPOSE 8000

# /health answers 200 once DynamoDB answers and the tables exist, 503 otherwise.
# The slim image has no curl: urlopen raises on a non-2xx answer, so the exit code says it all.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# gthread: the app mostly waits on DynamoDB and the sign-in provider. Every worker must share
# one SECRET_KEY (production insists on it; set it in development too when workers > 1).
# Flags given here win over GUNICORN_CMD_ARGS; add other settings (e.g. --timeout) there.
CMD ["gunicorn", "app:app", \
     "--bind", "0.0.0.0:8000", \
     "--worker-class", "gthread", "--workers", "2", "--threads", "4", \
     "--access-logfile", "-", \
     "--no-control-socket"]
