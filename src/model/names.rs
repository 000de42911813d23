//! Names the model checks in many blocks: plain labels (written into the cloud) and AWS
//! region names. Shared by the lowering of every block and of dependencies.

use super::catalog;
use super::decode::Block;
use crate::diagnostics::{suggest, Code, Diagnostic, Diagnostics};
use crate::source::Loc;

/// `value` when it names an AWS region; else a diagnostic with the nearest region name.
pub(super) fn region_name(value: &str, at: Loc, what: &str) -> Result<String, Box<Diagnostic>> {
    if catalog::is_aws_region(value) {
        return Ok(value.to_string());
    }
    let mut d = Diagnostic::error(
        Code::UnknownRegion,
        at,
        format!("{what} \"{value}\" is not an AWS region"),
    )
    .label("unknown region");
    if let Some(s) = suggest(value, catalog::AWS_REGIONS.iter().copied()) {
        d = d.help(format!("did you mean \"{s}\"?"));
    }
    Err(Box::new(d))
}

/// The longest block label: a DNS label's length, so `<service>-<region>` names stay usable.
pub const MAX_LABEL: usize = 63;

/// A block label Meridian writes into the cloud (ownership markers, set identifiers, caller
/// references): 1-63 ASCII letters, digits, `-` and `_`, starting with a letter or digit.
pub fn is_plain_label(label: &str) -> bool {
    let mut chars = label.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && label.len() <= MAX_LABEL
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The block's label when it is plain; else a diagnostic and None (the block is skipped, so
/// nothing is reported twice about it).
pub(super) fn plain_label(b: &Block, what: &str, diags: &mut Diagnostics) -> Option<String> {
    let label = b.label();
    if is_plain_label(label) {
        return Some(label.to_string());
    }
    diags.push(
        Diagnostic::error(
            Code::Label,
            b.label_loc(),
            format!("{what} label \"{label}\" is not a plain name"),
        )
        .label("1-63 letters, digits, - or _")
        .help("labels are written into ownership markers and record set identifiers in the cloud: use letters, digits, - and _, starting with a letter or digit"),
    );
    None
}
