/**
 * The URL node-postgres connects with: --db.url with --db.password put into it, percent-encoded, so that any
 * character works (`@ / : # %` pasted raw into a URL break it). The password has to travel inside the URL:
 * node-postgres parses a connection string over the separate fields, and a URL without a password would
 * blank the one given beside it.
 */
export function postgresConnectionUrl(url: string, password: string | undefined): string {
  if (!password) return url;
  const parsed = new URL(url);
  // encodeURIComponent also encodes `%`, which the URL's own setter would leave to be decoded later.
  parsed.password = encodeURIComponent(password);
  return parsed.toString();
}
