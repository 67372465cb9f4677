"""Consume a topic with confluent-kafka's own AvroDeserializer and
SchemaRegistryClient and print one JSON line per message:
{"key", "partition", "offset", "event_id", "event_type", "schema_id", "value"}.

usage: avro_consume.py BROKERS REGISTRY_URL TOPIC COUNT TIMEOUT_SECONDS
"""
import json
import os
import struct
import sys
import time
import uuid

from confluent_kafka import Consumer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer
from confluent_kafka.serialization import MessageField, SerializationContext


def main():
    brokers, registry, topic, count, timeout = sys.argv[1:6]
    count, deadline = int(count), time.time() + float(timeout)
    conf = {"url": registry}
    # Credentials as every Strata component takes them (package registry/client).
    if os.environ.get("SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"):
        conf["basic.auth.user.info"] = os.environ["SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO"]
    sr = SchemaRegistryClient(conf)
    deser = AvroDeserializer(sr)
    c = Consumer({
        "bootstrap.servers": brokers,
        "group.id": "py-" + uuid.uuid4().hex,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    })
    c.subscribe([topic])
    seen = 0
    try:
        while seen < count and time.time() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                print(json.dumps({"error": str(m.error())}), file=sys.stderr)
                continue
            value = deser(m.value(), SerializationContext(topic, MessageField.VALUE))
            headers = {k: v.decode() for k, v in (m.headers() or [])}
            print(json.dumps({
                "key": m.key().decode(),
                "partition": m.partition(),
                "offset": m.offset(),
                "event_id": headers.get("event-id"),
                "event_type": headers.get("event-type"),
                "schema_id": struct.unpack(">I", m.value()[1:5])[0],
                "value": value,
            }, default=str), flush=True)
            seen += 1
    finally:
        c.close()
    if seen < count:
        print(f"only {seen} of {count} messages before the timeout", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
