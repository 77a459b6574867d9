// Command sov holds, checks, runs and serves open-weight AI models on the
// owner's own hardware. See the README and `sov help`.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"sov.dev/sov/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{
		Stdin:  os.Stdin,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		Getenv: os.Getenv,
	})
	stop()
	os.Exit(code)
}
