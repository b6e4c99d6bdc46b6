// Package berth is a pure-Go SDK for building container tooling.
package berth
