// Package synth writes valid synthetic model files (GGUF, safetensors) of
// any shape with deterministic pseudo-random content, for tests and
// benchmarks: the same spec and seed always give the same bytes, and a
// tensor's content depends only on the seed and its name.
//
// The files are structurally valid (they parse, and quantised blocks have
// finite scales) but their weights are noise: nothing here may be used to
// produce or stand in for a real model, and the package must not read,
// download or embed real weights.
package synth
