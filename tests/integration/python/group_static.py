"""Static membership: a member that restarts within session.timeout.ms causes no rebalance.

Usage: group_static.py BOOTSTRAP TOPIC GROUP
Stdout: JSON with the assignments before and after, and the other member's callbacks after the
restart (the test asserts there were none).
"""
import json
import sys

from common import create_topic, group_consumer, parts, poll_until

bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
create_topic(bootstrap, topic, 4)
events = []


def static_member(instance):
    return group_consumer(bootstrap, group, **{
        "group.instance.id": instance,
        "session.timeout.ms": 10000,
    })


def two_each(a, b):
    return lambda: len(a.assignment()) == 2 and len(b.assignment()) == 2


c1 = static_member("static-1")
c2 = static_member("static-2")
c1.subscribe([topic])
c2.subscribe(
    [topic],
    on_assign=lambda _c, ps: events.append(["assign", parts(ps)]),
    on_revoke=lambda _c, ps: events.append(["revoke", parts(ps)]),
)
stable = poll_until([c1, c2], two_each(c1, c2), 30)
# Let the group settle: no callbacks for a while before the restart.
poll_until([c1, c2], lambda: False, 1.5)
before = {"c1": parts(c1.assignment()), "c2": parts(c2.assignment())}
events_before = len(events)
c1.close()  # a static member leaves without LeaveGroup
c1 = static_member("static-1")
c1.subscribe([topic])
rejoined = poll_until([c1, c2], lambda: len(c1.assignment()) == 2, 8)
poll_until([c1, c2], lambda: False, 2)  # a rebalance would show up on c2 by now
result = {
    "stable": stable,
    "rejoined": rejoined,
    "before": before,
    "after": {"c1": parts(c1.assignment()), "c2": parts(c2.assignment())},
    "c2_events_after_restart": events[events_before:],
}
c1.close()
c2.close()
print(json.dumps(result))
