/** A name made safe as one path segment: runs of other characters than letters, digits, `_`, `.` and `-` become `_`. */
export function slug(text: string): string {
  return text.replace(/[^\w.-]+/g, '_');
}
