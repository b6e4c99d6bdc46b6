// Command app is the web server the quickstart compiles and builds into
// an image: it answers GET / with $GREETING and the host name, on
// $PORT (default 8080). With -selftest it starts itself on a loopback
// port, fetches its own page, checks the answer and exits: the image's
// Dockerfile runs that at build time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

func main() {
	selftest := flag.Bool("selftest", false, "serve on a loopback port, fetch the page, check it and exit")
	flag.Parse()
	if err := run(*selftest); err != nil {
		fmt.Fprintln(os.Stderr, "app:", err)
		os.Exit(1)
	}
}

func run(selftest bool) error {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", page)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	if selftest {
		return selfTest(mux)
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	// As PID 1 in a container, the app must handle SIGTERM itself.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	srv := &http.Server{Addr: ":" + port, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	fmt.Printf("listening on :%s\n", port)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func page(w http.ResponseWriter, _ *http.Request) {
	host, _ := os.Hostname()
	greeting := os.Getenv("GREETING")
	if greeting == "" {
		greeting = "Hello"
	}
	fmt.Fprintf(w, "%s, from %s (%s, %s/%s)\n", greeting, host, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

// selfTest serves mux on a loopback port and checks its page.
func selfTest(mux http.Handler) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	client := &http.Client{Timeout: 5 * time.Second}
	resp, err := client.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), os.Getenv("GREETING")) {
		return fmt.Errorf("self-test: got %s %q", resp.Status, body)
	}
	fmt.Printf("self-test passed: %s", body)
	return nil
}
