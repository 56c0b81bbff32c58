# gitops-agent: the daemon (`gitops-agent run`) in a small image.
#
#   docker build -t gitops-agent .
#   docker run --rm -p 8080:8080 -v "$PWD/agent.yaml:/etc/gitops-agent/agent.yaml:ro" gitops-agent
#
# The wheel is built in a first stage; the final image has Python, git, ssh
# and gpg (the source stage drives them: SSH remotes, signature checks), the
# agent in a virtual environment, and no compilers or build tools.  Every
# Python package comes at the version constraints.txt names.
#
# The base image is pinned by digest: the tag says what it is, the digest
# which bytes.  To move to a newer base, look its digest up
# (`docker buildx imagetools inspect python:3.12-slim-bookworm`, the
# `Digest:` line) and replace both here together, or pass
# `--build-arg PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:...` for one build.
ARG PYTHON_IMAGE=python:3.12-slim-bookworm@sha256:782412e85d0f0984994c290652577d4018aff08145c85b262bb63dc0c7522254

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_CONSTRAINT=/src/constraints.txt
WORKDIR /src
COPY pyproject.toml README.md CHANGELOG.md constraints.txt ./
COPY agent ./agent
COPY templates ./templates
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
RUN apt-get update \
    && apt-get install -y --no-install-recommends git openssh-client gpg ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/gitops-agent --create-home gitops-agent
COPY constraints.txt /tmp/constraints.txt
COPY --from=build /wheels /wheels
RUN python -m venv /opt/gitops-agent \
    && /opt/gitops-agent/bin/pip install --no-cache-dir --disable-pip-version-check \
       -c /tmp/constraints.txt /wheels/*.whl \
    && /opt/gitops-agent/bin/pip uninstall -y -q pip \
    && rm -rf /wheels /tmp/constraints.txt

USER 10001:10001
WORKDIR /var/lib/gitops-agent
ENV PATH=/opt/gitops-agent/bin:$PATH \
    GITOPS_AGENT_CONFIG=/etc/gitops-agent/agent.yaml \
    GITOPS_AGENT_ADDRESS=0.0.0.0 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GIT_TERMINAL_PROMPT=0
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/livez', timeout=4)"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["gitops-agent", "run"]
