package compat

import "github.com/hamba/avro/v2"

// Check reports why next may not follow previous (oldest first) in a subject
// whose compatibility level is level, with Confluent Schema Registry's
// semantics:
//
//   - BACKWARD: next reads data written with the latest previous schema;
//   - FORWARD: the latest previous schema reads data written with next;
//   - FULL: both;
//   - *_TRANSITIVE: the same against every previous schema;
//   - NONE: always compatible.
//
// Like Confluent, previous schemas are visited latest first and every
// problem is returned; for FULL levels the backward problems of a version
// come before its forward ones. Each Incompatibility has Version (1-based
// position in previous) and Direction set. An empty previous is compatible.
// An unknown level is treated as BACKWARD; validate with ParseLevel first.
func Check(level Level, previous []avro.Schema, next avro.Schema) []Incompatibility {
	if level == None || len(previous) == 0 {
		return nil
	}
	if !level.backward() && !level.forward() {
		level = Backward
	}
	first := 0
	if !level.Transitive() {
		first = len(previous) - 1
	}
	var res []Incompatibility
	for v := len(previous) - 1; v >= first; v-- {
		if level.backward() {
			res = appendFrom(res, ReaderWriter(next, previous[v]), v+1, DirBackward)
		}
		if level.forward() {
			res = appendFrom(res, ReaderWriter(previous[v], next), v+1, DirForward)
		}
	}
	return res
}

func appendFrom(dst, src []Incompatibility, version int, dir string) []Incompatibility {
	for _, i := range src {
		i.Version, i.Direction = version, dir
		dst = append(dst, i)
	}
	return dst
}
