//! Files admins upload, read into rows: pure parsing (no IO, no clock), so
//! the HTTP side only extracts the body, calls in, and maps the errors.

pub mod households;
