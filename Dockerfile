# One image for every Tally process; APP selects which one runs:
#   standalone (default) | ingest | query | worker | cli
# Built once (multi-stage): the build stage compiles TypeScript and the native
# better-sqlite3 addon, the runtime stage has production dependencies only.

FROM node:20-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 falls back to compiling from source when no prebuilt binary matches.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
# msgpackr-extract is replaced by this local package (package.json "overrides"):
# npm ci links it, so it must be in place first.
COPY tools/no-native-msgpackr ./tools/no-native-msgpackr
RUN npm ci --no-audit --no-fund
# The production sources only (tsconfig.build.json): no test/, no bench/ (own tsconfig).
# scripts/docker-build-tree.int-spec.ts runs `npm run build` on exactly what these COPY lines bring in.
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY apps ./apps
COPY libs ./libs
COPY tools/stack ./tools/stack
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    APP=standalone \
    HOST=0.0.0.0 \
    PORT=8080 \
    DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
USER node
EXPOSE 8080
# Liveness only (GET /healthz: the event loop answers), safe for any orchestrator that
# restarts unhealthy containers: a store or queue outage makes /readyz fail, and restarting
# would not help. Readiness (/readyz) is for load balancers and start order (docker-compose.yml).
# The worker answers on WORKER_HTTP_PORT; the cli serves nothing. No curl in the image: node's fetch.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const a=process.env.APP||'standalone';const p=a==='worker'?(process.env.WORKER_HTTP_PORT||'9300'):(process.env.PORT||'8080');if(a==='cli'||p==='0')process.exit(0);fetch('http://127.0.0.1:'+p+'/healthz',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"]
# exec: node gets SIGTERM directly and drains (run with an init, e.g. compose `init: true`).
CMD ["sh", "-c", "case \"$APP\" in standalone|ingest|query|worker|cli) exec node \"dist/apps/$APP/src/main.js\" \"$@\" ;; *) echo \"APP must be standalone, ingest, query, worker or cli, got '$APP'\" >&2; exit 64 ;; esac", "tally"]
