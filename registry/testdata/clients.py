"""Drives Strata's schema registry with Python confluent-kafka's SchemaRegistryClient
and its AvroSerializer/AvroDeserializer, a client no one on the project wrote.

Usage: python clients.py URL SUBJECT_PREFIX
Prints one line per check; exits 1 on the first failure.
Run by registry/clients_test.go (TestPythonClient).
"""
import sys

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient, record_subject_name_strategy
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

url, prefix = sys.argv[1], sys.argv[2]
client = SchemaRegistryClient({"url": url})

name = prefix + "Placed"
subject = "py." + name  # RecordNameStrategy: the record's full name
v1 = '{"type":"record","name":"%s","namespace":"py","fields":[{"name":"id","type":"string"}]}' % name
v2 = ('{"type":"record","name":"%s","namespace":"py","fields":[{"name":"id","type":"string"},'
      '{"name":"amount","type":"long","default":0}]}' % name)
bad = ('{"type":"record","name":"%s","namespace":"py","fields":[{"name":"id","type":"int"},'
       '{"name":"amount","type":"long","default":0}]}' % name)


def check(cond, what):
    if not cond:
        print("FAIL", what)
        sys.exit(1)
    print("ok", what)


id1 = client.register_schema(subject, Schema(v1, "AVRO"))
check(id1 > 0, "register v1 -> id %d" % id1)
check(SchemaRegistryClient({"url": url}).register_schema(subject, Schema(v1, "AVRO")) == id1,
      "registering v1 again (fresh client, no cache) returns the same id")
id2 = client.register_schema(subject, Schema(v2, "AVRO"))
check(id2 != id1, "register compatible v2 -> id %d" % id2)

fresh = SchemaRegistryClient({"url": url})
check(fresh.get_schema(id1).schema_str == v1, "get_schema(id1)")
latest = fresh.get_latest_version(subject)
check(latest.schema_id == id2 and latest.version == 2 and latest.subject == subject, "get_latest_version")
check(fresh.get_version(subject, 1).schema_id == id1, "get_version(1)")
check(fresh.get_versions(subject) == [1, 2], "get_versions")
check(subject in fresh.get_subjects(), "get_subjects")
found = fresh.lookup_schema(subject, Schema(v1, "AVRO"))
check(found.schema_id == id1 and found.version == 1, "lookup_schema(v1)")

check(fresh.test_compatibility(subject, Schema(v1, "AVRO")) is True, "test_compatibility(v1) is True")
check(fresh.test_compatibility(subject, Schema(bad, "AVRO")) is False, "test_compatibility(bad) is False")
check(fresh.test_compatibility_all_versions(subject, Schema(bad, "AVRO")) is False,
      "test_compatibility_all_versions(bad) is False")
try:
    fresh.register_schema(subject, Schema(bad, "AVRO"))
    check(False, "registering an incompatible schema raises")
except SchemaRegistryError as e:
    check(e.http_status_code == 409 and e.error_code == 409 and "TYPE_MISMATCH" in e.error_message,
          "incompatible schema refused: %s %s" % (e.http_status_code, e.error_code))

check(fresh.set_compatibility(subject, "FULL")["compatibility"] == "FULL", "set_compatibility(FULL)")
check(fresh.get_compatibility(subject) == "FULL", "get_compatibility")
check(fresh.get_compatibility() == "BACKWARD", "global compatibility")
try:
    fresh.get_version(subject, 42)
    check(False, "missing version raises")
except SchemaRegistryError as e:
    check(e.http_status_code == 404 and e.error_code == 40402, "missing version: 40402")

# the serde path: serialize with auto-registration under RecordNameStrategy,
# deserialize by the id in the Confluent wire format
ser = AvroSerializer(client, v2, conf={"subject.name.strategy": record_subject_name_strategy})
de = AvroDeserializer(SchemaRegistryClient({"url": url}))
ctx = SerializationContext("events.py", MessageField.VALUE)
data = ser({"id": "o-1", "amount": 1250}, ctx)
check(data[0] == 0 and int.from_bytes(data[1:5], "big") == id2, "AvroSerializer wrote magic byte and id %d" % id2)
check(de(data, ctx) == {"id": "o-1", "amount": 1250}, "AvroDeserializer read it back")

check(fresh.delete_subject(subject) == [1, 2], "delete_subject")
check(fresh.delete_subject(subject, permanent=True) == [1, 2], "delete_subject(permanent=True)")
print("python client: all checks passed")
