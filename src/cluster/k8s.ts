/**
 * Kubernetes manifests for a planned run (`dfkd k8s`): an Indexed Job with
 * one completion per job (`completionMode: Indexed`, `completions: N`; each
 * pod runs `dfkd run-job --index $(JOB_COMPLETION_INDEX)`, retried up to
 * `backoffLimitPerIndex` times, continuing from the job's checkpoint), the
 * results folder on a PersistentVolumeClaim; and a report Job that waits for
 * every job to end (`dfkd status --wait`), then writes the reports. Objects
 * are built and checked with `kubernetes-models` (the Kubernetes API's
 * OpenAPI schema) and written as YAML with `yaml`.
 *
 * @module
 */
import { Job } from "kubernetes-models/batch/v1/Job";
import type { IContainer } from "kubernetes-models/v1/Container";
import { stringify } from "yaml";
import type { RunRecord } from "../results/records.ts";

/** Options of {@linkcode k8sManifests}. */
export interface K8sOptions {
  /** The container image (built from the repository's `Dockerfile`). */
  image: string;
  /** The PersistentVolumeClaim holding the results folder (ReadWriteMany for parallel pods). */
  volumeClaim: string;
  /** Where the claim is mounted in the pods (default `/results`). */
  mountPath?: string;
  /** The run folder's path relative to the claim's root, e.g. `smoke/20260101T000000Z-abc1234`. */
  runPath: string;
  /** GPUs per pod (`nvidia.com/gpu`; default 0). */
  gpus?: number;
  /** CPUs requested per pod (default 1). */
  cpus?: number;
  /** Pods at once (default: all). */
  parallelism?: number;
  /** Retries of one index before it counts as failed (default 3). */
  backoffLimitPerIndex?: number;
  /** Kubernetes namespace (default: the context's). */
  namespace?: string;
  /** Extra `run-job` arguments (`--backend`, `--data-root`, `--teacher-cache`). */
  runJobArgs?: string[];
  /** Add the run to the history after the report, into this folder (in the pod). */
  history?: { dir?: string };
}

/** The manifests {@linkcode k8sManifests} makes. */
export interface K8sManifests {
  /** The Indexed Job running every job, as a validated object. */
  jobs: Job;
  /** The report Job, as a validated object. */
  report: Job;
  /** Both as one YAML stream (`kubectl apply -f`). */
  yaml: string;
}

/** Folder of a run that holds its Kubernetes manifests. */
export const K8S_DIR = "k8s";

/** The project's folder inside the image (`Dockerfile`'s `WORKDIR`). */
export const IMAGE_PROJECT_DIR = "/app";

/**
 * A Kubernetes object name (RFC 1123 label, at most 63 characters) from `parts`.
 *
 * @example
 * ```ts
 * import { k8sName } from "./k8s.ts";
 * console.log(k8sName("dfkd", "smoke", "20260101T000000Z-abc1234")); // dfkd-smoke-20260101t000000z-abc1234
 * ```
 */
export function k8sName(...parts: string[]): string {
  const name = parts.join("-").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-");
  return name.slice(0, 63).replace(/^-+|-+$/g, "");
}

function dfkdCommand(...args: string[]): string[] {
  return ["deno", "run", "-A", `${IMAGE_PROJECT_DIR}/src/cli/main.ts`, ...args];
}

function container(
  options: K8sOptions,
  command: string[],
  args: string[],
  env: IContainer["env"] = [],
): IContainer {
  const gpus = options.gpus ?? 0;
  return {
    name: "dfkd",
    image: options.image,
    workingDir: IMAGE_PROJECT_DIR,
    command,
    args,
    env: [
      { name: "DENO_NO_UPDATE_CHECK", value: "1" },
      // The backend's threads: the CPUs the pod requests.
      { name: "DFKD_THREADS", value: String(options.cpus ?? 1) },
      ...(env ?? []),
    ],
    resources: {
      requests: { cpu: String(options.cpus ?? 1) },
      ...(gpus > 0 ? { limits: { "nvidia.com/gpu": String(gpus) } } : {}),
    },
    volumeMounts: [{ name: "results", mountPath: options.mountPath ?? "/results" }],
  };
}

/**
 * The Indexed Job and report Job of the run `run`, validated against the
 * Kubernetes API schema (an invalid option throws).
 *
 * @example
 * ```ts
 * import { k8sManifests } from "./k8s.ts";
 * import type { RunRecord } from "../results/records.ts";
 * const run = { benchmark: "smoke", runId: "r1", jobs: ["a", "b", "c"] } as unknown as RunRecord;
 * const m = k8sManifests(run, { image: "dfkd:1", volumeClaim: "results", runPath: "smoke/r1" });
 * console.log(m.jobs.spec?.completions); // 3
 * ```
 */
export function k8sManifests(run: RunRecord, options: K8sOptions): K8sManifests {
  const mount = options.mountPath ?? "/results";
  const runDir = `${mount.replace(/\/+$/, "")}/${options.runPath.replace(/^\/+/, "")}`;
  const name = k8sName("dfkd", run.benchmark, run.runId);
  const labels = { "app.kubernetes.io/name": "dfkd-bench", "dfkd-bench/run": k8sName(run.runId) };
  const metadata = (n: string) => ({
    name: n,
    labels,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
  });
  const volumes = [{ name: "results", persistentVolumeClaim: { claimName: options.volumeClaim } }];
  const jobs = new Job({
    metadata: metadata(name),
    spec: {
      completionMode: "Indexed",
      completions: run.jobs.length,
      parallelism: options.parallelism ?? run.jobs.length,
      backoffLimitPerIndex: options.backoffLimitPerIndex ?? 3,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          // SIGTERM (preemption, deletion): the job checkpoints within this grace period.
          terminationGracePeriodSeconds: 120,
          containers: [container(
            options,
            dfkdCommand("run-job"),
            [runDir, "--index", "$(JOB_COMPLETION_INDEX)", ...(options.runJobArgs ?? [])],
            [{
              name: "JOB_COMPLETION_INDEX",
              valueFrom: {
                fieldRef: {
                  fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']",
                },
              },
            }],
          )],
          volumes,
        },
      },
    },
  });
  const q = (w: string) => `'${w.replaceAll("'", "'\\''")}'`;
  const dfkd = dfkdCommand().map(q).join(" ");
  const steps = [
    `${dfkd} status ${q(runDir)} --wait --mark-finished`,
    `${dfkd} report ${q(runDir)}`,
    ...(options.history === undefined ? [] : [
      `${dfkd} history add ${q(runDir)}${
        options.history.dir !== undefined ? ` --history-dir ${q(options.history.dir)}` : ""
      }`,
    ]),
  ];
  const report = new Job({
    metadata: metadata(k8sName(name.slice(0, 63 - 7), "report")),
    spec: {
      backoffLimit: 2,
      template: {
        metadata: { labels },
        spec: {
          restartPolicy: "Never",
          containers: [{
            ...container({ ...options, gpus: 0, cpus: 1 }, ["sh", "-c"], [steps.join(" && ")]),
            name: "report",
          }],
          volumes,
        },
      },
    },
  });
  jobs.validate();
  report.validate();
  const yaml = [jobs, report].map((j) => stringify(j.toJSON(), { lineWidth: 0 })).join("---\n");
  return { jobs, report, yaml };
}
