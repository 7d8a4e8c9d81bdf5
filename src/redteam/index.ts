export * from "./bias.js";
export * from "./compare.js";
export * from "./metrics.js";
export * from "./scenarios.js";
export * from "./suites.js";
