package evolve

import "time"

// time0 is the zero instant of scaffolded golden payloads (the Unix epoch:
// a timestamp field's zero in Avro).
var time0 = time.Unix(0, 0).UTC()
