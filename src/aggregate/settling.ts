/**
 * The rate test both families of iterative methods stop on besides their objective: whether a
 * linearly converging iteration has settled. From the last step d (the largest change of the
 * watched values, measured as each caller defines) and the observed rate ρ = d/d_prev, the
 * distance still to go is d + dρ + dρ² + … = d/(1 − ρ); the values have settled when it is below
 * √tol, which puts it on the scale of the objective's test (quadratic in the step near the
 * maximum). A step that grew (ρ ≥ 1), or NaN, is never settled.
 */
export function rateTest(): (step: number, tol: number) => boolean {
  let prevStep = Number.POSITIVE_INFINITY;
  return (step, tol) => {
    const rho = step === 0 ? 0 : step / prevStep;
    prevStep = step;
    const toGo = rho < 1 ? step / (1 - rho) : Number.POSITIVE_INFINITY;
    return toGo < Math.sqrt(tol);
  };
}
