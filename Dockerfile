# One image for every service of compose.yaml; each service runs a `herocelery` command.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
# gcc builds the HeroScript parser's optional C accelerator; without it pip falls back to
# the pure-Python parser (about 5x slower on large playbooks)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && pip install --no-cache-dir -e . \
    && apt-get purge -y gcc libc6-dev && apt-get autoremove -y && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home hero && mkdir -p /data && chown hero /data
USER hero
ENV HEROCELERY_DATA_DIR=/data
ENTRYPOINT []
