//! Build script: only the opt-out of the AWS tests (`MERIDIAN_SKIP_AWS_TESTS`), read at build
//! time so skipped tests show as `ignored` in `cargo test`, never as passed.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(meridian_skip_aws)");
    println!("cargo::rerun-if-env-changed=MERIDIAN_SKIP_AWS_TESTS");
    match std::env::var("MERIDIAN_SKIP_AWS_TESTS").as_deref() {
        Err(_) | Ok("") => {}
        Ok("1" | "true") => println!("cargo::rustc-cfg=meridian_skip_aws"),
        Ok(other) => {
            eprintln!("MERIDIAN_SKIP_AWS_TESTS={other:?}: set it to 1 or true to skip the AWS tests, or unset it");
            std::process::exit(1);
        }
    }
}
