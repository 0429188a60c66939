package httpapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cloudwego/hertz/pkg/app"
)

// representation is one response body, ready to serve: the bytes, their
// gzip form, and a strong entity tag of the content (the same for both
// encodings, which differ only in Content-Encoding).
type representation struct {
	contentType string
	etag        string
	body        []byte
	gzipped     []byte
}

// newRepresentation prepares body once, so serving it costs no work.
func newRepresentation(contentType string, body []byte) *representation {
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression)
	zw.Write(body)
	zw.Close()
	sum := sha256.Sum256(body)
	return &representation{contentType: contentType, etag: `"` + hex.EncodeToString(sum[:12]) + `"`,
		body: body, gzipped: z.Bytes()}
}

// represent prepares v as JSON.
func represent(v any) (*representation, error) {
	body, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return newRepresentation("application/json", body), nil
}

// serve answers with rep: 304 when If-None-Match names it (RFC 9110
// §13.1.2), gzip when the client takes it.
func (rep *representation) serve(c *app.RequestContext, cacheControl string) {
	c.Header("ETag", rep.etag)
	c.Header("Cache-Control", cacheControl)
	c.Header("X-Content-Type-Options", "nosniff")
	if matches(string(c.GetHeader("If-None-Match")), rep.etag) {
		c.Status(http.StatusNotModified)
		return
	}
	if strings.Contains(string(c.GetHeader("Accept-Encoding")), "gzip") {
		c.Header("Content-Encoding", "gzip")
		c.Data(http.StatusOK, rep.contentType, rep.gzipped)
		return
	}
	c.Data(http.StatusOK, rep.contentType, rep.body)
}

// matches reports whether an If-None-Match value names etag: a list of
// tags, or *.
func matches(ifNoneMatch, etag string) bool {
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || t == etag || t == "W/"+etag {
			return true
		}
	}
	return false
}
