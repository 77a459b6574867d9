package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"

	"sov.dev/sov/internal/keys"
)

type modelJSON struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// handleModels lists the models the caller may use.
func (s *Server) handleModels(w http.ResponseWriter, r *http.Request, k *keys.Key) {
	ms := s.router.visible(k.AllowsModel, s.jurisdictions(k))
	data := make([]modelJSON, 0, len(ms))
	for _, m := range ms {
		data = append(data, modelJSON{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: orDefault(m.OwnedBy, "sov")})
	}
	writeJSON(w, http.StatusOK, struct {
		Object string      `json:"object"`
		Data   []modelJSON `json:"data"`
	}{"list", data})
}

// handleModel describes one model.
func (s *Server) handleModel(w http.ResponseWriter, r *http.Request, k *keys.Key) {
	id := r.PathValue("model")
	for _, m := range s.router.visible(k.AllowsModel, s.jurisdictions(k)) {
		if m.ID == id {
			writeJSON(w, http.StatusOK, modelJSON{ID: m.ID, Object: "model", Created: m.Created, OwnedBy: orDefault(m.OwnedBy, "sov")})
			return
		}
	}
	writeError(w, r, apiError(http.StatusNotFound, "invalid_request_error", "model_not_found", "model",
		"The model "+strconv.Quote(id)+" does not exist or you do not have access to it."))
}

// handleHealthz says the process is up.
func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz says whether at least one backend can serve.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	status := map[string]any{}
	ready := false
	for _, b := range s.opts.Backends {
		h := b.Healthy()
		status[b.Name()] = h
		ready = ready || h
	}
	code := http.StatusOK
	if !ready {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"ready": ready, "backends": status})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
