// Package sov is the root of the sov module. The binary is cmd/sov; the
// product's packages live under internal/ (see docs/architecture.md). This
// package holds only repository-wide tests.
package sov
