// Package pidf parses, validates and composes PIDF presence documents
// (RFC 3863, media type application/pidf+xml), including the RPID
// extensions of RFC 4480 and the data model elements of RFC 4479.
//
// The package owns these:
//
//   - ParseDocument: validation of a published body before it is accepted
//     by the presence agent (size, nesting depth, well-formedness, no DTD,
//     namespace well-formedness, the PIDF root, the entity, tuple ids and
//     basic status).
//   - Compose: merging the publications of one presentity into the single
//     document sent in NOTIFY (RFC 3903 §4, RFC 3856 composition): tuples
//     are keyed by id and the most recent publication wins; the output
//     order does not depend on the publications' order, open tuples first.
//   - SameEntity: deciding whether a PIDF entity (pres: or sip: URI) names
//     a SIP presentity.
//   - Reading what a parsed document carries beyond tuples (read.go):
//     Document.Decode unmarshals one child with the root's namespaces in
//     scope (the ACD reads its own extension so), Document.Persons the
//     RPID activities of <dm:person> elements.
//   - Writing a document (write.go): Writer, for publishers such as the
//     ACD, with tuples, RPID persons and extension elements, escaped.
//
// Children of <presence> are kept as the exact bytes of the input, so RPID
// and any other extension passes through Compose unchanged. Meaning (what
// an activity says of an agent) belongs to the caller.
//
// Every validation failure wraps ErrInvalid and its message is a short
// phrase suitable for a SIP reason phrase, for example
// "invalid PIDF: tuple without id".
package pidf
