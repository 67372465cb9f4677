// Package console is Strata's operator console: a web UI served by
// `strata console` on a loopback address. It shows streams and events
// (decoded with their writer schema and upcast to today's type, with the
// causation timeline of a correlation id), consumer lag and the relay's
// position live, dead letters (decoded, replayable), sagas (filters, step
// log, retry), projections (status, lag, rebuild with live progress and ETA)
// and the schema registry's subjects with diffs between versions.
//
// It is server-rendered (html/template) with htmx and its server-sent-events
// extension, both vendored under static/; everything is in this folder and
// embedded in the binary. Every request needs the token (bearer, basic-auth
// password, or the cookie /login sets); write actions answer 403 unless
// Config.AllowWrite. Start with New(Config) and ListenAndServe.
//
// The console reuses the libraries behind the CLI: messaging.ReadDLQ and
// ReplayDLQ, saga.List/Get/Retry, projection.Runner Status and Rebuild,
// eventstore.Store and the upcasters.
package console
