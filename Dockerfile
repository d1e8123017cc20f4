# The gateway image: built from the workspace, run with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY packages ./packages
COPY apps ./apps
RUN npm ci && npx tsc -b

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    GATEWAY_HOST=0.0.0.0 \
    GATEWAY_DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/packages ./packages
COPY --from=build /app/apps ./apps
RUN npm ci --omit=dev && npm cache clean --force && mkdir -p /data && chown node:node /data
VOLUME /data
EXPOSE 9000 9001
USER node
CMD ["node", "apps/gateway/dist/main.js"]
