// Package cli implements sov's command line: it parses flags, calls the
// service layer (vault, …) and renders results as tables or JSON.
//
// It holds no domain logic. One file per command group; JSON output fields
// are part of sov's stable interface and are documented in docs/cli.md.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/config"
	"sov.dev/sov/internal/vault"
)

// Env is the process environment the CLI runs in.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed, or found a problem (verify)
	ExitUsage = 2 // bad flags or arguments
)

// app holds the subsystems commands use; they are opened on first use so
// that `sov help` touches nothing.
type app struct {
	env   Env
	cfg   *config.Config
	log   *slog.Logger
	vault *vault.Vault
}

func (a *app) openVault(ctx context.Context) (*vault.Vault, error) {
	if a.vault != nil {
		return a.vault, nil
	}
	v, err := vault.Open(ctx, a.cfg.Home, vault.Options{Logger: a.log})
	if err != nil {
		return nil, err
	}
	a.vault = v
	return v, nil
}

func (a *app) close() {
	if a.vault != nil {
		a.vault.Close()
	}
}

// exitError carries an exit code without a message (the command already
// printed what went wrong).
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError marks errors in how the command was called.
type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// Main runs sov with args and returns the process exit code.
func Main(ctx context.Context, args []string, env Env) int {
	cfg, err := config.Load(env.Getenv)
	if err != nil {
		fmt.Fprintln(env.Stderr, "sov:", err)
		return ExitError
	}
	a := &app{
		env: env,
		cfg: cfg,
		log: slog.New(slog.NewTextHandler(env.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	defer a.close()

	root := &cobra.Command{
		Use:   "sov",
		Short: "Hold, check, run and serve open-weight AI models on your own hardware",
		Long: `sov keeps open-weight models in a content-addressed vault under SOV_HOME
(default ~/.sov), knows what every file is, and can prove at any time that
nothing changed. It works offline; only pull touches the network.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetArgs(args)
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{err} })
	root.AddCommand(a.modelCommand(), a.gcCommand(), a.runCommand(), a.benchCommand(), a.serveCommand(), a.keysCommand(), a.auditCommand(), a.policyCommand(), a.devCommand())

	err = root.ExecuteContext(ctx)
	var ee *exitError
	var ue *usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue):
		fmt.Fprintln(env.Stderr, "sov:", err)
		return ExitUsage
	case isUnknownCommand(err):
		fmt.Fprintln(env.Stderr, "sov:", err)
		return ExitUsage
	default:
		fmt.Fprintln(env.Stderr, "sov:", err)
		return ExitError
	}
}

func isUnknownCommand(err error) bool {
	return strings.HasPrefix(err.Error(), "unknown command ")
}

// exactArgs is cobra.ExactArgs with a usage error.
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return &usageError{fmt.Errorf("%s takes %d argument(s), got %d (see --help)", cmd.CommandPath(), n, len(args))}
		}
		return nil
	}
}
