"""Produces COUNT values `<PREFIX><i>` round-robin over PARTITIONS partitions of TOPIC.

Usage: seed.py BOOTSTRAP TOPIC PARTITIONS COUNT PREFIX [create]
With `create` the topic is created first.
"""
import sys

from common import create_topic, produce_values

bootstrap, topic = sys.argv[1], sys.argv[2]
partitions, count, prefix = int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
if sys.argv[6:] == ["create"]:
    create_topic(bootstrap, topic, partitions)
produce_values(bootstrap, topic, [f"{prefix}{i}" for i in range(count)],
               partition_of=lambda i: i % partitions)
