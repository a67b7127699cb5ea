FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY service service
COPY workers workers
COPY integrations integrations
RUN pip install --no-cache-dir . && useradd --system --create-home frictionlog \
    && mkdir -p /var/lib/frictionlog/spool /var/lib/frictionlog/beat && chown -R frictionlog /var/lib/frictionlog
USER frictionlog
EXPOSE 8000
CMD ["frictionlog", "api", "--host", "0.0.0.0", "--port", "8000"]
