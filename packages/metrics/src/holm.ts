/**
 * Holm's step-down adjustment of p-values for multiple comparisons (Holm 1979), as R's
 * `p.adjust(p, method = "holm")` and statsmodels' `multipletests(p, method="holm")` give it.
 *
 * With the m p-values sorted ascending, p₍₁₎ ≤ … ≤ p₍ₘ₎, the adjusted value of the i-th is
 * maxⱼ≤ᵢ min(1, (m − j + 1) · p₍ⱼ₎): each is multiplied by the number of hypotheses still in play,
 * made monotone by a running maximum (so a smaller raw p never gets a larger adjusted p), and capped
 * at 1. It controls the family-wise error rate at α when a hypothesis is rejected where its adjusted
 * value is at most α, under any dependence between the tests. The result is in the input's order.
 *
 * Throws `RangeError` for an empty list or a value that is not a number in [0, 1] (R drops `NA`s and
 * adjusts the rest; here a missing p-value is a mistake to fix, not to pass over).
 */
export function holmAdjust(pValues: ArrayLike<number>): Float64Array {
  const count = pValues.length;
  if (count === 0) throw new RangeError('holmAdjust: pValues is empty; expected at least one p-value');
  for (let index = 0; index < count; index++) {
    const value = pValues[index];
    if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
      throw new RangeError(`holmAdjust: pValues[${index}] is ${String(value).slice(0, 80)}; expected a p-value in [0, 1]`);
    }
  }
  // A stable ascending order: tied p-values keep their input order, as R's order() does.
  const order = Array.from({ length: count }, (_, index) => index).sort(
    (left, right) => (pValues[left] as number) - (pValues[right] as number) || left - right,
  );
  const adjusted = new Float64Array(count);
  let runningMaximum = 0;
  for (let rank = 0; rank < count; rank++) {
    const index = order[rank] as number;
    const scaled = Math.min(1, (count - rank) * (pValues[index] as number));
    runningMaximum = Math.max(runningMaximum, scaled);
    adjusted[index] = runningMaximum;
  }
  return adjusted;
}
