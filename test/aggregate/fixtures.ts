/**
 * Published data sets used as worked examples. Each is transcribed from its paper's table.
 */

/**
 * Dawid & Skene (1979), Table 1: 45 patients, 5 anaesthetists, 4 classes of fitness for an
 * operation (1 = most fitMethod). Observer 1 rated every patient three times, weeks apart; the
 * others once. Row p: [obs1 ×3, obs2, obs3, obs4, obs5].
 */
export const DAWID_SKENE_1979: readonly (readonly number[])[] = [
  [1, 1, 1, 1, 1, 1, 1],
  [3, 3, 3, 4, 3, 3, 4],
  [1, 1, 2, 2, 1, 2, 2],
  [2, 2, 2, 3, 1, 2, 1],
  [2, 2, 2, 3, 2, 2, 2],
  [2, 2, 2, 3, 3, 2, 2],
  [1, 2, 2, 2, 1, 1, 1],
  [3, 3, 3, 3, 4, 3, 3],
  [2, 2, 2, 2, 2, 2, 3],
  [2, 3, 2, 2, 2, 2, 3],
  [4, 4, 4, 4, 4, 4, 4],
  [2, 2, 2, 3, 3, 4, 3],
  [1, 1, 1, 1, 1, 1, 1],
  [2, 2, 2, 3, 2, 1, 2],
  [1, 2, 1, 1, 1, 1, 1],
  [1, 1, 1, 2, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [2, 2, 2, 2, 2, 2, 1],
  [2, 2, 2, 1, 3, 2, 2],
  [2, 2, 2, 2, 2, 2, 2],
  [2, 2, 2, 2, 2, 2, 1],
  [2, 2, 2, 3, 2, 2, 2],
  [2, 2, 1, 2, 2, 2, 2],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [2, 3, 2, 2, 2, 2, 2],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 2, 1, 1, 2, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [3, 3, 3, 3, 2, 3, 3],
  [1, 1, 1, 1, 1, 1, 1],
  [2, 2, 2, 2, 2, 2, 2],
  [2, 2, 2, 3, 2, 3, 2],
  [4, 3, 3, 4, 3, 4, 3],
  [2, 2, 1, 2, 2, 3, 2],
  [2, 3, 2, 3, 2, 3, 3],
  [3, 3, 3, 3, 4, 3, 2],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 1, 1, 1, 1, 1, 1],
  [1, 2, 1, 2, 1, 1, 1],
  [2, 3, 2, 2, 2, 2, 2],
  [1, 2, 1, 1, 1, 1, 1],
  [2, 2, 2, 2, 2, 2, 2],
];

/** The patient table as crowd-kit rows (`task,worker,label`). */
export function dawidSkeneRows(): { task: string; worker: string; label: string }[] {
  const rows: { task: string; worker: string; label: string }[] = [];
  DAWID_SKENE_1979.forEach((r, p) => {
    r.forEach((label, c) => {
      const observer = c < 3 ? 1 : c - 1;
      rows.push({ task: `p${p + 1}`, worker: `o${observer}`, label: String(label) });
    });
  });
  return rows;
}

/**
 * Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4 observers × 12 units
 * example with missing values (null); nominal α = 0.743.
 */
export const KRIPPENDORFF_2011: readonly (readonly (number | null)[])[] = [
  [1, 2, 3, 3, 2, 1, 4, 1, 2, null, null, null],
  [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, null, 3],
  [null, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, null],
  [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, null],
];

/**
 * Fleiss (1971), Table 1: 30 patients, 6 psychiatric diagnoses each, 5 categories; κ = 0.430
 * (P̄ = 0.5556, P̄e = 0.2201). Each row lists the six diagnoses given to one patient.
 */
export const FLEISS_1971: readonly (readonly number[])[] = [
  [4, 4, 4, 4, 4, 4],
  [2, 2, 2, 5, 5, 5],
  [2, 3, 3, 3, 3, 5],
  [5, 5, 5, 5, 5, 5],
  [2, 2, 2, 4, 4, 4],
  [1, 1, 3, 3, 3, 3],
  [3, 3, 3, 3, 5, 5],
  [1, 1, 3, 3, 3, 4],
  [1, 1, 4, 4, 4, 4],
  [5, 5, 5, 5, 5, 5],
  [1, 4, 4, 4, 4, 4],
  [1, 2, 4, 4, 4, 4],
  [2, 2, 2, 3, 3, 3],
  [1, 4, 4, 4, 4, 4],
  [2, 2, 4, 4, 4, 5],
  [3, 3, 3, 3, 3, 5],
  [1, 1, 1, 4, 5, 5],
  [1, 1, 1, 1, 1, 2],
  [2, 2, 4, 4, 4, 4],
  [1, 3, 3, 5, 5, 5],
  [5, 5, 5, 5, 5, 5],
  [2, 4, 4, 4, 4, 4],
  [2, 2, 4, 5, 5, 5],
  [1, 1, 4, 4, 4, 4],
  [1, 4, 4, 4, 4, 5],
  [2, 2, 2, 2, 2, 4],
  [1, 1, 1, 1, 5, 5],
  [2, 2, 4, 4, 4, 4],
  [1, 3, 3, 3, 3, 3],
  [5, 5, 5, 5, 5, 5],
];
