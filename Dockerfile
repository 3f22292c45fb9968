# TwitterStream: one image, two roles. The command picks the role:
#   docker run IMAGE                                     -> web (the default CMD below)
#   docker run IMAGE ingest --host 0.0.0.0 --port 8000   -> the ingester (serves /healthz, /readyz, /metrics)
# Both listen on 8000 in the container, so one HEALTHCHECK serves both.
#
# The base image is the Docker Official Image python:3.11.14-slim-bookworm, pulled through its ECR Public
# mirror so that CodeBuild's shared addresses do not hit Docker Hub's anonymous pull limit.
ARG PYTHON_IMAGE=public.ecr.aws/docker/library/python:3.11.14-slim-bookworm

# ---- builder: the locked dependencies and the project, as wheels -----------------------------------------
FROM ${PYTHON_IMAGE} AS builder
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# The lock first: its layer (the dependencies' wheels) is reused while only the code changes.
# --require-hashes: every wheel must be the exact file the lock names (requirements/runtime.txt, `make lock`).
COPY requirements/runtime.txt ./requirements/
RUN pip wheel --no-cache-dir --require-hashes --wheel-dir /wheels -r requirements/runtime.txt
# Only what building the project's wheel needs (README.md is the package's long description in pyproject.toml).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

# ---- runtime: install the wheels, nothing else -----------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
# TWITTERSTREAM_INSTANCE_PATH: the app creates its instance folder at start-up (the SQLite file of `serve`
# lives there); keep it writable by the app user and out of the working folder.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TWITTERSTREAM_INSTANCE_PATH=/var/lib/twitterstream

# A home directory too: gunicorn (>= 25) puts its control socket in ~/.gunicorn.
RUN useradd --system --uid 10001 --user-group --create-home --home-dir /home/app --shell /usr/sbin/nologin app \
    && mkdir -p /var/lib/twitterstream \
    && chown app:app /var/lib/twitterstream

# The wheels are mounted for this one step rather than copied, so they never become a layer of the image.
# --no-index --no-deps: install exactly the wheels of the lock, never something fetched or resolved at this
# point; pip check then proves that they are all the project needs.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --no-deps /wheels/*.whl \
    && pip check

# An empty working folder: the app reads a `.env` from its working folder, and the image must not carry one.
WORKDIR /app
# Numeric, so that a platform can verify that the user is not root without reading /etc/passwd.
USER 10001:10001

EXPOSE 8000

# No curl in the slim image: ask with the standard library. urlopen raises (exit 1) on a refused
# connection, a timeout or any non-2xx answer.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=3)"]

ENTRYPOINT ["twitterstream"]
CMD ["web", "--host", "0.0.0.0", "--port", "8000"]
