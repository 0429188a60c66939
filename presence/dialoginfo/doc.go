// Package dialoginfo reads, composes and writes dialog information
// documents (RFC 4235, media type application/dialog-info+xml): the
// dialog event package that busy-lamp-field (BLF) keys of desk phones and
// wallboards subscribe to.
//
//   - ParseDocument validates a published body (size, nesting depth, no
//     DTD, the dialog-info root in its namespace, the entity, version and
//     state attributes, each dialog's id and state).
//   - Compose merges the publications of one entity into the full state
//     sent in NOTIFY: dialogs keyed by id, the newest publication winning,
//     live dialogs first. Its version is 0: WithVersion stamps each
//     notification's own (RFC 4235 §4.1: it counts the NOTIFYs of a
//     subscription).
//   - Render writes a document from dialogs, for publishers such as the
//     ACD.
//
// Documents are written from the parsed fields, not copied: elements this
// package does not model (local and remote identities, extensions) are
// not passed on.
package dialoginfo
