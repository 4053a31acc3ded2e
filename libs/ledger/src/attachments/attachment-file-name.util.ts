/**
 * Ids become file names and object keys: anything but these characters is hex-escaped,
 * so no id walks out of its folder (`../`) or means something in a URL (`#`, `?`).
 */
export function fileNameOf(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, (c) => `.${c.charCodeAt(0).toString(16)}.`);
}
