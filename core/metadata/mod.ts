/**
 * The metadata image and the active controller's handlers (KIP-500, KIP-631).
 *
 * @example
 * ```ts
 * import { applyRecords, EMPTY_IMAGE, imageToRecords } from "./mod.ts";
 * const image = applyRecords(EMPTY_IMAGE, []);
 * const snapshot = imageToRecords(image);
 * ```
 *
 * @module
 */

export * from "./image.ts";
export * from "./records.ts";
export * from "./placement.ts";
export * from "./controller_context.ts";
export * from "./controller.ts";
