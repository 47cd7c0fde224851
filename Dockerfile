# cpt-plugin in production mode: gunicorn, 2 sync workers, content loaded once before forking.
#   docker build -t cpt-plugin .
#   docker run --rm -p 8080:8080 -v cpt-plugin-var:/srv/cpt-plugin/var cpt-plugin
# Settings live in /etc/cpt-plugin.toml (written below); mount your own file over it, or point
# CPT_PLUGIN_CONFIG elsewhere, to change them. Other gunicorn settings: the GUNICORN_CMD_ARGS environment variable.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CPT_PLUGIN_CONFIG=/etc/cpt-plugin.toml

RUN groupadd --system --gid 10001 cpt \
 && useradd --system --uid 10001 --gid cpt --home-dir /srv/cpt-plugin --no-create-home \
      --shell /usr/sbin/nologin cpt

WORKDIR /srv/cpt-plugin

# The package is installed into site-packages, so the content folders cannot be found next to it
# (plugin/config.py looks beside the source tree): the config file names them explicitly.
COPY pyproject.toml README.md ./
COPY plugin ./plugin
RUN pip install . \
 && rm -rf plugin build ./*.egg-info

COPY fhir_bundles ./fhir_bundles
COPY cds_hooks ./cds_hooks

RUN printf '%s\n' \
      '[server]' \
      'host = "0.0.0.0"' \
      'port = 8080' \
      'workers = 2' \
      '' \
      '[content]' \
      'fhir_bundles = "/srv/cpt-plugin/fhir_bundles"' \
      'cds_hooks = "/srv/cpt-plugin/cds_hooks"' \
      '' \
      '[storage]' \
      'url = "sqlite:////srv/cpt-plugin/var/feedback.db"' \
      > /etc/cpt-plugin.toml \
 && install -d -o cpt -g cpt /srv/cpt-plugin/var

USER cpt
VOLUME ["/srv/cpt-plugin/var"]
EXPOSE 8080

# Liveness (docs/deploy.md): /healthz answers while the process serves; readiness (/readyz) is for load balancers.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
  CMD ["python", "-c", "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2).status != 200)"]

# workers = 2 in the config file above selects gunicorn (plugin/serving.py); set it to the
# container's CPU count, or pass --workers N here.
CMD ["cpt-plugin", "serve"]
