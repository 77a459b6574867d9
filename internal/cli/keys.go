package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/user"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"sov.dev/sov/internal/audit"
	"sov.dev/sov/internal/gateway"
	"sov.dev/sov/internal/keys"
	keysqlite "sov.dev/sov/internal/keys/sqlite"
)

// keyFlags are sov keys create's options.
type keyFlags struct {
	name, tenant, window  string
	models, jurisdictions []string
	rpm, tpm, conc        int
	budget                int64
	admin, asJSON         bool
}

func (a *app) keysCommand() *cobra.Command {
	var server string
	cmd := &cobra.Command{
		Use:   "keys",
		Short: "Create, list and revoke the API keys sov serve accepts",
		Long: `keys manages API keys. Secrets are shown once, at creation, and stored only as
HMAC-SHA256 with this server's secret. When a sov serve for this SOV_HOME is
running (or --server names one), changes go through its admin API with the admin
key (SOV_ADMIN_KEY, or SOV_HOME/admin.key), so they take effect at once;
otherwise the key database is changed directly.`,
	}
	cmd.PersistentFlags().StringVar(&server, "server", "", "admin API of a running sov serve (default: the one for this SOV_HOME, if running)")

	var f keyFlags
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a key and print its secret (shown only this once)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.keysCreate(cmd.Context(), server, f)
		},
	}
	fl := create.Flags()
	fl.StringVar(&f.name, "name", "", "the key's name (unique; lower-case letters, digits, - _ .)")
	fl.StringVar(&f.tenant, "tenant", "", "the tenant it belongs to (default \"default\")")
	fl.StringSliceVar(&f.models, "models", nil, "models it may use, comma-separated (default: all)")
	fl.IntVar(&f.rpm, "rpm", 0, "requests per minute (0: unlimited)")
	fl.IntVar(&f.tpm, "tpm", 0, "tokens per minute (0: unlimited)")
	fl.IntVar(&f.conc, "max-concurrency", 0, "requests in flight at once (0: unlimited)")
	fl.Int64Var(&f.budget, "token-budget", 0, "tokens per budget window (needs --budget-window)")
	fl.StringVar(&f.window, "budget-window", "", "budget window: 1h, 1d, 30d or a duration ≥ 1m")
	fl.StringSliceVar(&f.jurisdictions, "jurisdictions", nil, "jurisdictions its requests may be served in, e.g. eu,ch (default: any)")
	fl.BoolVar(&f.admin, "admin", false, "an admin key (admin API only, no inference)")
	fl.BoolVar(&f.asJSON, "json", false, "print JSON (the secret is in the field \"key\")")
	create.MarkFlagRequired("name")

	var listJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List keys (never their secrets)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.keysList(cmd.Context(), server, listJSON)
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print JSON")

	var revokeJSON bool
	revoke := &cobra.Command{
		Use:   "revoke NAME|ID",
		Short: "Revoke a key; it stops working at once",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.keysRevoke(cmd.Context(), server, args[0], revokeJSON)
		},
	}
	revoke.Flags().BoolVar(&revokeJSON, "json", false, "print JSON")
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// keyService is what the keys commands need, served either by a running
// server's admin API or by the local database.
type keyService interface {
	create(ctx context.Context, o gateway.CreateKeyRequest) (keys.Key, string, error)
	list(ctx context.Context) ([]keys.Key, error)
	revoke(ctx context.Context, nameOrID string) (keys.Key, error)
	close()
}

func (a *app) keysCreate(ctx context.Context, server string, f keyFlags) error {
	svc, err := a.keyService(ctx, server)
	if err != nil {
		return err
	}
	defer svc.close()
	k, secret, err := svc.create(ctx, gateway.CreateKeyRequest{
		Name: f.name, Tenant: f.tenant, Models: f.models, RPM: f.rpm, TPM: f.tpm, MaxConcurrency: f.conc,
		TokenBudget: f.budget, BudgetWindow: f.window, Jurisdictions: f.jurisdictions, Admin: f.admin,
	})
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(a.env.Stdout, gateway.CreateKeyResponse{Key: k, Secret: secret})
	}
	fmt.Fprintf(a.env.Stdout, "%s\n", secret)
	fmt.Fprintf(a.env.Stderr, "created %s key %s (%s); the secret above is shown only now\n", k.Kind(), k.Name, k.ID)
	return nil
}

func (a *app) keysList(ctx context.Context, server string, asJSON bool) error {
	svc, err := a.keyService(ctx, server)
	if err != nil {
		return err
	}
	defer svc.close()
	ks, err := svc.list(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		if ks == nil {
			ks = []keys.Key{}
		}
		return writeJSON(a.env.Stdout, ks)
	}
	tw := newTable(a.env.Stdout, "ID", "NAME", "KIND", "TENANT", "PREFIX", "MODELS", "LIMITS", "JURISDICTIONS", "CREATED", "STATUS")
	for _, k := range ks {
		status := "active"
		if k.Revoked != nil {
			status = "revoked " + k.Revoked.Local().Format(time.DateTime)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Name, k.Kind(), k.Tenant, k.Prefix+"…",
			orDash(strings.Join(k.Models, ",")), limitsText(k), orDash(strings.Join(k.Jurisdictions, ",")),
			k.Created.Local().Format(time.DateTime), status)
	}
	return tw.Flush()
}

func limitsText(k keys.Key) string {
	var p []string
	if k.RPM > 0 {
		p = append(p, fmt.Sprintf("%d rpm", k.RPM))
	}
	if k.TPM > 0 {
		p = append(p, fmt.Sprintf("%d tpm", k.TPM))
	}
	if k.MaxConcurrency > 0 {
		p = append(p, fmt.Sprintf("%d at once", k.MaxConcurrency))
	}
	if k.TokenBudget > 0 {
		p = append(p, fmt.Sprintf("%d tokens/%s", k.TokenBudget, keys.FormatWindow(k.BudgetWindow)))
	}
	return orDash(strings.Join(p, ", "))
}

func (a *app) keysRevoke(ctx context.Context, server, nameOrID string, asJSON bool) error {
	svc, err := a.keyService(ctx, server)
	if err != nil {
		return err
	}
	defer svc.close()
	k, err := svc.revoke(ctx, nameOrID)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(a.env.Stdout, k)
	}
	fmt.Fprintf(a.env.Stdout, "revoked %s (%s)\n", k.Name, k.ID)
	return nil
}

// keyService picks the admin API of a running server, or the database.
func (a *app) keyService(ctx context.Context, server string) (keyService, error) {
	if server == "" {
		server = a.cfg.Server
	}
	explicit := server != ""
	if !explicit {
		server = runningServer(a.cfg.Home)
	}
	if server != "" {
		secret := a.cfg.AdminKey
		if secret == "" {
			var err error
			if secret, err = keys.ReadAdminKey(a.cfg.Home); err != nil && explicit {
				return nil, fmt.Errorf("%w (set SOV_ADMIN_KEY to an admin key for %s)", err, server)
			}
		}
		if secret != "" {
			r := &remoteKeys{base: strings.TrimRight(server, "/"), secret: secret, client: &http.Client{Timeout: 30 * time.Second}}
			if explicit || r.reachable(ctx) {
				return r, nil
			}
		}
	}
	return a.localKeys(ctx)
}

// runningServer returns the URL of the sov serve for home, from the
// runtime file it writes, or "".
func runningServer(home string) string {
	data, err := os.ReadFile(filepath.Join(home, serveStateFile))
	if err != nil {
		return ""
	}
	var st serveState
	if json.Unmarshal(data, &st) != nil {
		return ""
	}
	return st.URL
}

// localKeys changes the key database directly (no server running).
func (a *app) localKeys(ctx context.Context) (*localKeyService, error) {
	if err := os.MkdirAll(a.cfg.Home, 0o700); err != nil {
		return nil, err
	}
	h, err := keys.LoadServerSecret(a.cfg.Home)
	if err != nil {
		return nil, err
	}
	st, err := keysqlite.Open(ctx, filepath.Join(a.cfg.Home, keysqlite.File))
	if err != nil {
		return nil, err
	}
	log, err := audit.Open(ctx, a.cfg.Home, audit.Options{Logger: a.log})
	if err != nil {
		st.Close()
		return nil, err
	}
	return &localKeyService{m: &keys.Manager{Store: st, Hasher: h}, st: st, log: log, actor: cliActor()}, nil
}

func cliActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli:uid" + fmt.Sprint(os.Getuid())
}

type localKeyService struct {
	m     *keys.Manager
	st    *keysqlite.Store
	log   *audit.Log
	actor string
}

func (l *localKeyService) create(ctx context.Context, o gateway.CreateKeyRequest) (keys.Key, string, error) {
	co := keys.CreateOptions{Name: o.Name, Tenant: o.Tenant, Models: o.Models, RPM: o.RPM, TPM: o.TPM,
		MaxConcurrency: o.MaxConcurrency, TokenBudget: o.TokenBudget, Jurisdictions: o.Jurisdictions, Admin: o.Admin}
	if o.BudgetWindow != "" {
		d, err := keys.ParseWindow(o.BudgetWindow)
		if err != nil {
			return keys.Key{}, "", &usageError{fmt.Errorf("--budget-window: %w", err)}
		}
		co.BudgetWindow = d
	}
	k, secret, err := l.m.Create(ctx, co)
	var oe *keys.OptionError
	if errors.As(err, &oe) {
		return k, "", &usageError{fmt.Errorf("--%s: %w", strings.ReplaceAll(oe.Field, "_", "-"), oe.Err)}
	}
	if err != nil {
		return k, "", err
	}
	err = l.log.Append(ctx, audit.Entry{Kind: "key.create", Actor: l.actor, Data: audit.Data{"key_id": k.ID, "name": k.Name, "tenant": k.Tenant, "kind": k.Kind(), "via": "cli"}})
	return k, secret, err
}

func (l *localKeyService) list(ctx context.Context) ([]keys.Key, error) { return l.m.List(ctx) }

func (l *localKeyService) revoke(ctx context.Context, nameOrID string) (keys.Key, error) {
	k, err := l.m.Revoke(ctx, nameOrID)
	if err != nil {
		return k, err
	}
	err = l.log.Append(ctx, audit.Entry{Kind: "key.revoke", Actor: l.actor, Data: audit.Data{"key_id": k.ID, "name": k.Name, "via": "cli"}})
	return k, err
}

func (l *localKeyService) close() {
	l.log.Close()
	l.st.Close()
}

// remoteKeys uses a server's admin API.
type remoteKeys struct {
	base, secret string
	client       *http.Client
}

func (r *remoteKeys) reachable(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/healthz", nil)
	resp, err := r.client.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (r *remoteKeys) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.secret)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", r.base, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("admin API at %s: %w", r.base, err)
	}
	if resp.StatusCode/100 != 2 {
		var eb struct {
			Error struct {
				Message string  `json:"message"`
				Param   *string `json:"param"`
			} `json:"error"`
		}
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			if resp.StatusCode == http.StatusBadRequest {
				return &usageError{errors.New(eb.Error.Message)}
			}
			return fmt.Errorf("admin API at %s: %s", r.base, eb.Error.Message)
		}
		return fmt.Errorf("admin API at %s: %s", r.base, resp.Status)
	}
	return json.Unmarshal(data, out)
}

func (r *remoteKeys) create(ctx context.Context, o gateway.CreateKeyRequest) (keys.Key, string, error) {
	var raw json.RawMessage
	if err := r.do(ctx, http.MethodPost, "/admin/v1/keys", o, &raw); err != nil {
		return keys.Key{}, "", err
	}
	var k keys.Key
	var secret struct {
		Key string `json:"key"`
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return keys.Key{}, "", err
	}
	if err := json.Unmarshal(raw, &secret); err != nil {
		return keys.Key{}, "", err
	}
	return k, secret.Key, nil
}

func (r *remoteKeys) list(ctx context.Context) ([]keys.Key, error) {
	var resp struct {
		Data []keys.Key `json:"data"`
	}
	if err := r.do(ctx, http.MethodGet, "/admin/v1/keys", nil, &resp); err != nil {
		return nil, err
	}
	return resp.Data, nil
}

func (r *remoteKeys) revoke(ctx context.Context, nameOrID string) (keys.Key, error) {
	var k keys.Key
	err := r.do(ctx, http.MethodDelete, "/admin/v1/keys/"+url.PathEscape(nameOrID), nil, &k)
	return k, err
}

func (r *remoteKeys) close() {}
