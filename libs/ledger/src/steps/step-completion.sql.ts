/**
 * The SET list of every statement that completes a Step: the status, the output
 * (`output`: a parameter or a column holding the stored JSON, `{ v: value }`) and the
 * finish time on PostgreSQL's clock. The statements differ only in how they find the
 * row — by id, by the wait's (workId, stepSeq), or joined to the work row their own
 * transition just updated, which is what fences them — so that stays with each caller;
 * what a completed step looks like is said once, here (docs/decisions.md, "SQL that
 * restates transition()").
 */
export function completeStepSet(output: string): string {
  return `status = 'completed', output = ${output}, "finishedAt" = now()`;
}
