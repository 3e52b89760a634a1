/**
 * The dashboard's last step of terminal safety. Text from the wire (HELO names, addresses, reply text,
 * subjects, anomaly details) reaches the screen in three steps:
 *  1. `cellText` (text/display-text.ts): controls, bidi, zero-width and combining characters and emoji become
 *     visible escapes, so every remaining character occupies one or two columns.
 *  2. `fitCell` / `clip` / `wrap` (text/display-text.ts): cut to a width in terminal columns and pad.
 *  3. {@link escapeTags} (here): the widgets parse blessed tags (`{red-fg}`), so `{` and `}` from the text are
 *     written as `{open}` and `{close}`, exactly as blessed's own `escape` helper does. Only the widgets
 *     call it, after fitting, so escaping never changes a measured width.
 */

/** `{` and `}` written as blessed's `{open}` and `{close}` tags, so text cannot open a tag of its own. */
export function escapeTags(s: string): string {
  return s.replace(/[{}]/g, (ch) => (ch === '{' ? '{open}' : '{close}'));
}
