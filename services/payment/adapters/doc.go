// Package adapters connects the payment service to the outside: its event
// store streams (Payments), the simulated card gateway with failure injection
// (SimulatedGateway) and the service's configuration from the environment.
package adapters
