# syntax=docker/dockerfile:1
# Switchyard's image: built in one stage, run from a second that holds only the production
# dependencies, the built dist/ and the dashboard. docs/deploy.md describes it; the machines this
# repository is developed on cannot build images, so what is tested (test/e2e/Deploy.test.ts) is
# the runtime stage's own steps: `npm ci --omit=dev --ignore-scripts` in a copy of the package,
# the built dist/ beside it, then `node dist/bundle/switchyard.js serve` serving, answering the
# HEALTHCHECK below, and exiting 0 on SIGTERM.

FROM node:24-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts off: `prepare` would build before the sources are here, and the `node` dev dependency
# would fetch a second Node; the image's Node 24 builds.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json tsconfig.build.json ./
COPY scripts ./scripts
COPY src ./src
# tsc to dist/ (the library), then the rolldown bundle the bin runs (dist/bundle/).
RUN npm run build

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /opt/switchyard
COPY package.json package-lock.json ./
# --ignore-scripts: without it `prepare` runs `npm run build`, which needs the dev dependencies.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY assets ./assets
# A placeholder: mount your own at /etc/switchyard/config.yaml (its admin.port is what the
# HEALTHCHECK asks; admin.host may stay 127.0.0.1 for it).
COPY config.example.yaml /etc/switchyard/config.yaml
USER node
EXPOSE 8080 9090
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9090/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "dist/bundle/switchyard.js", "serve", "--config", "/etc/switchyard/config.yaml"]
