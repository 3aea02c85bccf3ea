import UAParser from 'ua-parser-js';
import { JsonObject } from '@app/events';

/** ua-parser-js reads at most this much of a string (its own cap); more is never parsed. */
const MAX_UA_LENGTH = 500;

/**
 * ua-parser-js names a few families differently from ua-parser (uap-core), the
 * parser Keen ran; these are the common ones, so Keen-era queries that filter
 * on a family keep matching.
 */
const BROWSER_FAMILY: Record<string, string> = { 'Mobile Chrome': 'Chrome Mobile', 'Mobile Firefox': 'Firefox Mobile' };
const OS_FAMILY: Record<string, string> = { 'Mac OS': 'Mac OS X' };

function versionParts(version: string | undefined, count: number): Array<string | null> {
  const parts = (version ?? '').split(/[._]/).filter((p) => p !== '');
  return Array.from({ length: count }, (_, i) => parts[i] ?? null);
}

function family(name: string | undefined, aliases: Record<string, string>): string {
  if (!name) return 'Other';
  return Object.prototype.hasOwnProperty.call(aliases, name) ? aliases[name] : name;
}

/**
 * `keen:ua_parser`: `{browser: {family, major, minor, patch}, os: {family,
 * major, minor, patch, patch_minor}, device: {family}}`, as ua-parser reports
 * them: "Other" for what is not recognised, version parts as strings or null.
 * The device family is the model (a vendor's model when the vendor is not part
 * of the name, as "Samsung SM-S911B"); desktops are "Other".
 */
export function uaParser(value: unknown): JsonObject | undefined {
  if (typeof value !== 'string') return undefined;
  const result = new UAParser(value.slice(0, MAX_UA_LENGTH)).getResult();
  const [bMajor, bMinor, bPatch] = versionParts(result.browser.version, 3);
  const [oMajor, oMinor, oPatch, oPatchMinor] = versionParts(result.os.version, 4);
  return {
    browser: { family: family(result.browser.name, BROWSER_FAMILY), major: bMajor, minor: bMinor, patch: bPatch },
    os: {
      family: family(result.os.name, OS_FAMILY),
      major: oMajor,
      minor: oMinor,
      patch: oPatch,
      patch_minor: oPatchMinor,
    },
    device: { family: deviceFamily(result.device) },
  };
}

function deviceFamily(device: { vendor?: string; model?: string; type?: string }): string {
  // A desktop browser names no device type: ua-parser calls that "Other".
  if (!device.model || device.type === undefined) return 'Other';
  if (!device.vendor || device.vendor === 'Apple' || device.model.startsWith(device.vendor)) {
    return device.model;
  }
  return `${device.vendor} ${device.model}`;
}
