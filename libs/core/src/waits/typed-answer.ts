import { askChoices } from '../channels/outbound';

const YES = new Set(['yes', 'y', 'true', 'approve', 'approved', 'ok']);
const NO = new Set(['no', 'n', 'false', 'reject', 'rejected']);

/**
 * What a typed chat answer means to a wait: people answer a yes/no question by writing
 * "yes" or "n" (or a button's label) as often as by pressing a button. A boolean wait
 * takes yes/no/y/n/true/false and its buttons' labels (Approve/Reject), any case; a
 * choice wait takes a button's label in any case. Anything else stays as typed, so
 * validation still says why it does not fit.
 */
export function typedAnswer(expects: unknown, answer: unknown): unknown {
  if (typeof answer !== 'string' || expects === null || typeof expects !== 'object') return answer;
  const said = answer
    .trim()
    .replace(/[.!]+$/, '')
    .toLowerCase();
  const schema = expects as Record<string, unknown>;
  if (schema.type === 'boolean') {
    if (YES.has(said)) return true;
    if (NO.has(said)) return false;
    return answer;
  }
  const choices = askChoices(schema);
  const hit = choices?.find((c) => c.label.toLowerCase() === said);
  return hit ? hit.value : answer;
}
