// Package adapters holds the projector's PostgreSQL code: the projections
// (order_summaries, daily_sales) that the projection runner applies events
// to, and ReadModel, the queries the query API answers from.
package adapters
