# Payment Dashboard: the app under gunicorn. Runtime dependencies only: requirements.lock, the
# versions the tests ran, each file checked against its hash.
# Settings come from the environment (see .env.example); tables are created separately with
# `flask --app app init-db`. See docs/deployment.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN useradd --create-home --uid 10001 --user-group app
WORKDIR /app

COPY requirements.lock ./
RUN pip install --require-hashes -r requirements.lock

COPY app.py gunicorn.conf.py ./
COPY dashboard ./dashboard
COPY templates ./templates
COPY static ./static

USER app
EXPOSE 8000

# /health answers 200 once DynamoDB answers and the tables exist, 503 otherwise.
# The slim image has no curl: urlopen raises on a non-2xx answer, so the exit code says it all.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4)"]

# Worker class, workers, threads and the rest live in gunicorn.conf.py, which the tests that run
# the app as production does read too. GUNICORN_CMD_ARGS can still add or override settings.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "app:app"]
