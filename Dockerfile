# The image `dfkd k8s` manifests run (see docs/cluster.md): Deno 2.9.6, this project in /app,
# and its npm packages cached in the image, so pods start without network access.
#
#   docker build -t REGISTRY/dfkd-bench:$(git rev-parse --short HEAD) .
#   docker push REGISTRY/dfkd-bench:$(git rev-parse --short HEAD)
#
# The results (and datasets, teachers) live on the PersistentVolumeClaim the manifests mount,
# not in the image.
FROM denoland/deno:debian-2.9.6

# Optional native parts the backends use when present (oneDNN sgemm); git for the commit in
# each run's environment record.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates git libdnnl2 \
  && rm -rf /var/lib/apt/lists/*

WORKDIR /app
ENV DENO_NO_UPDATE_CHECK=1 \
  DENO_DIR=/app/.deno-cache

# Dependencies first (cached as a layer while only the code changes).
COPY deno.json deno.lock ./
RUN deno install --frozen

COPY . .
# Type-check and cache every entry point the jobs run (the CLI, the job worker, the toolkit).
RUN deno cache --frozen src/cli/main.ts src/bench/job_worker.ts src/bench/default_toolkit.ts \
  && deno run -A src/cli/main.ts help >/dev/null

ENTRYPOINT ["deno", "run", "-A", "/app/src/cli/main.ts"]
CMD ["help"]
