package httpapi

import (
	"encoding/json"
	"mime"
	"net/http"

	"github.com/cloudwego/hertz/pkg/app"
)

// readJSON decodes the request's JSON body into v. A body that is not
// declared application/json gets 415, one that does not decode 400, both
// with a JSON error, and readJSON reports false.
func readJSON(c *app.RequestContext, v any) bool {
	if mt, _, err := mime.ParseMediaType(string(c.ContentType())); err != nil || mt != "application/json" {
		writeError(c, http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be application/json")
		return false
	}
	if err := json.Unmarshal(c.Request.Body(), v); err != nil {
		writeError(c, http.StatusBadRequest, "bad_json", "the body must be a JSON object: "+err.Error())
		return false
	}
	return true
}
