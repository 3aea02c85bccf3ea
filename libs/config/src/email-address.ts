/** Longest address accepted (RFC 5321: a forward-path holds at most 256 octets, brackets included). */
export const EMAIL_ADDRESS_MAX_LENGTH = 254;

// One plain address, `local@domain.tld`: the dot-atom local part of RFC 5322 and
// a host name of letters, digits and hyphens with at least one dot. No display
// name, comment, quoted local part, IP literal, list separator or whitespace,
// so a value can never name a second recipient or smuggle a header line.
const ADDRESS =
  /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

/**
 * Whether `value` is exactly one plain e-mail address (the SMTP_FROM setting
 * and the `email` of an extraction use the same rule).
 */
export function isEmailAddress(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length <= EMAIL_ADDRESS_MAX_LENGTH &&
    value.split('@')[0].length <= 64 &&
    ADDRESS.test(value)
  );
}
