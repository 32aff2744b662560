# alignkit scoring server image.
#   docker build -t alignkit .
#   docker run -p 8080:8080 -v /path/to/reward-model:/models:ro alignkit --model /models
# Without --model it serves the shipped default reward model from data/models.

# Production dependencies. --ignore-scripts keeps onnxruntime-node from fetching CUDA binaries;
# better-sqlite3's native addon is then built explicitly (hence the compiler in this stage only).
FROM node:20-slim AS deps
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV ONNXRUNTIME_NODE_INSTALL=skip
COPY package.json package-lock.json .npmrc ./
RUN npm ci --omit=dev --ignore-scripts && npm rebuild better-sqlite3

# Compile TypeScript with the dev dependencies, in a stage of its own.
FROM deps AS build
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/copy-assets.mjs ./scripts/
COPY src ./src
RUN npm run build

FROM node:20-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY data ./data
# The model directory is mounted here (read-only is enough for serving).
VOLUME ["/models"]
# Where compose.yaml mounts the annotators' key file and the job workers' run directories: created
# here so that the volumes start owned by the user the services run as.
RUN mkdir -p /var/lib/alignkit/keys /var/lib/alignkit/runs && chown -R node:node /var/lib/alignkit
USER node
EXPOSE 8080
ENTRYPOINT ["node", "dist/cli/main.js", "serve", "--host", "0.0.0.0", "--port", "8080"]
