import { JsonValue, TallyError } from '@app/events';
import { isObject, pathProblem } from './event-paths';

/** Keen's five add-ons and the input keys each one requires. */
export const ADDON_INPUTS = {
  'keen:ip_to_geo': ['ip'],
  'keen:ua_parser': ['ua_string'],
  'keen:url_parser': ['url'],
  'keen:referrer_parser': ['referrer_url', 'page_url'],
  'keen:date_time_parser': ['date_time'],
} as const;

export type AddonName = keyof typeof ADDON_INPUTS;

/**
 * Keen's auto-collector declares five add-ons per event; more than this is
 * abuse, and each one costs a parse on the ingest event loop.
 */
export const MAX_ADDONS_PER_EVENT = 10;

/** One validated entry of `keen.addons`: input key → the event property (dot path) it reads. */
export interface AddonSpec {
  name: AddonName;
  input: Record<string, string>;
  output: string;
}

export const ADDON_ERROR = 'InvalidAddonError';

function refuse(message: string): never {
  throw new TallyError('invalid', ADDON_ERROR, message);
}

function isAddonName(name: string): name is AddonName {
  return Object.prototype.hasOwnProperty.call(ADDON_INPUTS, name);
}

/**
 * Reads `keen.addons` as sent. Anything Keen would not run is refused with a
 * message naming the entry, so the event's slot in a batch (or a single
 * write's 400) says what to fix; nothing is stored half-enriched.
 */
export function parseAddonSpecs(addons: JsonValue | undefined): AddonSpec[] {
  if (addons === undefined) return [];
  if (!Array.isArray(addons)) refuse('"keen.addons" must be a list of {name, input, output} objects.');
  if (addons.length > MAX_ADDONS_PER_EVENT) {
    refuse(`"keen.addons" lists ${addons.length} add-ons; an event may declare at most ${MAX_ADDONS_PER_EVENT}.`);
  }
  return addons.map((entry, index) => parseOne(entry, index));
}

function parseOne(entry: JsonValue, index: number): AddonSpec {
  const at = `keen.addons[${index}]`;
  if (!isObject(entry)) refuse(`"${at}" must be an object with name, input and output.`);
  const { name, input, output } = entry;
  if (typeof name !== 'string' || !isAddonName(name)) {
    const shown = typeof name === 'string' ? `"${name.slice(0, 80)}"` : 'missing';
    refuse(
      `"${at}.name" is ${shown}: the add-ons are ${Object.keys(ADDON_INPUTS).join(', ')}.`,
    );
  }
  if (!isObject(input)) refuse(`"${at}.input" must be an object naming the properties ${name} reads.`);
  const paths: Record<string, string> = Object.create(null);
  for (const key of ADDON_INPUTS[name]) {
    const path = Object.prototype.hasOwnProperty.call(input, key) ? input[key] : undefined;
    if (typeof path !== 'string') {
      refuse(`"${at}.input.${key}" is missing: ${name} needs input ${ADDON_INPUTS[name].map((k) => `"${k}"`).join(' and ')}, each the name of a property of the event.`);
    }
    const problem = pathProblem(path);
    if (problem) refuse(`"${at}.input.${key}" is not a property name: it ${problem}.`);
    paths[key] = path;
  }
  if (typeof output !== 'string') refuse(`"${at}.output" must name the property ${name} writes.`);
  const problem = pathProblem(output);
  if (problem) refuse(`"${at}.output" is not a property name: it ${problem}.`);
  if (output === 'keen' || output.startsWith('keen.')) {
    refuse(`"${at}.output" is "${output.slice(0, 80)}": the keen namespace is reserved, write the result elsewhere.`);
  }
  return { name, input: paths, output };
}
