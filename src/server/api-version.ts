import { errors } from './errors.js';

// Published data-plane versions: 7.0 to 7.6 and 2025-07-01. SDKs move ahead
// of any list, so any well-formed later version is served with the newest
// behaviour; a malformed one is refused, as is a missing one.
export const KNOWN_API_VERSIONS = ['7.0', '7.1', '7.2', '7.3', '7.4', '7.5', '7.6', '2025-07-01'];
const WELL_FORMED = /^(\d+\.\d+|\d{4}-\d{2}-\d{2})(-preview(\.\d+)?)?$/;

export function checkApiVersion(value: string | undefined): string {
  if (value === undefined || value === '') throw errors.missingApiVersion();
  if (!WELL_FORMED.test(value)) {
    throw errors.badParameter(`The specified version (${value.slice(0, 40)}) is not recognized. Consider using the latest supported version (7.6).`);
  }
  const major = Number.parseFloat(value);
  if (!value.includes('-') && major < 7) {
    throw errors.badParameter(`The specified version (${value}) is not supported. Consider using the latest supported version (7.6).`);
  }
  return value;
}
