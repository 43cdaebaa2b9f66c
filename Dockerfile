# The emulator as a sandbox: docker build -t graph-presence-emulator . && docker run -p 127.0.0.1:8000:8000 …
# See docs/usage.md for mounting scenarios at /scenarios and reaching a webhook receiver on the host.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PORT=8000

WORKDIR /opt/graph-presence-emulator
COPY pyproject.toml README.md ./
COPY emulator ./emulator
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --create-home --home-dir /home/emulator \
               --shell /usr/sbin/nologin emulator \
    && mkdir /scenarios
COPY docker/entrypoint.sh /usr/local/bin/graph-presence-emulator-entrypoint
COPY docker/healthcheck.py /usr/local/lib/graph-presence-emulator-healthcheck.py

USER 10001:10001
# Validate the default scenario once, at build time, into the user's scenario cache: a container started
# without mounted scenarios then skips validation (emulator/scenarios/cache.py).
RUN python -c "from emulator.cli import load_scenario_or_exit; load_scenario_or_exit(None)"
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["python", "/usr/local/lib/graph-presence-emulator-healthcheck.py"]
ENTRYPOINT ["graph-presence-emulator-entrypoint"]
CMD []
