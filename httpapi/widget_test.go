package httpapi

import (
	"bytes"
	"compress/gzip"
	"testing"
)

// maxWidgetGzipBytes is the most widget.js may weigh on the wire: sites
// embed it on every page (issue 14).
const maxWidgetGzipBytes = 30 << 10

func TestWidget_SmallOnTheWire(t *testing.T) {
	body, err := widgetFS.ReadFile("static/widget.js")
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	w, _ := gzip.NewWriterLevel(&zipped, gzip.BestCompression)
	w.Write(body)
	w.Close()
	if zipped.Len() > maxWidgetGzipBytes {
		t.Fatalf("widget.js is %d bytes gzipped, over %d", zipped.Len(), maxWidgetGzipBytes)
	}
	t.Logf("widget.js: %d bytes, %d gzipped", len(body), zipped.Len())
}
