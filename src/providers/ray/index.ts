/** Ray's job submission REST API, and the OpenRLHF jobs keel submits through it. */
export {
  JOB_STATUSES,
  type JobDetails,
  JobDetailsSchema,
  type JobStatus,
  type JobSubmitRequest,
  type RayClientOptions,
  RayJobClient,
  TERMINAL,
} from "./client.js";
export {
  type CommonJobOptions,
  OPENRLHF_VERSION,
  type PpoJobOptions,
  ppoJob,
  type RmJobOptions,
  rmJob,
  shellQuote,
} from "./openrlhf.js";
