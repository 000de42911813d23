//! What the test modules share: provisioning of pinned tools (moto, checkov, mandoc, ...),
//! the fault-injecting proxy, and random designs for the agreement checks.

pub mod agreement;
pub mod bin;
pub mod faults;
pub mod provision;
