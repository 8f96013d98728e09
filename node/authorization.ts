/**
 * The node's authorizer: Kafka's StandardAuthorizer over the ACLs of the metadata image this node
 * has applied, rebuilt whenever the image's ACLs change, when `authorizer.class.name` names it.
 *
 * @example
 * ```ts ignore
 * const view = authorizationFor(config, metadata);
 * if (view !== null) dispatcher.setGuard(authorizationGuard(view));
 * ```
 *
 * @module
 */

import type { ServerConfig } from "../core/config/server_config.ts";
import type { MetadataImage } from "../core/metadata/image.ts";
import { StandardAuthorizer } from "../core/security/acl.ts";
import type { AuthorizationView } from "../net/handlers/authorization.ts";

/** The authorization view of a node, or null when no authorizer is configured. */
export function authorizationFor(
  config: Pick<ServerConfig, "authorizerClassName" | "superUsers" | "allowEveryoneIfNoAclFound">,
  metadata: { readonly image: MetadataImage },
): AuthorizationView | null {
  if (config.authorizerClassName === "") return null;
  const authorizer = new StandardAuthorizer({
    superUsers: config.superUsers,
    allowEveryoneIfNoAclFound: config.allowEveryoneIfNoAclFound,
  });
  let applied: ReadonlyMap<string, unknown> | null = null;
  return {
    get authorizer() {
      const acls = metadata.image.acls;
      // The image keeps the same map until an ACL record changes it.
      if (acls !== applied) {
        authorizer.setAcls(acls.values());
        applied = acls;
      }
      return authorizer;
    },
    topicNameById: (topicId) => metadata.image.topics.byId.get(topicId)?.name,
  };
}
