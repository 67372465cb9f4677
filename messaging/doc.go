// Package messaging moves Strata's events between the event store and Kafka
// and applies them on the read side exactly once in effect.
//
// # Relay (the events table is the outbox)
//
// A Relay tails the store's commit-ordered global log (Log; NewStoreLog adapts
// *eventstore.Store) and produces every event, in order, with an idempotent
// confluent-kafka-go producer (acks=all) to the topic RelayConfig.Route picks
// (DefaultRoute: events.<stream type>), keyed by stream id, the value in the
// Confluent wire format (magic byte 0, 4-byte registry schema id, the stored
// Avro body) and the headers listed in headers.go. The schema id comes from
// the registry through srclient (built by registry/client, credentials and TLS
// from the environment): subject = the Avro full name
// (RecordNameStrategy), the writer schema from the store's schemas table,
// registered if missing, cached by fingerprint. The checkpoint is written to
// PostgreSQL only after delivery reports confirm a contiguous prefix, so
// delivery is at least once; duplicates after a crash are bounded by
// MaxInFlight. A session advisory lock (the lease) lets several instances run:
// one relays, the others wait and take over.
//
//	r, err := messaging.NewRelay(messaging.RelayConfig{
//		Log: messaging.NewStoreLog(store), DB: pool,
//		Registry: reg, // client.NewFromEnv("") of package registry/client
//		Kafka:    messaging.KafkaConfig{"bootstrap.servers": brokers},
//	})
//	err = r.Run(ctx) // until ctx is done
//
// # Consumer runtime
//
// A Consumer reads a consumer group's topics, parses the wire format, fetches
// the writer schema by id (cached), brings the payload to the current Go type
// with a Decoder (package upcasters, or NewResolvingDecoder) and calls the
// handler registered for the Avro full name with a pgx.Tx. The handler's
// writes and a processed-event marker (group, event id) commit together; a
// duplicate is skipped; the Kafka offset is committed afterwards.
//
//	router := messaging.NewRouter(types) // *serde.Registry
//	messaging.Handle(router, func(ctx context.Context, tx pgx.Tx, msg messaging.Envelope, ev *order.OrderPlaced) error {
//		_, err := tx.Exec(ctx, `INSERT INTO order_summaries ...`, ev.OrderID)
//		return err
//	})
//	c, err := messaging.NewConsumer(messaging.ConsumerConfig{
//		Group: "projector", Topics: []string{"events.order"},
//		Kafka: kafkaCfg, DB: pool, Registry: reg, Decoder: decoder, Router: router,
//	})
//	err = c.Run(ctx)
//
// A failing handler is retried with backoff; its key is parked (with the
// key's later messages) while other keys of the partition go on. After
// MaxAttempts, or at once for a Permanent error and for messages that cannot
// be decoded, the message goes to <topic>.dlq with the reason in headers.
// See docs/messaging.md for the guarantees and their trade-offs, and
// `strata relay` and `strata dlq` for the operations side.
package messaging
