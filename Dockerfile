# RAGstream's image. Works with the legacy builder and BuildKit alike.
#
# Layers of the final image, from rarely to often changing, so a code-only change
# rebuilds and pushes one small layer:
#   1. the dependency venv (changes when constraints.txt or the dependency list change)
#   2. the embedding model (changes when the model does)
#   3. the project code, without the model (every release)
#
#   docker build -t ragstream-local:latest \
#     --build-arg VERSION=0.1.0 --build-arg VCS_REF="$(git rev-parse HEAD)" \
#     --build-arg BUILD_DATE="$(date -u +%Y-%m-%dT%H:%M:%SZ)" .
#   docker run --rm -p 8501:8501 -v ragstream-data:/data ragstream-local:latest

ARG BASE_IMAGE=python:3.12-slim

# --- the runtime dependency set, resolved from pyproject.toml and constraints.txt -----
# The output is the exact pinned closure of the runtime dependencies; only its content
# feeds the venv below, so editing the version, the dev tools or their pins keeps the
# big venv layer cached. The postgres extra is in: the deployed host can point the store
# at a database (HostConfig.database_url_parameter), and it costs ~10 MB.
FROM ${BASE_IMAGE} AS requirements
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml constraints.txt ./
RUN python3 -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['postgres']))" > requirements.in \
    && python3 -m venv /tmp/resolver \
    && /tmp/resolver/bin/pip install --quiet --dry-run --ignore-installed --only-binary=:all: \
        -c constraints.txt -r requirements.in --report report.json \
    && python3 -c "import json; print('\n'.join(sorted(i['metadata']['name'].lower() + '==' + i['metadata']['version'] for i in json.load(open('report.json'))['install'])))" > requirements.txt

# --- 1. the dependency venv, from pinned wheels only ----------------------------------
FROM ${BASE_IMAGE} AS deps
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY --from=requirements /build/requirements.txt ./
RUN python3 -m venv /opt/venv \
    && /opt/venv/bin/pip install --quiet --no-deps --only-binary=:all: -r requirements.txt \
    && echo /opt/ragstream/app > "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/ragstream-app.pth"

# The runtime copy of the venv: no installer (nothing installs at run time), no test
# suites or C headers of the dependencies (~80 MB), and proof that it still imports.
FROM deps AS venv
RUN /opt/venv/bin/python -m pip uninstall --yes --quiet pip setuptools \
    && find /opt/venv/lib -depth -type d \( -name tests -o -path '*/pyarrow/include' \) \
        -exec rm -rf {} + \
    && /opt/venv/bin/python -c "import streamlit, pandas, pyarrow, numpy, onnxruntime, tokenizers, pypdfium2, docx, bs4, openai, bpe_openai, psycopg, pgvector"

# --- 3. the project code, built against the venv, the model left out -----------------
FROM deps AS code
COPY constraints.txt ./
RUN /opt/venv/bin/pip install --quiet -c constraints.txt setuptools wheel
COPY pyproject.toml README.md ./
COPY src ./src
RUN /opt/venv/bin/pip install --quiet --no-deps --no-build-isolation --target /opt/ragstream/app . \
    && rm -rf /opt/ragstream/app/ragstream/index/models

# --- the runtime image ----------------------------------------------------------------
FROM ${BASE_IMAGE}
# uid 10001 is HostConfig.container_uid: the host agent makes the key file readable by it.
RUN groupadd --system --gid 10001 ragstream \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /tmp \
        --shell /usr/sbin/nologin ragstream \
    && mkdir /data && chown 10001:10001 /data

# HOME=/tmp: Streamlit's caches go to the one writable place besides /data, so the root
# filesystem can be read-only. The key arrives by env or a mounted file, never baked in.
ENV PATH=/opt/ragstream/app/bin:/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp \
    RAGSTREAM_WORKSPACE=/data \
    RAGSTREAM_EMBEDDER=/opt/ragstream/models/all-MiniLM-L6-v2-int8 \
    STREAMLIT_BROWSER_GATHER_USAGE_STATS=false \
    STREAMLIT_SERVER_HEADLESS=true

USER 10001:10001
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8501
# `ragstream serve` forwards SIGTERM to Streamlit and exits with it.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --timeout=3s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=2)"]
ENTRYPOINT ["ragstream"]
CMD ["serve"]

# The layers, after all fixed metadata so that a code change re-runs only the last COPY.
COPY --from=venv /opt/venv /opt/venv
COPY src/ragstream/index/models/all-MiniLM-L6-v2-int8 /opt/ragstream/models/all-MiniLM-L6-v2-int8
COPY --from=code /opt/ragstream/app /opt/ragstream/app

# Last, so new values (every build has a new date) only touch metadata, never a layer.
ARG VERSION=dev
ARG VCS_REF=unknown
ARG BUILD_DATE=unknown
ARG SOURCE_URL=""
LABEL org.opencontainers.image.title="RAGstream" \
      org.opencontainers.image.description="Ask your documents: hybrid retrieval with cited answers" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${VCS_REF}" \
      org.opencontainers.image.created="${BUILD_DATE}" \
      org.opencontainers.image.source="${SOURCE_URL}"
