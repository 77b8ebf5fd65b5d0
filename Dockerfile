# One image for every hookstream service; the command picks the service:
#   docker run IMAGE services/ingest/src/main.ts
# Node 24 runs the TypeScript sources directly, so the image is the sources
# plus production dependencies and the bundled web console. Not built in this repo's CI
# (no Docker engine there); the Helm chart runs it with a read-only root
# filesystem as uid 10001.
#
# npm install rather than npm ci: with the committed lock it installs exactly
# the locked versions, and npm 11's ci refuses a lock that leaves out other
# platforms' optional packages (see scripts/setup.sh). No install scripts.

# Build stage: every dependency, dev ones included (esbuild bundles the console).
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/ packages/
COPY services/ services/
RUN npm install --ignore-scripts --no-audit --no-fund \
 && node packages/console/build.ts

# Runtime dependencies only: what services' src/ imports, which
# scripts/check-deps.ts (make lint) keeps to each package's "dependencies".
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/ packages/
COPY services/ services/
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && find packages services -type d -name test -prune -exec rm -rf {} +
COPY --from=build /app/packages/console/dist/ packages/console/dist/

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 hookstream && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin hookstream
COPY --from=deps --chown=root:root /app /app
COPY deploy/clickhouse/migrations/ deploy/clickhouse/migrations/
USER 10001:10001
ENTRYPOINT ["node"]
CMD ["services/ingest/src/main.ts"]
