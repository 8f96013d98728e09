/**
 * ACLs and Kafka's StandardAuthorizer semantics (KIP-801), pure: resource patterns (literal, the
 * `*` wildcard, prefixed), principals (`User:*` matches every user), hosts (`*` matches all), DENY
 * over ALLOW, the operations an ALLOW implies (READ, WRITE, DELETE and ALTER imply DESCRIBE;
 * ALTER_CONFIGS implies DESCRIBE_CONFIGS), `super.users`, and `allow.everyone.if.no.acl.found` for a
 * resource no ACL names. The codes are Kafka's wire codes (AclOperation, ResourceType, PatternType,
 * AclPermissionType).
 *
 * @example
 * ```ts
 * import { AclOperation, PatternType, Permission, ResourceType, StandardAuthorizer } from "./acl.ts";
 * const authorizer = new StandardAuthorizer({ superUsers: [], allowEveryoneIfNoAclFound: false });
 * authorizer.setAcls([{
 *   resourceType: ResourceType.TOPIC, resourceName: "orders", patternType: PatternType.LITERAL,
 *   principal: "User:alice", host: "*", operation: AclOperation.READ,
 *   permissionType: Permission.ALLOW,
 * }]);
 * authorizer.authorize("User:alice", "10.0.0.1", AclOperation.DESCRIBE, ResourceType.TOPIC, "orders"); // true
 * ```
 *
 * @module
 */

/** Kafka's ResourceType codes. */
export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

/** Kafka's PatternType codes (ANY and MATCH only in filters). */
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

/** Kafka's AclOperation codes. */
export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

/** Kafka's AclPermissionType codes (ANY only in filters). */
export const Permission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

/** The name of the cluster resource (Kafka's `kafka-cluster`). */
export const CLUSTER_RESOURCE_NAME = "kafka-cluster";
/** The literal resource name and principal/host that match everything. */
export const WILDCARD = "*";
/** The principal of a connection that did not authenticate (PLAINTEXT, SSL without client auth). */
export const ANONYMOUS_PRINCIPAL = "User:ANONYMOUS";

/** One access control entry (an AccessControlEntryRecord without its id). */
export interface AclBinding {
  resourceType: number;
  resourceName: string;
  patternType: number;
  principal: string;
  host: string;
  operation: number;
  permissionType: number;
}

/** A DescribeAcls/DeleteAcls filter: null fields and ANY codes match everything. */
export interface AclFilter {
  resourceType: number;
  resourceName: string | null;
  patternType: number;
  principal: string | null;
  host: string | null;
  operation: number;
  permissionType: number;
}

/** The names kafka-acls.sh and Kafka's toString use, by code. */
export const OPERATION_NAMES: Readonly<Record<number, string>> = {
  2: "ALL",
  3: "READ",
  4: "WRITE",
  5: "CREATE",
  6: "DELETE",
  7: "ALTER",
  8: "DESCRIBE",
  9: "CLUSTER_ACTION",
  10: "DESCRIBE_CONFIGS",
  11: "ALTER_CONFIGS",
  12: "IDEMPOTENT_WRITE",
  13: "CREATE_TOKENS",
  14: "DESCRIBE_TOKENS",
};
export const RESOURCE_TYPE_NAMES: Readonly<Record<number, string>> = {
  2: "TOPIC",
  3: "GROUP",
  4: "CLUSTER",
  5: "TRANSACTIONAL_ID",
  6: "DELEGATION_TOKEN",
  7: "USER",
};
export const PATTERN_TYPE_NAMES: Readonly<Record<number, string>> = { 3: "LITERAL", 4: "PREFIXED" };
export const PERMISSION_NAMES: Readonly<Record<number, string>> = { 2: "DENY", 3: "ALLOW" };

/** Operations each resource type supports (Kafka's per-type `supportedOperations`). */
export const RESOURCE_OPERATIONS: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [3, 4, 5, 6, 7, 8, 10, 11],
  [ResourceType.GROUP]: [3, 6, 8],
  [ResourceType.CLUSTER]: [5, 7, 8, 9, 10, 11, 12],
  [ResourceType.TRANSACTIONAL_ID]: [4, 8],
  [ResourceType.DELEGATION_TOKEN]: [8],
  [ResourceType.USER]: [13, 14],
};

/**
 * Why an ACL cannot be created, or null when it can (Kafka's checks before CreateAcls): a concrete
 * resource type, LITERAL or PREFIXED pattern, a `Type:name` principal, a concrete operation and
 * permission, and the cluster resource named `kafka-cluster`.
 *
 * @example
 * ```ts
 * import { invalidAcl } from "./acl.ts";
 * invalidAcl({ resourceType: 2, resourceName: "t", patternType: 3, principal: "alice",
 *   host: "*", operation: 3, permissionType: 3 }); // "Invalid principal alice: ..."
 * ```
 */
export function invalidAcl(b: AclBinding): string | null {
  if (RESOURCE_TYPE_NAMES[b.resourceType] === undefined) {
    return `Invalid resource type ${b.resourceType}`;
  }
  if (b.patternType !== PatternType.LITERAL && b.patternType !== PatternType.PREFIXED) {
    return `Invalid pattern type ${b.patternType}: must be LITERAL or PREFIXED`;
  }
  if (b.resourceName === "") return "Resource name must not be empty";
  if (b.patternType === PatternType.PREFIXED && b.resourceName === WILDCARD) {
    return "A PREFIXED pattern cannot be the wildcard *";
  }
  if (!/^[^:]+:.+$/.test(b.principal)) {
    return `Invalid principal ${b.principal}: expected <type>:<name>, e.g. User:alice`;
  }
  if (b.host === "") return "Host must not be empty (use * for every host)";
  if (
    OPERATION_NAMES[b.operation] === undefined ||
    (b.operation !== AclOperation.ALL &&
      !RESOURCE_OPERATIONS[b.resourceType]!.includes(b.operation))
  ) {
    return `Operation ${OPERATION_NAMES[b.operation] ?? b.operation} does not apply to ${
      RESOURCE_TYPE_NAMES[b.resourceType]
    }`;
  }
  if (PERMISSION_NAMES[b.permissionType] === undefined) {
    return `Invalid permission type ${b.permissionType}`;
  }
  if (b.resourceType === ResourceType.CLUSTER && b.resourceName !== CLUSTER_RESOURCE_NAME) {
    return `The cluster resource is named ${CLUSTER_RESOURCE_NAME}`;
  }
  return null;
}

/**
 * True when `filter` matches `b` (Kafka's AclBindingFilter.matches): ANY codes and null strings
 * match everything; pattern MATCH matches the literal name, the wildcard and prefixes of it.
 *
 * @example
 * ```ts
 * import { matchesFilter } from "./acl.ts";
 * matchesFilter({ resourceType: 1, resourceName: null, patternType: 1, principal: null,
 *   host: null, operation: 1, permissionType: 1 },
 *   { resourceType: 2, resourceName: "t", patternType: 3, principal: "User:a", host: "*",
 *     operation: 3, permissionType: 3 }); // true
 * ```
 */
export function matchesFilter(filter: AclFilter, b: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== b.resourceType) {
    return false;
  }
  if (filter.patternType === PatternType.MATCH) {
    if (filter.resourceName !== null && !patternMatches(b, filter.resourceName)) return false;
  } else {
    if (filter.patternType !== PatternType.ANY && filter.patternType !== b.patternType) {
      return false;
    }
    if (filter.resourceName !== null && filter.resourceName !== b.resourceName) return false;
  }
  if (filter.principal !== null && filter.principal !== b.principal) return false;
  if (filter.host !== null && filter.host !== b.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== b.operation) return false;
  if (filter.permissionType !== Permission.ANY && filter.permissionType !== b.permissionType) {
    return false;
  }
  return true;
}

/** True when the ACL's resource pattern covers the resource `name` of its type. */
function patternMatches(b: AclBinding, name: string): boolean {
  if (b.patternType === PatternType.PREFIXED) return name.startsWith(b.resourceName);
  return b.resourceName === WILDCARD || b.resourceName === name;
}

/** How {@link StandardAuthorizer} decides when no ACL decides. */
export interface AuthorizerConfig {
  /** `super.users`: principals allowed everything. */
  superUsers: readonly string[];
  /** `allow.everyone.if.no.acl.found`. */
  allowEveryoneIfNoAclFound: boolean;
}

/** Kafka's `super.users` value (semicolon-separated principals) as a list. */
export function parseSuperUsers(text: string | null): string[] {
  return (text ?? "").split(";").map((s) => s.trim()).filter((s) => s !== "");
}

/** Operations an ALLOW of the key implies (Kafka's AclEntry implied operations). */
const IMPLIED_BY: ReadonlyMap<number, readonly number[]> = new Map([
  [AclOperation.DESCRIBE, [
    AclOperation.READ,
    AclOperation.WRITE,
    AclOperation.DELETE,
    AclOperation.ALTER,
  ]],
  [AclOperation.DESCRIBE_CONFIGS, [AclOperation.ALTER_CONFIGS]],
]);

/**
 * Kafka's StandardAuthorizer over a set of ACLs (the metadata image's). An ACL matches a request
 * when its resource pattern covers the resource, its principal is the request's or `User:*`, its
 * host is the request's or `*`, and its operation is the requested one or ALL (for ALLOW, also an
 * operation that implies it). Any matching DENY refuses; else any matching ALLOW allows; else the
 * resource is allowed only when no ACL at all covers it and `allow.everyone.if.no.acl.found` is on.
 */
export class StandardAuthorizer {
  readonly #config: AuthorizerConfig;
  #byType = new Map<number, AclBinding[]>();
  #acls: readonly AclBinding[] = [];

  constructor(config: AuthorizerConfig) {
    this.#config = config;
  }

  /** Replaces the ACLs (from the metadata image, whenever it changes). */
  setAcls(acls: Iterable<AclBinding>): void {
    const byType = new Map<number, AclBinding[]>();
    const all: AclBinding[] = [];
    for (const a of acls) {
      all.push(a);
      let list = byType.get(a.resourceType);
      if (list === undefined) byType.set(a.resourceType, list = []);
      list.push(a);
    }
    this.#byType = byType;
    this.#acls = all;
  }

  /** Every ACL, in no particular order. */
  acls(): readonly AclBinding[] {
    return this.#acls;
  }

  isSuperUser(principal: string): boolean {
    return this.#config.superUsers.includes(principal);
  }

  /** Whether `principal` connecting from `host` may perform `operation` on the resource. */
  authorize(
    principal: string,
    host: string,
    operation: number,
    resourceType: number,
    resourceName: string,
  ): boolean {
    if (this.isSuperUser(principal)) return true;
    let covered = false;
    let allowed = false;
    for (const acl of this.#byType.get(resourceType) ?? []) {
      if (!patternMatches(acl, resourceName)) continue;
      covered = true;
      if (acl.principal !== principal && acl.principal !== "User:*") continue;
      if (acl.host !== host && acl.host !== WILDCARD) continue;
      if (acl.permissionType === Permission.DENY) {
        if (acl.operation === operation || acl.operation === AclOperation.ALL) return false;
        continue;
      }
      if (
        acl.operation === operation || acl.operation === AclOperation.ALL ||
        (IMPLIED_BY.get(operation)?.includes(acl.operation) ?? false)
      ) {
        allowed = true;
      }
    }
    if (allowed) return true;
    return !covered && this.#config.allowEveryoneIfNoAclFound;
  }

  /**
   * Whether `principal` may perform `operation` on some resource of the type (Kafka's
   * authorizeByResourceType, used for IDEMPOTENT_WRITE's "WRITE on any topic"): an ALLOW that
   * matches it and is not cancelled by a DENY of the same or a covering pattern.
   */
  authorizeAny(principal: string, host: string, operation: number, resourceType: number): boolean {
    if (this.isSuperUser(principal)) return true;
    const list = this.#byType.get(resourceType) ?? [];
    const applies = (acl: AclBinding, permission: number) =>
      acl.permissionType === permission &&
      (acl.principal === principal || acl.principal === "User:*") &&
      (acl.host === host || acl.host === WILDCARD) &&
      (acl.operation === operation || acl.operation === AclOperation.ALL);
    const denies = list.filter((a) => applies(a, Permission.DENY));
    if (denies.some((d) => d.patternType === PatternType.LITERAL && d.resourceName === WILDCARD)) {
      return false;
    }
    for (const allow of list.filter((a) => applies(a, Permission.ALLOW))) {
      const cancelled = denies.some((d) =>
        d.patternType === PatternType.PREFIXED
          ? allow.resourceName.startsWith(d.resourceName)
          : d.patternType === allow.patternType && d.resourceName === allow.resourceName
      );
      if (!cancelled) return true;
    }
    return list.length === 0 && this.#config.allowEveryoneIfNoAclFound;
  }

  /**
   * The operations of `ops` the principal may perform on the resource, as the bit field
   * Metadata and DescribeCluster answer (`authorizedOperations`, bit = operation code).
   */
  authorizedOperations(
    principal: string,
    host: string,
    resourceType: number,
    resourceName: string,
  ): number {
    let bits = 0;
    for (const op of RESOURCE_OPERATIONS[resourceType] ?? []) {
      if (this.authorize(principal, host, op, resourceType, resourceName)) bits |= 1 << op;
    }
    return bits;
  }
}
