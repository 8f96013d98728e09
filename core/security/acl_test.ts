import { strict as assert } from "node:assert";
import {
  type AclBinding,
  AclOperation as Op,
  invalidAcl,
  matchesFilter,
  PatternType,
  Permission,
  ResourceType as RT,
  StandardAuthorizer,
} from "./acl.ts";

function acl(init: Partial<AclBinding>): AclBinding {
  return {
    resourceType: RT.TOPIC,
    resourceName: "orders",
    patternType: PatternType.LITERAL,
    principal: "User:alice",
    host: "*",
    operation: Op.READ,
    permissionType: Permission.ALLOW,
    ...init,
  };
}

function authorizer(acls: AclBinding[], allowEveryone = false, superUsers: string[] = []) {
  const a = new StandardAuthorizer({ superUsers, allowEveryoneIfNoAclFound: allowEveryone });
  a.setAcls(acls);
  return a;
}

Deno.test("an ALLOW lets its principal in, from any host with *, and nobody else", () => {
  const a = authorizer([acl({})]);
  assert.ok(a.authorize("User:alice", "10.0.0.1", Op.READ, RT.TOPIC, "orders"));
  assert.ok(!a.authorize("User:bob", "10.0.0.1", Op.READ, RT.TOPIC, "orders"));
  assert.ok(!a.authorize("User:alice", "10.0.0.1", Op.WRITE, RT.TOPIC, "orders"));
  assert.ok(!a.authorize("User:alice", "10.0.0.1", Op.READ, RT.TOPIC, "other"));
});

Deno.test("READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS", () => {
  for (const op of [Op.READ, Op.WRITE, Op.DELETE, Op.ALTER]) {
    assert.ok(
      authorizer([acl({ operation: op })]).authorize(
        "User:alice",
        "h",
        Op.DESCRIBE,
        RT.TOPIC,
        "orders",
      ),
    );
  }
  const a = authorizer([acl({ operation: Op.ALTER_CONFIGS })]);
  assert.ok(a.authorize("User:alice", "h", Op.DESCRIBE_CONFIGS, RT.TOPIC, "orders"));
  assert.ok(!a.authorize("User:alice", "h", Op.ALTER, RT.TOPIC, "orders"));
  // A DENY implies nothing beyond itself.
  const d = authorizer([
    acl({ operation: Op.ALL }),
    acl({ operation: Op.READ, permissionType: Permission.DENY }),
  ]);
  assert.ok(d.authorize("User:alice", "h", Op.DESCRIBE, RT.TOPIC, "orders"));
  assert.ok(!d.authorize("User:alice", "h", Op.READ, RT.TOPIC, "orders"));
});

Deno.test("DENY wins over ALLOW, also through a wildcard or a prefix", () => {
  const a = authorizer([
    acl({ operation: Op.ALL }),
    acl({
      resourceName: "*",
      principal: "User:*",
      operation: Op.WRITE,
      permissionType: Permission.DENY,
    }),
    acl({
      resourceName: "ord",
      patternType: PatternType.PREFIXED,
      host: "10.0.0.9",
      permissionType: Permission.DENY,
    }),
  ]);
  assert.ok(!a.authorize("User:alice", "h", Op.WRITE, RT.TOPIC, "orders"));
  assert.ok(a.authorize("User:alice", "h", Op.READ, RT.TOPIC, "orders"));
  assert.ok(!a.authorize("User:alice", "10.0.0.9", Op.READ, RT.TOPIC, "orders"));
});

Deno.test("allow.everyone.if.no.acl.found applies only to resources no ACL names", () => {
  const a = authorizer([acl({})], true);
  assert.ok(a.authorize("User:bob", "h", Op.WRITE, RT.TOPIC, "free"));
  assert.ok(!a.authorize("User:bob", "h", Op.READ, RT.TOPIC, "orders"), "orders has an ACL");
  assert.ok(!authorizer([acl({})], false).authorize("User:bob", "h", Op.WRITE, RT.TOPIC, "free"));
});

Deno.test("super users may do everything, even when denied", () => {
  const a = authorizer(
    [acl({ principal: "User:admin", operation: Op.ALL, permissionType: Permission.DENY })],
    false,
    [
      "User:admin",
    ],
  );
  assert.ok(a.authorize("User:admin", "h", Op.DELETE, RT.TOPIC, "orders"));
  assert.ok(a.authorize("User:admin", "h", Op.CLUSTER_ACTION, RT.CLUSTER, "kafka-cluster"));
});

Deno.test("WRITE on any topic (idempotent producers) sees allows not cancelled by a deny", () => {
  assert.ok(
    authorizer([acl({ operation: Op.WRITE })]).authorizeAny("User:alice", "h", Op.WRITE, RT.TOPIC),
  );
  assert.ok(!authorizer([acl({})]).authorizeAny("User:alice", "h", Op.WRITE, RT.TOPIC));
  assert.ok(
    !authorizer([
      acl({ operation: Op.WRITE }),
      acl({ resourceName: "*", operation: Op.WRITE, permissionType: Permission.DENY }),
    ]).authorizeAny("User:alice", "h", Op.WRITE, RT.TOPIC),
  );
});

Deno.test("authorized operations are reported as Kafka's bit field", () => {
  const bits = authorizer([acl({ operation: Op.READ })]).authorizedOperations(
    "User:alice",
    "h",
    RT.TOPIC,
    "orders",
  );
  assert.equal(bits, (1 << Op.READ) | (1 << Op.DESCRIBE));
});

Deno.test("filters match as Kafka's AclBindingFilter, MATCH covering prefixes and wildcards", () => {
  const any = {
    resourceType: RT.ANY,
    resourceName: null,
    patternType: PatternType.ANY,
    principal: null,
    host: null,
    operation: Op.ANY,
    permissionType: Permission.ANY,
  };
  const prefixed = acl({ resourceName: "ord", patternType: PatternType.PREFIXED });
  assert.ok(matchesFilter(any, prefixed));
  assert.ok(
    matchesFilter({ ...any, resourceName: "orders", patternType: PatternType.MATCH }, prefixed),
  );
  assert.ok(
    !matchesFilter({ ...any, resourceName: "orders", patternType: PatternType.LITERAL }, prefixed),
  );
  assert.ok(!matchesFilter({ ...any, principal: "User:bob" }, prefixed));
});

Deno.test("ACLs Kafka would refuse are invalid, with the reason", () => {
  assert.equal(invalidAcl(acl({})), null);
  assert.match(invalidAcl(acl({ principal: "alice" }))!, /principal/);
  assert.match(invalidAcl(acl({ operation: Op.CLUSTER_ACTION }))!, /does not apply to TOPIC/);
  assert.match(invalidAcl(acl({ patternType: PatternType.MATCH }))!, /LITERAL or PREFIXED/);
  assert.match(
    invalidAcl(acl({ resourceType: RT.CLUSTER, resourceName: "c", operation: Op.ALTER }))!,
    /kafka-cluster/,
  );
  assert.match(
    invalidAcl(acl({ resourceName: "*", patternType: PatternType.PREFIXED }))!,
    /wildcard/,
  );
});
