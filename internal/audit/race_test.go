//go:build race

package audit

// raceEnabled is set when tests run with -race, which makes SQLite (and
// everything else) several times slower.
const raceEnabled = true
