# One image for every service of compose.yaml; each service runs a `herocelery` command.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
# gcc builds the C accelerators (HeroScript parser, HeroDB request loop); without it pip falls
# back to the pure-Python code (same results, slower). A regular (not editable) install:
# flower.conf and leaf ship as package data.
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir . \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home hero && useradd --system --no-create-home herojob \
    && mkdir -p /data /keys && chown hero /data /keys \
    && chmod 700 /keys
USER hero
ENV HEROCELERY_DATA_DIR=/data
ENTRYPOINT []
