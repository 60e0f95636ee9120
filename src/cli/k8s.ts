/**
 * `dfkd k8s <run-dir> --image IMG --volume-claim PVC`: writes the Kubernetes
 * manifests of a planned run (an Indexed Job, one index per job, and a report
 * Job; see `src/cluster/k8s.ts`) to `<run-dir>/k8s/run.yaml`, validated
 * against the Kubernetes API schema.
 *
 * @module
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import { readRunRecord } from "../cluster/run_job.ts";
import { writeTextFileAtomic } from "../util/atomic_write.ts";
import { UserError } from "../util/errors.ts";
import type { Command } from "./command.ts";
import { parseCommandArgs, parseIntFlag } from "./parse_args.ts";

const USAGE = `k8s <run-dir> --image IMG --volume-claim PVC [--gpus N] [--cpus N] [--parallelism K]
    [--backoff-limit-per-index N] [--claim-root DIR] [--mount-path /results] [--namespace NS]
    [--backend B] [--data-root DIR] [--history] [--history-dir DIR]

  Writes <run-dir>/k8s/run.yaml: an Indexed Job (completions N, one pod per job running
  "dfkd run-job <run> --index $JOB_COMPLETION_INDEX", retried --backoff-limit-per-index times,
  default 3) and a report Job (waits for every job, then report; with --history, history add).
  The claim holds the results: --claim-root is the folder here that the claim's root is
  (default: the run folder's grandparent, the plan's --out), mounted at --mount-path in the
  pods. --data-root is a path in the pods (default <mount-path>/data). Apply with
  kubectl apply -f <run-dir>/k8s/run.yaml.`;

/** The `k8s` command. */
export const k8sCommand: Command = {
  summary: "Write the Kubernetes Indexed Job and report Job of a planned run",
  usage: USAGE,
  async run(args) {
    const { values, positionals } = parseCommandArgs(args, {
      image: { type: "string" },
      "volume-claim": { type: "string" },
      gpus: { type: "string" },
      cpus: { type: "string" },
      parallelism: { type: "string" },
      "backoff-limit-per-index": { type: "string" },
      "claim-root": { type: "string" },
      "mount-path": { type: "string", default: "/results" },
      namespace: { type: "string" },
      backend: { type: "string" },
      "data-root": { type: "string" },
      history: { type: "boolean" },
      "history-dir": { type: "string" },
    }, USAGE);
    if (positionals.length !== 1) {
      throw new UserError(`Name one run folder\nUsage: deno task dfkd ${USAGE}`, 2);
    }
    if (!values.image || !values["volume-claim"]) {
      throw new UserError(
        `--image and --volume-claim are required\nUsage: deno task dfkd ${USAGE}`,
        2,
      );
    }
    const runDir = resolve(positionals[0] as string);
    const run = await readRunRecord(runDir);
    const claimRoot = resolve(values["claim-root"] ?? join(runDir, "..", ".."));
    const runPath = relative(claimRoot, runDir);
    if (runPath === "" || runPath.startsWith("..") || isAbsolute(runPath)) {
      throw new UserError(`--claim-root ${claimRoot} does not contain the run folder ${runDir}`, 2);
    }
    const mount = values["mount-path"] ?? "/results";
    if (!mount.startsWith("/")) {
      throw new UserError(`--mount-path must be an absolute path (got "${mount}")`, 2);
    }
    const int = (flag: string, min: number) =>
      parseIntFlag(`--${flag}`, values[flag as "gpus"], min);
    const gpus = int("gpus", 0);
    const cpus = int("cpus", 1);
    const parallelism = int("parallelism", 1);
    const backoff = int("backoff-limit-per-index", 0);
    const runJobArgs = ["--data-root", values["data-root"] ?? `${mount.replace(/\/+$/, "")}/data`];
    if (values.backend !== undefined) runJobArgs.push("--backend", values.backend);
    // Loaded here: the schema validator is large (and warns about Node's punycode on load).
    const { K8S_DIR, k8sManifests } = await import("../cluster/k8s.ts");
    const manifests = k8sManifests(run, {
      image: values.image,
      volumeClaim: values["volume-claim"],
      mountPath: mount,
      runPath,
      ...(gpus !== undefined ? { gpus } : {}),
      ...(cpus !== undefined ? { cpus } : {}),
      ...(parallelism !== undefined ? { parallelism } : {}),
      ...(backoff !== undefined ? { backoffLimitPerIndex: backoff } : {}),
      ...(values.namespace !== undefined ? { namespace: values.namespace } : {}),
      runJobArgs,
      ...(values.history || values["history-dir"] !== undefined
        ? { history: values["history-dir"] !== undefined ? { dir: values["history-dir"] } : {} }
        : {}),
    });
    const path = join(runDir, K8S_DIR, "run.yaml");
    await Deno.mkdir(join(runDir, K8S_DIR), { recursive: true });
    await writeTextFileAtomic(path, manifests.yaml);
    console.log(
      `Wrote ${path}: Indexed Job ${manifests.jobs.metadata?.name} (${run.jobs.length} indexes) ` +
        `and report Job ${manifests.report.metadata?.name}`,
    );
    console.log(`Start:  kubectl apply -f ${path}`);
    console.log(
      `Follow: kubectl get pods -l dfkd-bench/run=${
        manifests.jobs.metadata?.labels?.["dfkd-bench/run"]
      } (and deno task dfkd status ${runDir})`,
    );
    return 0;
  },
};
