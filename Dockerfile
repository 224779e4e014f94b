# syntax=docker/dockerfile:1
#
# Tendril in a container.
#
#   docker build -t tendril .
#
# Default: upstream mode, the node's embedded server on 127.0.0.1:4110 INSIDE the container, plain
# HTTP with credentials. Upstream mode refuses peers that are not on loopback, so only a TLS
# terminator sharing the container's network namespace reaches it (a Kubernetes pod sidecar, or
# `docker run --network container:tendril nginx`); publishing 4110 with -p does not work, by design.
#
#   docker run -d --name tendril -v tendril:/var/lib/tendril tendril
#   docker exec tendril tendril config set api.restful.users.harry.password potter
#   docker exec tendril tendril web generate-token
#
# Server mode (HTTPS on every interface) with certificates mounted read-only; the key must be
# readable by uid 10001:
#
#   docker run -d --name tendril -v tendril:/var/lib/tendril -v /etc/tendril/tls:/certs:ro -p 8443:8443 tendril \
#     start --commands "web server --mode=server --bind=0.0.0.0 --port=8443 --certfile=/certs/cert.pem --keyfile=/certs/key.pem"
#
# mtls mode is the same with --mode=mtls and --clientca=/certs/clients-ca.pem.

# --- Build: compilers and dev dependencies live only in this stage. ---
FROM node:20-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /opt/tendril
COPY package.json package-lock.json ./
# Install scripts stay off (no telemetry, no downloads of tools); the one native addon that needs
# building, better-sqlite3, is built explicitly. sodium-native ships its prebuilt binaries.
RUN npm ci --ignore-scripts && npm rebuild better-sqlite3
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
# The build generates the typed client's types from the route table first (scripts/client-types.ts).
COPY scripts ./scripts
RUN npm run build && npm prune --omit=dev --ignore-scripts

# --- Run: Node.js, the compiled package and its production dependencies, nothing else. ---
FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    TENDRIL_INSTANCE_PATH=/var/lib/tendril
# Its own unprivileged user; the instance directory exists and is its own before VOLUME, so a new
# named volume starts with that owner and mode.
RUN groupadd --system --gid 10001 tendril \
 && useradd --system --uid 10001 --gid tendril --home-dir /var/lib/tendril --shell /usr/sbin/nologin tendril \
 && install -d -o tendril -g tendril -m 0700 /var/lib/tendril
WORKDIR /opt/tendril
COPY --from=build /opt/tendril/package.json ./
COPY --from=build /opt/tendril/bin ./bin
COPY --from=build /opt/tendril/dist ./dist
COPY --from=build /opt/tendril/node_modules ./node_modules
RUN ln -s /opt/tendril/bin/tendril.js /usr/local/bin/tendril
USER tendril
VOLUME ["/var/lib/tendril"]
# 4110: the upstream default (reachable only from the container's own network namespace).
# 8443: the conventional port of the server-mode example above.
EXPOSE 4110 8443
# The node stops in order on SIGTERM (listeners closed, store writes finished).
STOPSIGNAL SIGTERM
ENTRYPOINT ["tendril"]
CMD ["start"]
