//! Rendering: results -> text for people (miette snippets), JSON for machines, DOT for graphs.
//!
//! Pure functions returning strings or `serde_json::Value`s; the CLI decides where they go.

pub mod analysis;
pub mod compare;
pub mod diagnostics;
pub mod graph;
pub mod lint;
pub mod plan;
pub mod simulate;
