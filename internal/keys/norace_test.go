//go:build !race

package keys

// RaceEnabled is true under the race detector, which makes sync.Pool drop
// items at random: allocation counts mean nothing then.
const RaceEnabled = false
