/**
 * "Did you mean" for config keys: an unknown key within a small edit distance of a known one is
 * most likely a typo of it (`listners` for `listeners`), and the warning or error it causes should
 * say so instead of leaving the user to guess why their setting did nothing.
 *
 * @module
 */

/** The largest edit distance at which an unknown key is taken for a typo of a known one. */
export const TYPO_DISTANCE_MAX = 2;

/**
 * Levenshtein distance (insertions, deletions, substitutions), giving up once it exceeds `max`.
 *
 * @example
 * ```ts
 * import { editDistance } from "./key_suggestion.ts";
 * editDistance("listners", "listeners"); // 1
 * ```
 */
export function editDistance(a: string, b: string, max = Infinity): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    let rowMin = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      const value = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
      current.push(value);
      rowMin = Math.min(rowMin, value);
    }
    if (rowMin > max) return max + 1;
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The known key an unknown one is most likely a typo of: the nearest within
 * {@link TYPO_DISTANCE_MAX} edits (the first in `known`'s order on a tie), or null. Keys shorter
 * than 4 characters get no suggestion: two edits would make almost anything match.
 *
 * @example
 * ```ts
 * import { suggestKey } from "./key_suggestion.ts";
 * suggestKey("listners", ["listeners", "log.dirs"]); // "listeners"
 * suggestKey("colour", ["listeners", "log.dirs"]); // null
 * ```
 */
export function suggestKey(unknown: string, known: Iterable<string>): string | null {
  if (unknown.length < 4) return null;
  let best: string | null = null;
  let bestDistance = TYPO_DISTANCE_MAX + 1;
  for (const key of known) {
    const distance = editDistance(unknown, key, TYPO_DISTANCE_MAX);
    if (distance < bestDistance) {
      best = key;
      bestDistance = distance;
    }
  }
  return best;
}

/**
 * True when `text` names `key` as a whole config key (not as part of a longer dotted key).
 *
 * @example
 * ```ts
 * import { mentionsKey } from "./key_suggestion.ts";
 * mentionsKey("CONTROLLER is not in listeners (PLAINTEXT://:9092)", "listeners"); // true
 * mentionsKey("advertised.listeners is empty", "listeners"); // false
 * ```
 */
export function mentionsKey(text: string, key: string): boolean {
  const escaped = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`(?<![\\w.-])${escaped}(?![\\w-]|\\.\\w)`).test(text);
}
