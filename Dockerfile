# The Tribune node image used by compose.yaml.
FROM python:3.11-slim-bookworm
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund
COPY pyproject.toml README.md ./
COPY room room
COPY signaling signaling
COPY media media
COPY moderation moderation
COPY static static
RUN pip install --no-cache-dir .
EXPOSE 8080
CMD ["tribune", "serve", "--host", "0.0.0.0", "--port", "8080"]
