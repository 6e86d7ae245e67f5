# One image for every service of compose.yaml; each service runs a `herocelery` command.
FROM python:3.11-slim
WORKDIR /app
COPY . /app
RUN pip install --no-cache-dir -e . && useradd --create-home hero && mkdir -p /data \
    && chown hero /data
USER hero
ENV HEROCELERY_DATA_DIR=/data
ENTRYPOINT []
