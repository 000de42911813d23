//! The `meridian` binary: everything lives in the library; see `meridian::cli`.

/// mimalloc rather than the system allocator: see its entry in Cargo.toml.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    meridian::cli::main()
}
