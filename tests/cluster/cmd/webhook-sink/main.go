// Command webhook-sink is the receiving end of Larum's notification tests on the test
// node (image larum.local/webhook-sink). As a server (the default) it listens on :8080
// (or -listen), keeps every POST body with its path and arrival time in memory and
// answers GET /notifications with them as a JSON array and GET /healthz with "ok".
// As a client (`webhook-sink get URL`) it prints the body of a GET of URL and exits
// non-zero unless the answer is 200: tests run it in a pod to check Service DNS names
// and ClusterIPs.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"
)

// notification is one received POST.
type notification struct {
	Path       string          `json:"path"`
	ReceivedAt time.Time       `json:"receivedAt"`
	Body       json.RawMessage `json:"body,omitempty"`
	RawBody    string          `json:"rawBody,omitempty"`
}

type sink struct {
	mu   sync.Mutex
	seen []notification
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/healthz":
		fmt.Fprintln(w, "ok")
	case r.Method == http.MethodGet && r.URL.Path == "/notifications":
		s.mu.Lock()
		list := append([]notification{}, s.seen...)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(list)
	case r.Method == http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 16<<20))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		n := notification{Path: r.URL.Path, ReceivedAt: time.Now().UTC()}
		if json.Valid(body) {
			n.Body = body
		} else {
			n.RawBody = string(body)
		}
		s.mu.Lock()
		s.seen = append(s.seen, n)
		s.mu.Unlock()
		log.Printf("POST %s: %d bytes", r.URL.Path, len(body))
		w.WriteHeader(http.StatusOK)
	default:
		http.Error(w, "not found", http.StatusNotFound)
	}
}

func get(url string) int {
	client := http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	_, _ = io.Copy(os.Stdout, resp.Body)
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintln(os.Stderr, "status", resp.Status)
		return 1
	}
	return 0
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "get" {
		os.Exit(get(os.Args[2]))
	}
	listen := flag.String("listen", ":8080", "address to listen on")
	flag.Parse()
	server := &http.Server{Addr: *listen, Handler: &sink{}, ReadHeaderTimeout: 10 * time.Second}
	log.Printf("webhook-sink listening on %s", *listen)
	log.Fatal(server.ListenAndServe())
}
