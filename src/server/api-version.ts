import { errors } from './errors.js';
import { isCalendarDate } from './query-params.js';

// Published data-plane versions: 2015-06-01, 2016-10-01, 7.0 to 7.6 and
// 2025-07-01. SDKs move ahead of any list, so any well-formed later version
// is served with the newest behaviour; a malformed one is refused, as is a
// missing one, and so is an unpublished older one (Azure refuses versions it
// does not know).
export const KNOWN_API_VERSIONS = ['2015-06-01', '2016-10-01', '7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '2025-07-01'];
const LATEST = KNOWN_API_VERSIONS[KNOWN_API_VERSIONS.length - 1]!;
/** Dated versions from here on are taken as later ones; before it, only the two published. */
const LATER_DATED = '2025-07-01';
const WELL_FORMED = /^(?:(\d{1,3})\.\d{1,3}|(\d{4}-\d{2}-\d{2}))(-preview(\.\d{1,3})?)?$/;

export function checkApiVersion(value: string | undefined): string {
  if (value === undefined || value === '') throw errors.missingApiVersion();
  const parts = WELL_FORMED.exec(value);
  const major = parts?.[1];
  const date = parts?.[2];
  if (!parts || (major !== undefined && Number(major) < 7) || (date !== undefined && ((date < LATER_DATED && !KNOWN_API_VERSIONS.includes(value)) || !isCalendarDate(date)))) {
    throw errors.badParameter(`The specified version (${value.slice(0, 40)}) is not recognized. Consider using the latest supported version (${LATEST}).`);
  }
  return value;
}
