// Package bench measures Foothold's ingest speed and memory against
// independent tools in the same run: The Sleuth Kit's fls on a large NTFS
// image, and a plain SQLite insert loop on this machine for the events
// table. Everything lives in Benchmark functions, so `go test ./...` runs
// none of it; bench/run.sh runs them and prints a table. README.md says
// what each number means and what was last observed.
package bench
