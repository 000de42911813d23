//! Operations: what `plan`, `apply`, `destroy`, `init`, `shift` and `state` do, below any front
//! end. A [`Workspace`] is a topology made ready to plan (its graph, backend, identity and the
//! weights a shift holds); a [`Team`] is its open backend (manifest and lock). Each operation
//! returns a typed outcome or an [`Error`] that decides its exit code, reports what it does
//! through an [`Event`] callback, and stops when the `stop` value it is given is set. Nothing
//! here prints, reads the environment or exits: that is the CLI's.

pub mod apply;
pub mod import;
pub mod init;
pub mod shift;
pub mod state;
pub mod team;
pub mod workspace;

pub use team::{Managed, Team};
pub use workspace::Workspace;

use crate::backend::{BackendError, LockInfo};
use crate::diagnostics::Diagnostics;
use crate::provider::ProviderError;

/// Why an operation stopped. Every variant is refused or failed before anything it could not
/// account for was changed, or says what was (`Backend`'s `then`).
#[derive(Debug)]
pub enum Error {
    /// The backend failed; `then` says what that means for the operation ("Nothing was
    /// changed: ...").
    Backend {
        error: BackendError,
        then: Option<&'static str>,
    },
    Provider(ProviderError),
    Plan(crate::plan::PlanError),
    Saved(crate::plan::saved::SavedError),
    Shift(crate::shift::ShiftError),
    Prices(crate::analysis::cost::PricesError),
    Source(crate::source::LoadError),
    /// The topology's dependencies form a cycle (spans in the topology's sources).
    Cycles(Diagnostics),
    /// A saved plan's topology no longer validates (spans in its sources).
    Invalid(Diagnostics, crate::source::Sources),
    /// Refused, in one sentence (no `error:` prefix).
    Refused(String),
    /// Stopped by the stop value between steps, with how to go on (a whole message).
    Interrupted(String),
    /// The engine did not complete the changes; `then` says what that leaves.
    Incomplete {
        outcome: Box<crate::plan::apply::Outcome>,
        then: &'static str,
    },
}

impl Error {
    /// The exit code (README: exit codes): every operation error is 1.
    pub fn code(&self) -> u8 {
        1
    }

    pub(crate) fn backend(error: BackendError) -> Error {
        Error::Backend { error, then: None }
    }
}

impl From<BackendError> for Error {
    fn from(error: BackendError) -> Error {
        Error::backend(error)
    }
}

impl From<ProviderError> for Error {
    fn from(e: ProviderError) -> Error {
        Error::Provider(e)
    }
}

impl From<crate::plan::PlanError> for Error {
    fn from(e: crate::plan::PlanError) -> Error {
        Error::Plan(e)
    }
}

impl From<crate::plan::saved::SavedError> for Error {
    fn from(e: crate::plan::saved::SavedError) -> Error {
        Error::Saved(e)
    }
}

impl From<crate::shift::ShiftError> for Error {
    fn from(e: crate::shift::ShiftError) -> Error {
        Error::Shift(e)
    }
}

impl From<crate::source::LoadError> for Error {
    fn from(e: crate::source::LoadError) -> Error {
        Error::Source(e)
    }
}

/// What an operation reports while it works; a front end decides whether and how to show it
/// (and tests inject faults at these points).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The topology's lock was taken over from a holder whose lease had expired.
    TookOver(LockInfo),
    /// The lock is held; nothing is written yet.
    Locked,
    /// The manifest's journal is written: from here to [`Event::Recorded`] the cloud changes,
    /// and an interruption should let the calls in flight finish.
    Writing,
    /// Progress of the apply engine, after each settled change.
    Progress(crate::plan::apply::Progress),
    /// The engine has finished; the manifest is about to record the outcome.
    Recording,
    /// The outcome is recorded (or could not be): the cloud no longer changes.
    Recorded,
}

/// Where an operation sends its [`Event`]s.
pub type Observer<'a> = &'a (dyn Fn(Event) + Sync);

/// Ignores every event.
pub fn unobserved(_: Event) {}

#[cfg(test)]
mod tests;
