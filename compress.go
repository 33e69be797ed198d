package main

import (
	"net/http"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
)

// gzipFastest serves /metrics gzip-compressed at BestSpeed. promhttp's own
// compression uses gzip's default level, which for a scrape of hundreds of
// targets (megabytes of highly repetitive text) costs several times the
// rest of the scrape: 46 ms against 6 ms for 4 MB, for 20 % more bytes.
// klauspost/compress's gzip at BestSpeed takes 3.3 ms where compress/gzip
// takes 6 ms for the 4.3 MB of 1,000 relationships, with 2 % fewer bytes
// out: compressing is most of a scrape that copies encoded bytes
// (collector/exposition.go).
func gzipFastest(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r.Header.Get("Accept-Encoding")) {
			h.ServeHTTP(w, r)
			return
		}
		gz := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(gz)
		gz.Reset(w)
		w.Header().Set("Content-Encoding", "gzip")
		h.ServeHTTP(gzipResponseWriter{ResponseWriter: w, w: gz}, r)
		gz.Close()
	})
}

var gzipWriters = sync.Pool{New: func() any {
	gz, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed)
	return gz
}}

type gzipResponseWriter struct {
	http.ResponseWriter
	w *gzip.Writer
}

func (g gzipResponseWriter) Write(p []byte) (int, error) { return g.w.Write(p) }

// acceptsGzip reads an Accept-Encoding header: gzip listed, and not with q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if !strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			continue
		}
		q := strings.ReplaceAll(params, " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
