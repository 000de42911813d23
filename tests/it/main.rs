//! The integration tests, one crate: the library and the AWS SDK link once, where each test
//! file was a binary of its own (13 links; issue 24). Each module is one former file.

mod support;

mod alerts;
mod analysis;
mod aws;
mod cli;
mod diagnostics;
mod import;
mod lint;
mod no_panic;
mod plan;
mod recovery;
mod schemas;
mod shift;
mod simulate;
mod zonefile;
