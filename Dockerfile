# syntax=docker/dockerfile:1
# baas server image: build wheels in one stage, install them in a slim runtime.
#   docker build -t baas .
#   docker run -p 8080:8080 -v baas-data:/data baas

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY baas/ baas/
COPY cli/ cli/
COPY sdk/ sdk/
# The root distribution `baas` depends on `baas-sdk`, whose source is ./sdk.
RUN pip install --no-cache-dir --prefix=/install ./sdk .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /install /usr/local
RUN groupadd --system --gid 10001 baas \
 && useradd --system --uid 10001 --gid 10001 --home-dir /data --no-create-home \
      --shell /usr/sbin/nologin baas \
 && mkdir -p /data \
 && chown baas:baas /data
ENV BAAS_DATA_DIR=/data BAAS_HOST=0.0.0.0 BAAS_PORT=8080
VOLUME ["/data"]
WORKDIR /data
USER baas
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('BAAS_PORT', '8080') + '/health', timeout=4)"]
CMD ["baas", "serve"]
