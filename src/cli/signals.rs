//! SIGINT, SIGTERM and SIGHUP: never leave the apply lock behind.
//!
//! Outside an apply, a signal releases every lock this process holds and exits at once (the
//! confirmation prompt is such a place). During an apply, the first signal asks the engine to
//! stop after the calls in flight; if it has not stopped within [`GRACE`] (well inside the 10 s
//! a CI runner waits before SIGKILL), the locks are released and the process exits. A second
//! signal exits at once. SIGKILL cannot be caught: the next apply names the dead holder.

use crate::provider::lock;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Set when a signal asks the running apply to stop.
pub static STOP: AtomicBool = AtomicBool::new(false);
/// Set while an apply runs, so a signal lets its calls finish.
pub static APPLYING: AtomicBool = AtomicBool::new(false);

/// How long an interrupted apply may take to finish its calls in flight.
pub const GRACE: Duration = Duration::from_secs(5);

/// Starts the thread that handles the signals.
pub fn install() {
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        for sig in signals.forever() {
            let code = 128 + u8::try_from(sig).unwrap_or(0);
            if APPLYING.load(Ordering::SeqCst) && !STOP.swap(true, Ordering::SeqCst) {
                super::to_stderr(&format!(
                    "\ninterrupted: finishing the calls in flight (at most {} s), then stopping\n",
                    GRACE.as_secs()
                ));
                std::thread::spawn(move || {
                    std::thread::sleep(GRACE);
                    lock::release_all();
                    std::process::exit(i32::from(code));
                });
            } else {
                lock::release_all();
                super::to_stderr("\ninterrupted: nothing was changed after this point\n");
                std::process::exit(i32::from(code));
            }
        }
    });
}
