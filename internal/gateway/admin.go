package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"sov.dev/sov/internal/keys"
)

// KeyAdmin manages keys for the admin API (a *keys.Manager).
type KeyAdmin interface {
	Create(ctx context.Context, o keys.CreateOptions) (keys.Key, string, error)
	List(ctx context.Context) ([]keys.Key, error)
	Revoke(ctx context.Context, nameOrID string) (keys.Key, error)
}

// adminRoutes adds the admin API: key management for admin keys only.
func (s *Server) adminRoutes(m *http.ServeMux) {
	m.Handle("GET /admin/v1/keys", s.authed(true, s.adminListKeys))
	m.Handle("POST /admin/v1/keys", s.authed(true, s.adminCreateKey))
	m.Handle("DELETE /admin/v1/keys/{key}", s.authed(true, s.adminRevokeKey))
}

// CreateKeyRequest is the body of POST /admin/v1/keys.
type CreateKeyRequest struct {
	Name           string   `json:"name"`
	Tenant         string   `json:"tenant"`
	Models         []string `json:"models"`
	RPM            int      `json:"rpm"`
	TPM            int      `json:"tpm"`
	MaxConcurrency int      `json:"max_concurrency"`
	TokenBudget    int64    `json:"token_budget"`
	BudgetWindow   string   `json:"budget_window"` // "1h", "1d", "30d"
	Jurisdictions  []string `json:"jurisdictions"`
	Admin          bool     `json:"admin"`
}

// CreateKeyResponse is the answer to POST /admin/v1/keys: the key and,
// this once, its secret.
type CreateKeyResponse struct {
	keys.Key
	Secret string `json:"key"`
}

// MarshalJSON adds the secret to the key's JSON.
func (r CreateKeyResponse) MarshalJSON() ([]byte, error) {
	kb, err := json.Marshal(r.Key)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(kb, &m); err != nil {
		return nil, err
	}
	m["key"] = r.Secret
	return json.Marshal(m)
}

func (s *Server) adminListKeys(w http.ResponseWriter, r *http.Request, _ *keys.Key) {
	ks, err := s.opts.Admin.List(r.Context())
	if err != nil {
		s.log.Error("listing keys", "err", err)
		writeError(w, r, err)
		return
	}
	if ks == nil {
		ks = []keys.Key{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": ks})
}

func (s *Server) adminCreateKey(w http.ResponseWriter, r *http.Request, admin *keys.Key) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, r, apiError(http.StatusRequestEntityTooLarge, "invalid_request_error", "request_too_large", "", "The request body is too large."))
		return
	}
	var req CreateKeyRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeError(w, r, apiError(http.StatusBadRequest, "invalid_request_error", "", "", "Invalid JSON body: "+err.Error()))
		return
	}
	o := keys.CreateOptions{Name: req.Name, Tenant: req.Tenant, Models: req.Models, RPM: req.RPM, TPM: req.TPM,
		MaxConcurrency: req.MaxConcurrency, TokenBudget: req.TokenBudget, Jurisdictions: req.Jurisdictions, Admin: req.Admin}
	if req.BudgetWindow != "" {
		d, err := keys.ParseWindow(req.BudgetWindow)
		if err != nil {
			writeError(w, r, apiError(http.StatusBadRequest, "invalid_request_error", "", "budget_window", err.Error()))
			return
		}
		o.BudgetWindow = d
	}
	k, secret, err := s.opts.Admin.Create(r.Context(), o)
	if err != nil {
		var oe *keys.OptionError
		if errors.As(err, &oe) {
			writeError(w, r, apiError(http.StatusBadRequest, "invalid_request_error", "", oe.Field, err.Error()))
			return
		}
		if errors.Is(err, keys.ErrNameInUse) {
			writeError(w, r, apiError(http.StatusConflict, "invalid_request_error", "key_name_in_use", "name",
				"A key named "+strconv.Quote(req.Name)+" exists already; revoke it or choose another name."))
			return
		}
		s.log.Error("creating a key", "err", err)
		writeError(w, r, err)
		return
	}
	s.opts.Audit("key.create", admin.ID, map[string]any{"key_id": k.ID, "name": k.Name, "tenant": k.Tenant, "kind": k.Kind(), "via": "admin-api"})
	writeJSON(w, http.StatusCreated, CreateKeyResponse{Key: k, Secret: secret})
}

func (s *Server) adminRevokeKey(w http.ResponseWriter, r *http.Request, admin *keys.Key) {
	k, err := s.opts.Admin.Revoke(r.Context(), r.PathValue("key"))
	if err != nil {
		if errors.Is(err, keys.ErrNotFound) {
			writeError(w, r, apiError(http.StatusNotFound, "invalid_request_error", "key_not_found", "key", err.Error()))
			return
		}
		if errors.Is(err, keys.ErrRevoked) {
			writeError(w, r, apiError(http.StatusConflict, "invalid_request_error", "key_revoked", "key", "The key "+strconv.Quote(r.PathValue("key"))+" is revoked already."))
			return
		}
		s.log.Error("revoking a key", "err", err)
		writeError(w, r, err)
		return
	}
	s.opts.Audit("key.revoke", admin.ID, map[string]any{"key_id": k.ID, "name": k.Name, "via": "admin-api", "time": time.Now().UTC()})
	writeJSON(w, http.StatusOK, k)
}
