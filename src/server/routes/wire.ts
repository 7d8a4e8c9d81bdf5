/** zod schemas of what the API sends and receives, shared by the route files. */
import { z } from "zod";
import { ContentSchema, IdSchema } from "../../core/schemas.js";
import { Id } from "../http/schema.js";

export const RoleSchema = z.enum(["owner", "admin", "reviewer", "rater"]);

export const Login = z
  .string()
  .min(2)
  .max(64)
  .regex(/^[A-Za-z0-9_.@+-]+$/, "letters, digits and _ . @ + - only");

export const Password = z.string().min(10, "at least 10 characters").max(256);

export const UserOut = z.object({
  user_id: z.string(),
  login: z.string(),
  display_name: z.string(),
  role: RoleSchema,
});

export const UserAdminOut = UserOut.extend({
  disabled: z.boolean(),
  created_at: z.string(),
});

export const SessionOut = z.object({ user: UserOut, csrf_token: z.string().nullable() });

export const ProjectSettingsIn = z.strictObject({
  name: z.string().min(1).max(200).optional(),
  guidelines: z.string().max(100_000).optional(),
  overlap: z.number().int().min(1).max(100).optional(),
  gold_rate: z.number().min(0).max(0.9).optional(),
  lease_seconds: z.number().int().min(10).max(86_400).optional(),
  quiz_pass_rate: z.number().min(0).max(1).optional(),
  quiz_max_attempts: z.number().int().min(1).max(100).optional(),
  pause_gold_accuracy: z.number().min(0).max(1).optional(),
  pause_min_gold: z.number().int().min(1).max(10_000).optional(),
});

export const ProjectCreateIn = ProjectSettingsIn.extend({
  project_id: Id,
  name: z.string().min(1).max(200),
  // Not blank, as `keel project create --seed` refuses it: a blank seed is a variable left unset.
  seed: z.string().min(1).max(200).regex(/\S/, "must not be blank").optional(),
});

export const ProjectOut = z.object({
  project_id: z.string(),
  name: z.string(),
  guidelines: z.string(),
  overlap: z.number(),
  gold_rate: z.number(),
  lease_seconds: z.number(),
  quiz_pass_rate: z.number(),
  quiz_max_attempts: z.number(),
  pause_gold_accuracy: z.number(),
  pause_min_gold: z.number(),
  created_at: z.string(),
});

/** What a rater sees of a project: no settings that would help find gold items. */
export const RaterProjectOut = z.object({
  project_id: z.string(),
  name: z.string(),
  guidelines: z.string(),
  me: z.object({
    status: z.enum(["active", "paused", "excluded"]),
    guidelines_acknowledged: z.boolean(),
    quiz_required: z.boolean(),
    quiz_passed: z.boolean(),
    quiz_attempts_left: z.number(),
  }),
});

export const ItemIn = z.strictObject({
  comparison_id: IdSchema,
  prompt: ContentSchema,
  response_a: ContentSchema,
  response_b: ContentSchema,
  gold: z.enum(["a", "b", "tie"]).optional(),
  kind: z.enum(["task", "quiz"]).default("task"),
  batch: z.string().min(1).max(100).default("default"),
});

export const Side = z.enum(["left", "right", "tie"]);
export const Flag = z.enum(["unsafe", "broken", "pii"]);

export const TaskOut = z.object({
  task_id: z.string(),
  prompt: ContentSchema,
  left: ContentSchema,
  right: ContentSchema,
  expires_at: z.string(),
});

export const ProgressOut = z.object({
  judged: z.number(),
  skipped: z.number(),
  total: z.number(),
});

export const JudgmentIn = z.strictObject({
  choice: Side,
  rationale: z.string().max(2000).optional(),
  flags: z.array(Flag).max(3).optional(),
  /** Serve the next task in the same answer. */
  next: z.boolean().optional(),
});

export const SkipIn = z.strictObject({
  reason: z.enum(["unclear", "no_expertise", "harmful_content", "broken", "other"]),
  note: z.string().max(500).optional(),
});

export const TaskParams = z.strictObject({
  taskId: z.string().regex(/^[A-Za-z0-9_-]{22}$/, "a task id from the server"),
});
