/**
 * True when `hostname` (a URL's `hostname`, lower-case) matches one of the
 * egress allow-list `patterns`: an exact host or IP address, or `*.domain`
 * for any name strictly below `domain`.
 */
export function egressAllowed(hostname: string, patterns: readonly string[]): boolean {
  const host = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname.endsWith('.') ? hostname.slice(0, -1) : hostname;
  for (const pattern of patterns) {
    if (pattern.startsWith('*.')) {
      const suffix = pattern.slice(1); // ".example.org"
      if (host.length > suffix.length && host.endsWith(suffix)) return true;
    } else if (host === pattern) return true;
  }
  return false;
}
