# gitops-agent: the daemon (`gitops-agent run`) in a small image.
#
#   docker build -t gitops-agent .
#   docker run --rm -p 8080:8080 -v "$PWD/agent.yaml:/etc/gitops-agent/agent.yaml:ro" gitops-agent
#
# The wheel is built in a first stage; the final image has Python, git (the
# source stage drives it), the agent, and no compilers or build tools.

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md ./
COPY agent ./agent
COPY templates ./templates
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gitops-agent --create-home gitops-agent
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl \
    && rm -rf /wheels \
    && pip uninstall -y pip setuptools wheel >/dev/null 2>&1 || true

USER 10001:10001
WORKDIR /var/lib/gitops-agent
ENV GITOPS_AGENT_CONFIG=/etc/gitops-agent/agent.yaml \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GIT_TERMINAL_PROMPT=0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gitops-agent", "run"]
