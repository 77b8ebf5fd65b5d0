# One image for every hookstream service; the command picks the service:
#   docker run IMAGE services/ingest/src/main.ts
# Node 24 runs the TypeScript sources directly, so the image is the sources
# plus production dependencies and the bundled web console. Not built in this repo's CI
# (no Docker engine there); the Helm chart runs it with a read-only root
# filesystem as uid 10001.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/ packages/
COPY services/ services/
# Locked versions, production dependencies only, no install scripts.
# The web console is bundled here (esbuild ships its binary as an npm package).
RUN npm install --omit=dev --ignore-scripts --no-audit --no-fund \
 && node packages/console/build.ts \
 && find packages services -type d -name test -prune -exec rm -rf {} +

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
RUN groupadd --gid 10001 hookstream && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin hookstream
COPY --from=deps --chown=root:root /app /app
COPY deploy/clickhouse/migrations/ deploy/clickhouse/migrations/
USER 10001:10001
ENTRYPOINT ["node"]
CMD ["services/ingest/src/main.ts"]
